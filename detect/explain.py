"""One plain sentence per signal, in the units a coordinator uses.

Hours with one decimal for sleep, clock times for sleep timing, minutes for night-to-night
irregularity, percentages for HRV and steps, bpm for heart rate. For example: "Sleep rose from
a usual 7.1 h to 9.4 h over the last 9 nights; HRV fell 22% below baseline."
"""

from __future__ import annotations

from detect.signals import MetricChange

LABELS = {
    "sleep_total_min": "sleep",
    "sleep_midpoint_min": "the middle of sleep",
    "sleep_irregularity_min": "sleep timing",
    "hrv_rmssd_ms": "HRV",
    "hrv_sdnn_ms": "HRV",
    "resting_hr_bpm": "resting heart rate",
    "steps": "daily steps",
}


def clock(midpoint_min: float) -> str:
    """A sleep clock time; nights measure minutes from local noon of the previous day."""
    minutes = round(12 * 60 + midpoint_min) % (24 * 60)
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def clause(change: MetricChange) -> str:
    """What one metric did, e.g. "HRV fell 22% below baseline"."""
    label = LABELS.get(change.metric, change.metric)
    verb = "rose" if change.current >= change.baseline else "fell"
    delta = abs(change.current - change.baseline)
    if change.metric == "sleep_total_min":
        return (
            f"{label} {verb} by {delta:.0f} min, from a usual {change.baseline / 60:.1f} h "
            f"to {change.current / 60:.1f} h"
        )
    if change.metric == "sleep_midpoint_min":
        later = "later" if change.current >= change.baseline else "earlier"
        return (
            f"{label} moved {delta:.0f} min {later}, from a usual {clock(change.baseline)} "
            f"to {clock(change.current)}"
        )
    if change.metric == "sleep_irregularity_min":
        return (
            f"{label} varied by {change.current:.0f} min from night to night "
            f"instead of a usual {change.baseline:.0f} min"
        )
    if change.metric == "resting_hr_bpm":
        return (
            f"{label} {verb} by {delta:.0f} bpm, from {change.baseline:.0f} "
            f"to {change.current:.0f} bpm"
        )
    pct = abs(change.pct or 0.0) * 100
    where = "above" if change.current >= change.baseline else "below"
    return f"{label} {verb} {pct:.0f}% {where} baseline"


def passive_sentence(
    changes: tuple[MetricChange, ...],
    nights: int,
    rests_on: tuple[int, ...] = (),
    thin_share: float = 0.6,
) -> str:
    """The strongest change first, with the length of the evidence, then the others. A
    change measured on fewer than ``thin_share`` of the nights (``rests_on``, one count per
    change) says on how many it rests."""
    span = f"over the last {nights} night{'s' if nights != 1 else ''}"
    if not changes:
        return f"Several nightly measures moved away from the usual {span}."
    counts = rests_on or tuple(nights for _ in changes)

    def thin(seen: int) -> str:
        return f" (measured on {seen} of the {nights} nights)" if seen < thin_share * nights else ""

    ordered = sorted(zip(changes, counts, strict=True), key=lambda cs: -abs(cs[0].z))
    (top, seen), *rest = ordered
    first = clause(top)
    parts = [f"{first[0].upper()}{first[1:]} {span}{thin(seen)}"]
    parts += [f"{clause(c)}{thin(n)}" for c, n in rest]
    return "; ".join(parts) + "."


def gap_sentence(nights_with_sleep: int, window: int) -> str:
    return (
        f"Only {nights_with_sleep} of the last {window} nights had sleep data; passive "
        "monitoring is paused until the wearable syncs again."
    )
