"""Small seeded nights cohorts with known answers, for the detect tests.

Each metric is the person's level, a weekend rhythm, and AR(1) noise (phi 0.4); a planted
shift moves chosen metrics by a number of their own SDs from an onset night on.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl

from ingest.schema import NIGHTS

START = date(2025, 1, 6)
#: metric: (level, SD, weekend offset)
METRICS = {
    "sleep_total_min": (430.0, 40.0, 35.0),
    "sleep_midpoint_min": (930.0, 25.0, 45.0),
    "hrv_rmssd_ms": (42.0, 6.0, 1.0),
    "resting_hr_bpm": (60.0, 2.5, 0.5),
    "steps": (8000.0, 1800.0, -800.0),
}


def ar1(rng: np.random.Generator, n: int, phi: float = 0.4) -> np.ndarray:
    shocks = rng.standard_normal(n) * np.sqrt(1 - phi**2)
    out = np.empty(n)
    out[0] = rng.standard_normal()
    for t in range(1, n):
        out[t] = phi * out[t - 1] + shocks[t]
    return out


def nights(
    n_patients: int,
    days: int,
    seed: int,
    shift: dict[str, float] | None = None,
    onset: int | None = None,
    missing: float = 0.0,
) -> pl.DataFrame:
    """Nights in the NIGHTS schema; ``shift`` maps metric -> size in SDs (signed) from
    night ``onset`` on; ``missing`` is the share of nights without any data."""
    rng = np.random.default_rng(seed)
    dates = [START + timedelta(days=k) for k in range(days)]
    weekend = np.array([d.isoweekday() in (6, 7) for d in dates], dtype=float)
    frames = []
    for p in range(n_patients):
        cols: dict[str, object] = {"patient_id": f"p{p:03d}", "date": dates}
        for metric, (level, sd, weekly) in METRICS.items():
            x = level * rng.uniform(0.9, 1.1) + weekly * weekend + sd * ar1(rng, days)
            if shift and onset is not None and metric in shift:
                x[onset:] += shift[metric] * sd
            cols[metric] = x
        gone = rng.random(days) < missing
        for metric in METRICS:
            cols[metric] = np.where(gone, np.nan, cols[metric])  # type: ignore[call-overload]
        frames.append(pl.DataFrame(cols))
    frame = pl.concat(frames).with_columns(pl.col(m).fill_nan(None) for m in METRICS)
    return _as_nights(frame)


def _as_nights(frame: pl.DataFrame) -> pl.DataFrame:
    present = pl.col("sleep_total_min").is_not_null()
    return frame.with_columns(
        sleep_main_min=pl.col("sleep_total_min"),
        sleep_onset_min=pl.col("sleep_midpoint_min") - pl.col("sleep_total_min") / 2,
        sleep_efficiency=pl.when(present).then(0.9),
        sleep_periods=pl.when(present).then(1).cast(pl.Int32),
        sleep_source=pl.when(present).then(pl.lit("oura")),
        hrv_sdnn_ms=pl.lit(None, pl.Float64),
        utc_offset_min=pl.lit(60, pl.Int32),
        has_sleep=present,
        has_hrv=pl.col("hrv_rmssd_ms").is_not_null(),
        has_resting_hr=pl.col("resting_hr_bpm").is_not_null(),
        has_steps=pl.col("steps").is_not_null(),
    ).select([pl.col(c).cast(t) for c, t in NIGHTS.items()])


def no_phq9() -> pl.DataFrame:
    from ingest.schema import PHQ9

    return pl.DataFrame(schema=PHQ9)
