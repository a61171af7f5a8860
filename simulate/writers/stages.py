"""The inside of a simulated night: sleep stages in cycles, with the night's awake time split
into a few awakenings between them (never at the very start or end, so the first and last
minute of the night are asleep and onset and wake time stay what the truth says)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

#: stage names as the writers use them; each vendor maps them to its own words
CORE, DEEP, REM, AWAKE = "core", "deep", "rem", "awake"
#: the sample metric each stage is read back as (ingest.schema)
METRICS = {CORE: "sleep_core", DEEP: "sleep_deep", REM: "sleep_rem", AWAKE: "sleep_awake"}
CYCLE_MIN = 95


def vendor_words(reader: Mapping[str, str]) -> dict[str, str]:
    """A reader's ``{vendor's word: metric}`` turned round for a writer: ``{stage: word}``, the
    first of the words a metric has (so a vendor's words for stages live in its reader)."""
    words: dict[str, str] = {}
    for word, metric in reader.items():
        words.setdefault(metric, word)
    return {stage: words[metric] for stage, metric in METRICS.items()}


def hypnogram(asleep_min: int, awake_min: int, rng: np.random.Generator) -> list[tuple[str, int]]:
    """(stage, minutes) back to back; asleep stages add up to ``asleep_min`` and awakenings to
    ``awake_min``. Deep sleep comes early in the night and REM late, as in real nights."""
    cycles = max(1, round(asleep_min / CYCLE_MIN))
    sizes = [asleep_min // cycles] * cycles
    sizes[-1] += asleep_min - sum(sizes)
    segments: list[tuple[str, int]] = []
    for k, size in enumerate(sizes):
        deep = int(size * max(0.0, 0.32 - 0.08 * k))
        rem = int(size * min(0.35, 0.12 + 0.05 * k))
        core = size - deep - rem
        cycle = ((CORE, core - core // 2), (DEEP, deep), (CORE, core // 2), (REM, rem))
        segments += [(stage, minutes) for stage, minutes in cycle if minutes > 0]
    if awake_min <= 0:
        return segments
    if len(segments) == 1:  # a short nap-like night: split it so an awakening fits inside
        stage, minutes = segments[0]
        if minutes < 2:
            return segments
        segments = [(stage, minutes // 2), (stage, minutes - minutes // 2)]
    pieces = min(int(rng.integers(1, 4)), awake_min, len(segments) - 1)
    cuts = np.sort(rng.choice(np.arange(1, len(segments)), size=pieces, replace=False))
    shares = np.full(pieces, awake_min // pieces)
    shares[: awake_min - shares.sum()] += 1
    for cut, share in zip(cuts[::-1], shares, strict=True):
        segments.insert(int(cut), (AWAKE, int(share)))
    return segments
