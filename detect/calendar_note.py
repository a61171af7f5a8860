"""A group's calendar note: the shift most of a care team's patients show on the same night.

The passive detector takes the cohort's common mode out of everyone's nights
(``detect.calendar``), so a holiday or a clock change alerts no one. The care team is still
told once that it happened: ``calendar_shifts`` gives, for the patients of one team on a
judged night, each measure whose common mode on that night reached the smallest change worth
a call (the channel's ``min_change``), by how much, how many of the team's patients moved
that way by at least as much, and since which night the shift has held. Vectorised over the
team's patients; the service stores it as the team's note (``api.services.calendar_notes``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta

import numpy as np
import polars as pl

from detect.baseline import nan_median
from detect.calendar import calendar_lead, common_mode
from detect.config import DEFAULT, DetectConfig
from detect.cube import night_cube
from detect.explain import LABELS

#: nights before the judged one over which a shift still holding is traced back
RUN_NIGHTS = 28


@dataclass(frozen=True)
class CalendarShift:
    """One measure's common shift of a group of patients on ``day``."""

    metric: str
    shift: float  # the group's median shift, in ``unit`` (signed)
    unit: str  # "min", "bpm" or "%" (of the usual level, for relative measures)
    people: int  # patients whose night moved that way by at least the smallest change
    patients: int  # patients with that night and a reference to measure it against
    since: date  # the first night of the run of nights on which the shift has held
    day: date

    @property
    def sentence(self) -> str:
        return calendar_sentence(self)

    def counted(self, people: int, patients: int) -> CalendarShift:
        return replace(self, people=people, patients=patients)


def calendar_shifts(
    nights: pl.DataFrame, day: date, config: DetectConfig = DEFAULT
) -> list[CalendarShift]:
    """The measures whose common mode over these patients' nights reached their smallest
    change worth a call on ``day``, each with how many of the patients moved that way."""
    found = common_shifts(nights, day, config)
    return [s.counted(*moved(nights, s, config)) for s in found]


def common_shifts(
    nights: pl.DataFrame, day: date, config: DetectConfig = DEFAULT
) -> list[CalendarShift]:
    """The alerting measures (a supporting one never alerts) whose common mode over these
    patients' nights (a sample of a team will do: the median reads at most
    ``common_max_patients`` people) reached their smallest change worth a call on ``day``,
    not yet counted (``people`` and ``patients`` 0: see ``moved``)."""
    if not config.common_mode:
        return []
    lead = calendar_lead(config)
    first = day - timedelta(days=lead + RUN_NIGHTS - 1)
    cube = night_cube(nights, first, day, config, wear=config.steps_need_wear)
    if cube.values.shape[0] == 0:
        return []
    common = common_mode(cube.values, config)[lead:]  # [RUN_NIGHTS, channel]
    _, usual = _last_night(cube.values, config)
    out: list[CalendarShift] = []
    for c, channel in enumerate(config.channels):
        known = usual[:, c][~np.isnan(usual[:, c])]
        if channel.supporting or known.size == 0:
            continue
        level = float(np.median(known))
        smallest = channel.min_change * abs(level) if channel.relative else channel.min_change
        shift = float(common[-1, c])
        if smallest <= 0 or abs(shift) < smallest:
            continue
        held = np.sign(shift) * common[:, c] >= smallest
        start = len(held) - 1
        while start > 0 and held[start - 1]:
            start -= 1
        unit = "%" if channel.relative else ("bpm" if channel.name == "resting_hr_bpm" else "min")
        out.append(
            CalendarShift(
                metric=channel.name,
                shift=100 * shift / level if channel.relative else shift,
                unit=unit,
                people=0,
                patients=0,
                since=day - timedelta(days=len(held) - 1 - start),
                day=day,
            )
        )
    return out


def moved(
    nights: pl.DataFrame, shift: CalendarShift, config: DetectConfig = DEFAULT
) -> tuple[int, int]:
    """(patients whose night of ``shift.day`` moved the shift's way by at least the smallest
    change worth a call, patients with that night and a reference): additive, so a large team
    is counted in parts."""
    r, lag = config.common_ref_nights, config.common_ref_lag
    first = shift.day - timedelta(days=r + lag)
    cube = night_cube(nights, first, shift.day, config, wear=config.steps_need_wear)
    if cube.values.shape[0] == 0:
        return 0, 0
    c = [channel.name for channel in config.channels].index(shift.metric)
    deviation, usual = _last_night(cube.values, config)
    channel = config.channels[c]
    smallest = channel.min_change * np.abs(usual[:, c]) if channel.relative else channel.min_change
    known = ~np.isnan(deviation[:, c])
    sign = 1.0 if shift.shift > 0 else -1.0
    went = known & (sign * np.nan_to_num(deviation[:, c]) >= smallest)
    return int(np.count_nonzero(went)), int(np.count_nonzero(known))


def _last_night(values: np.ndarray, config: DetectConfig) -> tuple[np.ndarray, np.ndarray]:
    """[patient, channel]: each person's deviation on the cube's last night from their own
    median of its reference window (as ``common_mode`` measures it), and that median."""
    r, lag = config.common_ref_nights, config.common_ref_lag
    last = values.shape[1] - 1  # the cube holds at least r + lag nights before it
    reference, known = nan_median(np.moveaxis(values[:, last - lag - r : last - lag], 1, -1))
    reference = np.where(known >= r // 2, reference, np.nan)
    return values[:, last] - reference, reference


def calendar_sentence(shift: CalendarShift) -> str:
    """E.g. "The middle of sleep moved 72 min later for 41 of 60 patients at once, since
    24 Dec 2025: a calendar effect, taken out before each patient is judged"."""
    label = LABELS.get(shift.metric, shift.metric)
    size = abs(shift.shift)
    if shift.metric == "sleep_midpoint_min":
        what = f"{label} moved {size:.0f} min {'later' if shift.shift > 0 else 'earlier'}"
    elif shift.unit == "%":
        what = f"{label} {'rose' if shift.shift > 0 else 'fell'} {size:.0f}%"
    else:
        what = f"{label} {'rose' if shift.shift > 0 else 'fell'} by {size:.0f} {shift.unit}"
    since = f"{shift.since.day} {shift.since:%b %Y}"
    return (
        f"{what[0].upper()}{what[1:]} (the median) for {shift.people} of {shift.patients} "
        f"patients at once, since {since}: a calendar effect, not an alert for each patient; "
        "each is judged on how they moved beyond it."
    )
