"""How long scoring one new night takes for a large cohort, against the loop a user would
write first.

    .venv/bin/python -m benchmarks.detect_speed.run [--patients 100000] [--nights 180]

Builds ``patients`` x (``nights`` + 1) nights (weekly rhythm, AR(1) noise, 10% missing nights,
a planted shift in 5% of the patients), then times ``detect.detect_day`` on the newest night
for everyone. The naive baseline is, per patient and per watched metric, ``ruptures.Pelt(
model="rbf").fit(x).predict(pen=...)`` on the same history window (the nights detect_day
reads); it is timed on a sample of patients and extrapolated linearly to the whole cohort.
Writes benchmarks/results/detect_speed.md. Heavy: run on demand, not in tests.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import ruptures as rpt

from detect import DEFAULT, detect_day
from detect.cube import needed_columns
from ingest.schema import PHQ9

ROOT = Path(__file__).resolve().parents[2]
START = date(2025, 1, 1)
#: metric: (level, SD)
METRICS = {
    "sleep_total_min": (430.0, 45.0),
    "sleep_midpoint_min": (930.0, 30.0),
    "hrv_rmssd_ms": (42.0, 7.0),
    "resting_hr_bpm": (60.0, 3.0),
    "steps": (8000.0, 2000.0),
}


def cohort(patients: int, nights: int, seed: int = 1) -> pl.DataFrame:
    """The nights frame, vectorised over patients (one AR(1) step per night)."""
    rng = np.random.default_rng(seed)
    days = nights + 1
    weekend = np.array([(START + timedelta(days=k)).isoweekday() >= 6 for k in range(days)])
    shifted = rng.random(patients) < 0.05
    onset = days - rng.integers(5, 30, patients)
    cols: dict[str, np.ndarray] = {}
    for i, (metric, (level, sd)) in enumerate(METRICS.items()):
        noise = np.empty((patients, days), np.float32)
        noise[:, 0] = rng.standard_normal(patients)
        for t in range(1, days):  # the AR(1) recursion: one vectorised step per night
            noise[:, t] = 0.4 * noise[:, t - 1] + 0.92 * rng.standard_normal(patients)
        x = level * rng.uniform(0.9, 1.1, (patients, 1)) + sd * (noise + 0.5 * weekend)
        sign = -1.0 if i % 2 else 1.0
        x += np.where(shifted[:, None] & (np.arange(days) >= onset[:, None]), sign * 1.5 * sd, 0)
        cols[metric] = x.ravel()
    gone = (rng.random((patients, days)) < 0.1).ravel()
    width = len(str(patients))
    frame = pl.DataFrame(
        {
            "patient_id": pl.Series([f"p{i:0{width}d}" for i in range(patients)]).gather(
                np.repeat(np.arange(patients), days)
            ),
            "date": pl.date_range(START, START + timedelta(days=days - 1), eager=True).gather(
                np.tile(np.arange(days), patients)
            ),
            **{
                m: pl.Series(m, v.astype(np.float64)).set(pl.Series(gone), None)
                for m, v in cols.items()
            },
            "hrv_sdnn_ms": pl.Series([None], dtype=pl.Float64).gather(
                np.zeros(patients * days, np.int64)
            ),
        }
    )
    return frame.select(needed_columns(DEFAULT))


def naive_seconds(frame: pl.DataFrame, sample: int, day: date) -> tuple[float, float]:
    """Per patient and metric, ruptures Pelt(rbf) on the window detect_day reads."""
    window = frame.filter(pl.col("date") > day - timedelta(days=DEFAULT.history_nights))
    ids = window["patient_id"].unique(maintain_order=True).head(sample)
    rows = window.filter(pl.col("patient_id").is_in(ids.implode())).partition_by("patient_id")
    t0, c0 = time.perf_counter(), time.process_time()
    for one in rows:  # the loop a user would write first
        for metric in METRICS:
            x = one[metric].drop_nulls().to_numpy()
            rpt.Pelt(model="rbf").fit(x).predict(pen=3 * np.log(len(x)))
    return time.perf_counter() - t0, time.process_time() - c0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--nights", type=int, default=180)
    parser.add_argument("--sample", type=int, default=500)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/detect_speed.md")
    args = parser.parse_args()
    t0 = time.perf_counter()
    frame = cohort(args.patients, args.nights)
    built = time.perf_counter() - t0
    day = START + timedelta(days=args.nights)
    phq9 = pl.DataFrame(schema=PHQ9)
    t0, c0 = time.perf_counter(), time.process_time()
    signals = detect_day(frame, phq9, day)
    ours, ours_cpu = time.perf_counter() - t0, time.process_time() - c0
    naive, naive_cpu = naive_seconds(frame, args.sample, day)
    scale = args.patients / args.sample
    naive_total, naive_cpu_total = naive * scale, naive_cpu * scale
    kinds = {k: sum(s.kind == k for s in signals) for k in ("passive_change", "data_gap")}
    report = f"""# Speed: scoring one new night for {args.patients:,} patients

Run: `.venv/bin/python -m benchmarks.detect_speed.run --patients {args.patients} \
--nights {args.nights} --sample {args.sample}` on {platform.machine()} with {os.cpu_count()} cores
(shared with other work while it ran), Python {platform.python_version()}, polars
{pl.__version__}, numpy {np.__version__}, ruptures {rpt.__version__}.

Cohort: {args.patients:,} patients x {args.nights + 1} nights ({frame.height:,} rows; weekly rhythm,
AR(1) noise, 10% missing nights, a 1.5 SD shift in 5% of the patients), built in {built:.1f} s
(not counted).

| what | wall time | CPU time (all threads) |
|---|---|---|
| `detect.detect_day`, night {args.nights + 1}, all patients | **{ours:.1f} s** | {ours_cpu:.1f} s |
| naive loop, measured on {args.sample} patients | {naive:.1f} s | {naive_cpu:.1f} s |
| naive loop, extrapolated to {args.patients:,} patients | {naive_total:,.0f} s \
| {naive_cpu_total:,.0f} s |
| **speed-up** | **{naive_total / ours:.0f}x** | {naive_cpu_total / ours_cpu:.0f}x |

The naive loop is, for each patient and each of the {len(METRICS)} metrics,
`ruptures.Pelt(model="rbf").fit(x).predict(pen=3 log n)` on the same window detect_day reads
(the last {DEFAULT.history_nights} nights, missing nights dropped); it was timed on the first
{args.sample} patients and multiplied by {args.patients // args.sample}, an extrapolation, not a
full run. detect_day's time includes selecting the window out of the {frame.height:,}-row frame,
building the cube, the baselines, the composite CUSUM, the confirmation, the refractory look-back
for the patients with a candidate, and building the signals:
{kinds["passive_change"]} passive_change and {kinds["data_gap"]} data_gap signals on that night.
"""
    args.out.write_text(report)
    print(report)


if __name__ == "__main__":
    main()
