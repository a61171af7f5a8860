"""detect_day and detect_range: every patient, judged on each day from data up to that day.

detect_range builds one cube of nights for the whole range (plus the history and refractory
days before it), scores every judged day at once, and keeps, for each patient, the days that
open an episode (or strengthen one). detect_day is detect_range over one day, so the two agree
by construction; the refractory rule reads only earlier days, so no signal depends on data
after its day. Patients are processed in blocks to bound memory.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl

from detect.config import DEFAULT, DetectConfig
from detect.cube import NightCube, night_cube
from detect.explain import gap_sentence, passive_sentence
from detect.fusion import fuse
from detect.gaps import first_of_episode, gap_days
from detect.passive import ChannelEvidence, channel_evidence
from detect.phq9_rules import score_entries, signals_from_scored
from detect.signals import Direction, MetricChange, Signal

PASSIVE = "phenowatch.passive"
GAPS = "phenowatch.gaps"
BLOCK = 4096  # patients per block: keeps the window arrays to a few hundred MB
SEVERITY = {1: "moderate", 2: "high"}


def detect_day(
    nights: pl.DataFrame, phq9: pl.DataFrame, day: date, config: DetectConfig = DEFAULT
) -> list[Signal]:
    """The signals of every patient in the frames, judged on ``day``."""
    return detect_range(nights, phq9, day, day, config)


def detect_range(
    nights: pl.DataFrame,
    phq9: pl.DataFrame,
    start: date,
    end: date,
    config: DetectConfig = DEFAULT,
) -> list[Signal]:
    """The signals detect_day would give on every day of ``start``..``end``."""
    if end < start:
        return []
    lead = max(config.refractory_days, config.gap_refractory_days)
    first = start - timedelta(days=lead + config.history_nights - 1)
    cube = night_cube(nights, first, end, config)
    judged = range(config.history_nights - 1, (end - first).days + 1)
    out: list[Signal] = []
    for lo in range(0, len(cube.patients), BLOCK):
        block = slice(lo, lo + BLOCK)
        out += _passive_block(cube, block, judged, lead, config)
    phq = phq9.filter(pl.col("answered_at").dt.date() <= end)
    scored = score_entries(phq, config).filter(pl.col("answered_on") >= start)
    out += signals_from_scored(scored, config)
    return sorted(out, key=lambda s: (s.fired_on, s.patient_id, s.kind))


def _passive_block(
    cube: NightCube, block: slice, judged: range, lead: int, config: DetectConfig
) -> list[Signal]:
    values = cube.values[block]
    gap, recent = gap_days(cube.has_sleep[block], judged, config)
    evidence = channel_evidence(values, judged, config)
    fused = fuse(evidence, gap, config)
    fire = first_of_episode(fused.rank, config.refractory_days)
    gap_fire = first_of_episode(gap.astype(np.int8), config.gap_refractory_days)
    fire[:, :lead] = False
    gap_fire[:, :lead] = False
    out: list[Signal] = []
    # one Python step per signal fired: signals are rare and each needs its own sentence
    for p, j in zip(*np.nonzero(gap_fire), strict=True):
        day = cube.day(judged.start + j)
        out.append(
            Signal(
                patient_id=str(cube.patients[block][p]),
                kind="data_gap",
                severity="info",
                fired_on=day,
                window_start=day - timedelta(days=config.gap_window - 1),
                window_end=day,
                explanation=gap_sentence(int(recent[p, j]), config.gap_window),
                detector=GAPS,
                detector_version=config.version,
            )
        )
    for p, j in zip(*np.nonzero(fire), strict=True):
        out.append(
            _passive_signal(
                cube, block, values[p], p, j, judged, evidence, fused.rank[p, j], config
            )
        )
    return out


def _passive_signal(
    cube: NightCube,
    block: slice,
    series: np.ndarray,
    p: int,
    j: int,
    judged: range,
    ev: ChannelEvidence,
    rank: int,
    config: DetectConfig,
) -> Signal:
    d = judged.start + j
    e = config.evidence_nights
    changes: list[MetricChange] = []
    starts: list[int] = []
    seen_groups: set[str] = set()
    order = np.argsort(-ev.stat[p, j])
    for c in order:
        channel = config.channels[c]
        if not ev.alarm[p, j, c] or channel.group in seen_groups:
            continue
        seen_groups.add(channel.group)
        begin = d - e + 1 + int(ev.onset[p, j, c])
        starts.append(begin)
        current = float(np.nanmedian(series[begin : d + 1, c]))
        base = float(ev.median[p, j, c])
        changes.append(
            MetricChange(
                metric=channel.name,
                direction=_direction(channel.name, int(ev.direction[p, j, c])),
                baseline=base,
                current=current,
                z=(current - base) / float(ev.scale[p, j, c]),
                pct=(current - base) / base if base > 0 else None,
            )
        )
    window_start = cube.day(min(starts))
    day = cube.day(d)
    return Signal(
        patient_id=str(cube.patients[block][p]),
        kind="passive_change",
        severity=SEVERITY[int(rank)],  # type: ignore[arg-type]
        fired_on=day,
        window_start=window_start,
        window_end=day,
        explanation=passive_sentence(tuple(changes), (day - window_start).days + 1),
        detector=PASSIVE,
        detector_version=config.version,
        changes=tuple(changes),
    )


def _direction(metric: str, sign: int) -> Direction:
    if metric == "sleep_midpoint_min":
        return "shift"
    if metric == "sleep_irregularity_min":
        return "irregular"
    return "up" if sign > 0 else "down"
