"""How long build_nights takes on years of dense samples (run on demand, never in tests).

    .venv/bin/python -m benchmarks.nights.run [--patients 10] [--years 3]

Each synthetic patient wears an Apple Watch (30 stage records a night, 8 HRV readings a night,
a resting heart rate a day, hourly steps) and carries an iPhone (an in-bed record and a sleep
estimate a night, hourly steps), in a zone with daylight-saving changes.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import polars as pl

from ingest import build_nights
from ingest.schema import SAMPLES


def _us(values: np.ndarray) -> np.ndarray:
    return values.astype("datetime64[us]")


def synthetic_samples(patients: int, years: int, seed: int = 7) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    days = 365 * years
    frames = []
    for p in range(patients):
        day0 = np.datetime64("2021-01-01T00:00", "m")
        day = day0 + np.arange(days).astype("timedelta64[D]")
        # Berlin-like offsets: +120 from late March to late October
        doy = (day - day.astype("datetime64[Y]")).astype("timedelta64[D]").astype(int)
        offset = np.where((doy >= 87) & (doy < 300), 120, 60)
        onset = day + (22 * 60 + rng.integers(0, 150, days)).astype("timedelta64[m]")
        onset = onset - offset.astype("timedelta64[m]")
        stage_len = rng.integers(8, 25, (days, 30)).astype("timedelta64[m]")
        starts = onset[:, None] + np.cumsum(stage_len, axis=1) - stage_len
        ends = starts + stage_len
        stages = rng.choice(["sleep_core", "sleep_deep", "sleep_rem"], (days, 30))
        watch = pl.DataFrame(
            {
                "metric": stages.ravel(),
                "start": _us(starts.ravel()),
                "end": _us(ends.ravel()),
                "utc_offset_min": np.repeat(offset, 30),
                "device": "Apple Watch",
                "value": stage_len.ravel().astype(float),
            }
        )
        wake = ends[:, -1]
        phone_sleep = pl.DataFrame(
            {
                "metric": np.repeat(["sleep_in_bed", "sleep_asleep"], days),
                "start": _us(np.tile(onset - np.timedelta64(20, "m"), 2)),
                "end": _us(np.tile(wake + np.timedelta64(10, "m"), 2)),
                "utc_offset_min": np.tile(offset, 2),
                "device": "iPhone",
                "value": 0.0,
            }
        )
        hrv_at = onset[:, None] + (np.arange(8) * 50).astype("timedelta64[m]")
        hrv = pl.DataFrame(
            {
                "metric": "hrv_sdnn",
                "start": _us(hrv_at.ravel()),
                "end": _us(hrv_at.ravel()),
                "utc_offset_min": np.repeat(offset, 8),
                "device": "Apple Watch",
                "value": rng.normal(45, 8, days * 8),
            }
        )
        hours = day[:, None] + (np.arange(7, 23) * 60).astype("timedelta64[m]")
        steps = pl.DataFrame(
            {
                "metric": "steps",
                "start": _us(np.tile(hours.ravel(), 2)),
                "end": _us(np.tile((hours + np.timedelta64(50, "m")).ravel(), 2)),
                "utc_offset_min": np.tile(np.repeat(offset, 16), 2),
                "device": np.repeat(["Apple Watch", "iPhone"], days * 16),
                "value": rng.integers(0, 900, days * 32).astype(float),
            }
        )
        rhr = pl.DataFrame(
            {
                "metric": "resting_heart_rate",
                "start": _us(day - offset.astype("timedelta64[m]")),
                "end": _us(day - offset.astype("timedelta64[m]") + np.timedelta64(1, "D")),
                "utc_offset_min": offset,
                "device": "Apple Watch",
                "value": rng.normal(58, 3, days),
            }
        )
        for part in (watch, phone_sleep, hrv, steps, rhr):
            frames.append(part.with_columns(pl.lit(f"p{p:03d}").alias("patient_id")))
    frame = pl.concat(frames, how="diagonal_relaxed")
    return frame.with_columns(
        pl.col("start").dt.replace_time_zone("UTC").dt.cast_time_unit("us"),
        pl.col("end").dt.replace_time_zone("UTC").dt.cast_time_unit("us"),
        pl.col("utc_offset_min").cast(pl.Int32),
        source=pl.lit("apple_health"),
        unit=pl.lit(""),
    ).select(list(SAMPLES))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=10)
    parser.add_argument("--years", type=int, default=3)
    args = parser.parse_args()
    samples = synthetic_samples(args.patients, args.years)
    print(f"{samples.height:,} samples, {args.patients} patients x {args.years} years")
    for run in range(3):
        began = time.perf_counter()
        nights = build_nights(samples)
        took = time.perf_counter() - began
        print(f"run {run + 1}: {nights.height:,} nights in {took:.2f} s")
    print(nights.select(pl.col("sleep_total_min", "steps", "hrv_sdnn_ms").mean()))


if __name__ == "__main__":
    main()
