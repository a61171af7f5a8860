"""Words and units for people: metric names, values in hours and beats per minute, ages of
alerts, PHQ-9 items. Used by the templates; no database here."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

#: metric column -> (name a coordinator reads, how its value is written)
METRICS: dict[str, tuple[str, str]] = {
    "sleep_total_min": ("Sleep per night", "hours"),
    "sleep_main_min": ("Main sleep", "hours"),
    "sleep_onset_min": ("Falling asleep at", "clock"),
    "sleep_midpoint_min": ("Middle of sleep at", "clock"),
    "sleep_efficiency": ("Sleep efficiency", "percent"),
    "hrv_rmssd_ms": ("Heart-rate variability (RMSSD)", "ms"),
    "hrv_sdnn_ms": ("Heart-rate variability (SDNN)", "ms"),
    "resting_hr_bpm": ("Resting heart rate", "bpm"),
    "steps": ("Steps per day", "steps"),
    "phq9_total": ("PHQ-9 total", "points"),
    "phq9_item_9": ("PHQ-9 item 9", "of 3"),
}
KIND_NAMES = {
    "phq9_safety": "PHQ-9 safety (item 9)",
    "phq9_relapse": "PHQ-9 relapse",
    "passive_change": "Change in wearable data",
    "data_gap": "Data gap",
}
EVENT_NAMES = {
    "opened": "Opened",
    "refired": "Fired again",
    "escalated": "Escalated",
    "acknowledged": "Acknowledged",
    "assigned": "Assigned",
    "unassigned": "Unassigned",
    "resolved": "Resolved",
}
PHQ9_ITEMS = (
    "Little interest or pleasure in doing things",
    "Feeling down, depressed, or hopeless",
    "Trouble falling or staying asleep, or sleeping too much",
    "Feeling tired or having little energy",
    "Poor appetite or overeating",
    "Feeling bad about yourself, or that you are a failure",
    "Trouble concentrating on things",
    "Moving or speaking slowly, or being fidgety or restless",
    "Thoughts that you would be better off dead, or of hurting yourself",
)
ANSWERS = ("not at all", "several days", "more than half the days", "nearly every day")


def metric_name(metric: str) -> str:
    return METRICS.get(metric, (metric.replace("_", " "), ""))[0]


def value(metric: str, raw: float | None) -> str:
    """``raw`` (as stored: minutes, a fraction, ms, bpm) in the unit a coordinator reads."""
    if raw is None:
        return "–"
    unit = METRICS.get(metric, ("", ""))[1]
    if unit == "hours":
        return f"{raw / 60:.1f} h"
    if unit == "clock":
        minutes = round(raw + 12 * 60) % (24 * 60)  # minutes from noon of the day before
        return f"{minutes // 60:02d}:{minutes % 60:02d}"
    if unit == "percent":
        return f"{100 * raw:.0f}%"
    if unit in ("ms", "bpm"):
        return f"{raw:.0f} {unit}"
    if unit == "steps":
        return f"{raw:,.0f} steps"
    if unit == "points":
        return f"{raw:.0f}"
    if unit == "of 3":
        return f"{raw:.0f} of 3"
    return f"{raw:.3g}"


def change(metric: str, item: dict[str, Any]) -> str:
    """How far the recent level moved from the usual one, in the metric's unit."""
    baseline, current = item.get("baseline"), item.get("current")
    if baseline is None or current is None:
        return "–"
    unit = METRICS.get(metric, ("", ""))[1]
    delta = float(current) - float(baseline)
    sign = "+" if delta >= 0 else "−"
    if unit == "clock":
        return f"{abs(delta) / 60:.1f} h {'later' if delta >= 0 else 'earlier'}"
    if unit == "hours":
        text = f"{sign}{abs(delta) / 60:.1f} h"
    elif unit == "percent":
        text = f"{sign}{abs(delta) * 100:.0f} points"
    elif unit in ("ms", "bpm"):
        text = f"{sign}{abs(delta):.0f} {unit}"
    elif unit == "steps":
        text = f"{sign}{abs(delta):,.0f} steps"
    else:
        text = f"{sign}{abs(delta):.0f}"
    pct = item.get("pct")
    if pct is None or unit == "percent":
        return text
    return f"{text} ({sign}{abs(100 * float(pct)):.0f}%)"


def age(since: datetime | date | None, now: datetime) -> str:
    """'3 h ago', '2 days ago': how long an alert has waited."""
    if since is None:
        return "–"
    if not isinstance(since, datetime):
        days = (now.date() - since).days
        return "today" if days <= 0 else ("yesterday" if days == 1 else f"{days} days ago")
    seconds = max(0.0, (now - since).total_seconds())
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if seconds < 48 * 3600:
        return f"{int(seconds // 3600)} h ago"
    return f"{int(seconds // 86400)} days ago"


def when(at: datetime | None) -> str:
    return "–" if at is None else at.strftime("%d %b %Y %H:%M UTC")


def day(on: date | None) -> str:
    return "–" if on is None else on.strftime("%d %b %Y")


def percent(share: float | None) -> str:
    return "–" if share is None else f"{100 * share:.0f}%"


def phq9_band(total: int | None) -> str:
    if total is None:
        return ""
    for high, name in ((4, "minimal"), (9, "mild"), (14, "moderate"), (19, "moderately severe")):
        if total <= high:
            return name
    return "severe"


def actor(actor: str, names: dict[int, str]) -> str:
    """'user:3' -> the coordinator's name; detectors and the scheduler by what they are."""
    if actor.startswith("user:") and actor[5:].isdigit():
        return names.get(int(actor[5:]), actor)
    if actor.startswith("patient:"):
        return "the patient"
    if actor == "scheduler":
        return "phenowatch (escalation)"
    if actor.startswith("phenowatch."):
        return f"phenowatch ({actor.split('.', 1)[1]} detector)"
    return actor


FILTERS = {
    "metric_name": metric_name,
    "when": when,
    "day": day,
    "percent": percent,
    "phq9_band": phq9_band,
}
