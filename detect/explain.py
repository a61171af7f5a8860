"""One plain sentence per signal, in the units a coordinator uses.

Hours with one decimal for sleep, clock times for sleep timing, minutes for night-to-night
irregularity, percentages for HRV and steps, bpm for heart rate. For example: "Sleep rose from
a usual 7.1 h to 9.4 h over the last 9 nights; HRV fell 22% below baseline."
"""

from __future__ import annotations

from datetime import date

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
    """The changes in their order (detect.pipeline puts the strongest change that can raise an
    alert first), the first with the length of the evidence. A
    change measured on fewer than ``thin_share`` of the nights (``rests_on``, one count per
    change) says on how many it rests."""
    span = f"over the last {nights} night{'s' if nights != 1 else ''}"
    if not changes:
        return f"Several nightly measures moved away from the usual {span}."
    counts = rests_on or tuple(nights for _ in changes)

    def thin(seen: int) -> str:
        return f" (measured on {seen} of the {nights} nights)" if seen < thin_share * nights else ""

    (top, seen), *rest = zip(changes, counts, strict=True)
    first = clause(top)
    parts = [f"{first[0].upper()}{first[1:]} {span}{thin(seen)}"]
    parts += [f"{clause(c)}{thin(n)}" for c, n in rest]
    return "; ".join(parts) + "."


def gap_sentence(
    *,
    stopped: tuple[str, ...],
    going: tuple[str, ...],
    last: date,
    paused: bool,
    nights: int = 0,
    window: int = 7,
) -> str:
    """What went silent and since when, e.g. "No sleep data since 11 Feb 2020, while steps
    still arrive; passive monitoring is paused until it returns." Data that still comes on a
    few nights (``nights`` of the last ``window``) is said to be sparse instead."""
    since = f"{last.day} {last:%b %Y}"
    if nights:
        what = "data" if not going else f"{_listed(stopped)} data"
        rest = "passive monitoring is paused" if paused else "changes are judged without it"
        return (
            f"Only {nights} of the last {window} nights had {what} (the last on {since}); "
            f"{rest} until it syncs regularly again."
        )
    if not going:
        return (
            f"The wearable has sent no data since {since}; passive monitoring is paused until "
            "it syncs again."
        )
    one = len(stopped) == 1
    rest = "passive monitoring is paused" if paused else "changes are judged without it"
    rest = rest if one or paused else rest.replace("it", "them")
    verb = "arrive" if len(going) > 1 or going[0] == "steps" else "arrives"
    return (
        f"No {_listed(stopped)} data since {since}, while {_listed(going)} still {verb}; "
        f"{rest} until {'it returns' if one else 'they return'}."
    )


def _listed(names: tuple[str, ...]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
