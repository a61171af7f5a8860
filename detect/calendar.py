"""Calendar effects: shifts that most of the cohort shows on the same nights.

Christmas, a clock change or a lockdown move everyone's sleep at once; that is the calendar,
not a relapse, and alerting each person for it would flood a care team. Each night, every
person's deviation from their own mean of the ``common_ref_nights`` nights before it is taken,
and the cohort's median deviation (the shift at least half of the people share) is the
night's common mode. The pipeline takes it out of everyone's nights before judging them, so a
person is judged on how they moved beyond the calendar; ``calendar_effects`` lists the weeks
where the common mode itself was large, as a note for the team.

The common mode of a night depends only on the cohort's nights up to it, never on the range
being judged, so ``detect_day`` and ``detect_range`` agree. It is measured over the patients
judged together (the nightly batch, a replayed day, an evaluation), all vectorised.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl
from numpy.lib.stride_tricks import sliding_window_view

from detect.baseline import nan_median
from detect.config import DetectConfig
from detect.cube import night_cube

CALENDAR = {
    "week": pl.Date(),
    "metric": pl.String(),
    "shift": pl.Float64(),
    "unit": pl.String(),
    "people": pl.Int64(),
}


def common_mode(values: np.ndarray, config: DetectConfig) -> np.ndarray:
    """[day, channel]: the cohort's shift on each night of the cube ``values`` ([patient, day,
    channel]); 0 for the first ``calendar_lead`` nights and where fewer than
    ``common_min_patients`` people have the night.

    Each person's deviation from their own median of a reference window (``common_ref_nights``
    nights ending ``common_ref_lag`` nights before), and the cohort's median of it: the shift at
    least half of the people share. The lag keeps a two-week holiday out of its own reference.
    The median is taken over at most ``common_max_patients`` people, every k-th row: ample for
    a cohort's median, and it bounds the cost of the nightly run over every patient."""
    out = np.zeros(values.shape[1:], np.float32)
    lead = calendar_lead(config)
    if not config.common_mode or values.shape[1] <= lead or values.shape[0] == 0:
        return out
    r, lag = config.common_ref_nights, config.common_ref_lag
    step = -(-values.shape[0] // config.common_max_patients)
    sample = values[::step]
    # windows[:, i] holds nights i .. i + r - 1, the reference of night i + r + lag
    reference, known = nan_median(sliding_window_view(sample[:, : -lag - 1], r, axis=1))
    reference = np.where(known >= r // 2, reference, np.nan)
    deviation = sample[:, lead:] - reference[:, : sample.shape[1] - lead]
    median, people = nan_median(np.moveaxis(deviation, 0, -1))
    out[lead:] = np.where(people >= config.common_min_patients, median, 0.0)
    return out


def calendar_lead(config: DetectConfig) -> int:
    """Nights before the first one whose common mode is measured."""
    return config.calendar_nights


def calendar_effects(
    nights: pl.DataFrame, first: date, last: date, config: DetectConfig
) -> pl.DataFrame:
    """Weeks (by their Monday) in which the cohort's common mode of a metric reached that
    metric's smallest change worth a call, with the median shift in its units (percent for
    relative metrics) and how many people had data."""
    lead = calendar_lead(config)
    cube = night_cube(
        nights, first - timedelta(days=lead), last, config, wear=config.steps_need_wear
    )
    common = common_mode(cube.values, config)[lead:]
    if common.size == 0:
        return pl.DataFrame(schema=CALENDAR)
    days = pl.date_range(first, last, eager=True)
    people = np.count_nonzero(~np.isnan(cube.values[:, lead:]), axis=0)
    usual, _ = nan_median(cube.values.reshape(-1, cube.values.shape[-1]).T)
    rows = []
    for c, channel in enumerate(config.channels):
        shift = common[:, c].astype(np.float64)
        unit = "min" if channel.name.startswith("sleep") else "bpm"
        if channel.relative:
            shift, unit = 100 * shift / float(usual[c]) if usual[c] > 0 else shift * 0, "%"
        rows.append(
            pl.DataFrame(
                {
                    "day": days,
                    "metric": channel.name,
                    "shift": shift,
                    "unit": unit,
                    "people": people[:, c].astype(np.int64),
                    "min_change": 100 * channel.min_change
                    if channel.relative
                    else channel.min_change,
                }
            )
        )
    weekly = (
        pl.concat(rows)
        .group_by(week=pl.col("day").dt.truncate("1w"), metric="metric")
        .agg(
            pl.col("shift").median(),
            pl.col("unit").first(),
            pl.col("people").max(),
            pl.col("min_change").first(),
        )
        .filter(pl.col("shift").abs() >= pl.col("min_change"))
        .drop("min_change")
        .sort("week", "metric")
    )
    return weekly.select(pl.col(c).cast(t) for c, t in CALENDAR.items())
