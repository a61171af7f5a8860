"""Nights as a dense cube: patients x days x channels, NaN where a night has no value.

Every passive stage works on this cube with numpy, so one pass scores all patients at once.
A missing night stays NaN here and is skipped by every statistic; it never becomes zero.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import polars as pl

from detect.config import DetectConfig
from detect.errors import InputFrameError
from detect.gaps import SOURCES

DERIVED = {"sleep_irregularity_min"}


@dataclass(frozen=True)
class NightCube:
    patients: np.ndarray  # patient ids (str), sorted
    first_day: date  # the date of index 0 on the day axis
    values: np.ndarray  # float32 [patient, day, channel]
    has_sleep: np.ndarray  # bool [patient, day]
    #: bool [patient, day, source]: which of ``detect.gaps.SOURCES`` the night has, as sent
    present: np.ndarray

    def day(self, index: int) -> date:
        return self.first_day + timedelta(days=int(index))


def needed_columns(config: DetectConfig) -> list[str]:
    cols = {c.name for c in config.channels} - DERIVED
    if "sleep_irregularity_min" in {c.name for c in config.channels}:
        cols.add("sleep_midpoint_min")
    return ["patient_id", "date", *sorted(cols)]


def night_cube(
    nights: pl.DataFrame, first: date, last: date, config: DetectConfig, *, wear: bool = False
) -> NightCube:
    """The cube of the nights dated ``first``..``last`` (inclusive). With ``wear``, steps count
    only on days with sleep or a resting heart rate: a device left on the table still counts a
    few steps, and those are not the person's day."""
    cols = needed_columns(config)
    missing = [c for c in cols if c not in nights.columns]
    if missing:
        raise InputFrameError(f"nights frame lacks columns {missing}")
    if nights.schema["date"] != pl.Date():
        raise InputFrameError(f"nights column 'date' is {nights.schema['date']}, expected Date")
    rows = (
        nights.lazy()
        .filter(pl.col("date").is_between(first, last))
        .select(
            pl.col("patient_id").rank("dense").cast(pl.Int64).alias("index") - 1,
            pl.col("patient_id"),
            (pl.col("date") - pl.lit(first)).dt.total_days().alias("day"),
            *[pl.col(c).cast(pl.Float32) for c in cols[2:]],
        )
        .collect()
    )
    patients = np.asarray(rows["patient_id"].unique().sort().to_list(), dtype=object)
    p = rows["index"].to_numpy()
    d = rows["day"].to_numpy()
    n_days = (last - first).days + 1
    # one scatter of every channel at once (derived ones as NaN placeholders, filled below)
    values = np.full((len(patients), n_days, len(config.channels)), np.nan, dtype=np.float32)
    values[p, d] = rows.select(
        pl.lit(None, pl.Float32).alias(c.name) if c.name in DERIVED else pl.col(c.name)
        for c in config.channels
    ).to_numpy()
    for i, channel in enumerate(config.channels):
        if channel.name == "sleep_irregularity_min":
            midpoint = np.full((len(patients), n_days), np.nan, dtype=np.float32)
            midpoint[p, d] = rows["sleep_midpoint_min"].to_numpy()
            values[:, 1:, i] = np.abs(np.diff(midpoint, axis=1))
    has_sleep = np.zeros((len(patients), n_days), dtype=bool)
    has_sleep[p, d] = rows["sleep_total_min"].is_not_null().to_numpy()
    names = [c.name for c in config.channels]
    present = np.zeros((len(patients), n_days, len(SOURCES)), dtype=bool)
    for k, (_, columns) in enumerate(SOURCES):
        for column in columns:
            if column in names:
                present[..., k] |= ~np.isnan(values[..., names.index(column)])
    if wear and "steps" in names:
        worn = has_sleep.copy()
        if "resting_hr_bpm" in names:
            worn |= ~np.isnan(values[..., names.index("resting_hr_bpm")])
        steps = values[..., names.index("steps")]
        steps[~worn | (steps < config.steps_min_worn)] = np.nan
    return NightCube(patients, first, values, has_sleep, present)
