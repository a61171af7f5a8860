"""Replay at scale: simulate a cohort in real vendor files, replay it into the embedded SQLite
default, and write the wall time of each stage to benchmarks/results/replay.md.

    .venv/bin/python -m benchmarks.replay.run --patients 2000 --days 365

The cohort is written once under benchmarks/data/ (ignored by git) and reused.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import time
from pathlib import Path

from api.replay import ReplayResult, replay_cohort
from api.replay.care_team import DEFAULT_RESOLVE_AFTER

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "benchmarks" / "data"
RESULTS = ROOT / "benchmarks" / "results" / "replay.md"


def simulate(patients: int, days: int, seed: int) -> tuple[Path, float]:
    cohort = DATA / f"cohort-{patients}x{days}-seed{seed}"
    if (cohort / "labels.csv").is_file():
        return cohort, 0.0
    shutil.rmtree(cohort, ignore_errors=True)
    started = time.perf_counter()
    subprocess.run(
        [
            str(ROOT / ".venv/bin/phenowatch"),
            "simulate",
            "--patients",
            str(patients),
            "--days",
            str(days),
            "--seed",
            str(seed),
            "--out",
            str(cohort),
        ],
        check=True,
    )
    return cohort, time.perf_counter() - started


def _evaluation_lines(result: ReplayResult) -> list[str]:
    ev = result.evaluation
    if ev is None or ev.sensitivity_any is None or ev.sensitivity_passive is None:
        return []
    per_month = ev.false_passive_per_patient_month
    return [
        f"- sensitivity (any alert) {100 * ev.sensitivity_any:.1f}%"
        f" ({ev.caught_any}/{ev.confirmed}),"
        f" median lead {ev.median_lead_any} d; passive-only sensitivity"
        f" {100 * ev.sensitivity_passive:.1f}% ({ev.caught_passive}/{ev.confirmed}), median lead"
        f" {ev.median_lead_passive} d",
        f"- passive alerts {ev.passive_alerts}, false {ev.false_passive}"
        + ("" if per_month is None else f" ({per_month:.3f} per patient-month)"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--patients", type=int, default=2000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--resolve-after",
        type=int,
        default=DEFAULT_RESOLVE_AFTER,
        help="the replay's care-team policy, in days (0: nobody resolves alerts)",
    )
    parser.add_argument("--write", action="store_true", help="write benchmarks/results/replay.md")
    args = parser.parse_args()
    cohort, simulated = simulate(args.patients, args.days, args.seed)
    out = DATA / f"replay-{args.patients}x{args.days}"
    shutil.rmtree(out, ignore_errors=True)
    started = time.perf_counter()
    result = replay_cohort(cohort, out, resolve_after=args.resolve_after or None)
    total = time.perf_counter() - started
    size = sum(p.stat().st_size for p in cohort.rglob("*") if p.is_file())
    lines = [
        f"- cohort: `phenowatch simulate --patients {args.patients} --days {args.days} "
        f"--seed {args.seed}` ({size / 1e9:.2f} GB of vendor files"
        + (f", written in {simulated:.0f} s" if simulated else "")
        + ")",
        f"- machine: {os.cpu_count()} cores, {platform.python_implementation()} "
        f"{platform.python_version()}, shared with other work while it ran",
        f"- **replay wall time: {total:.0f} s ({total / 60:.1f} min)**, embedded SQLite default",
        *[f"  - {stage}: {seconds:.0f} s" for stage, seconds in result.seconds.items()],
        f"- summary: {result.summary()}",
        *_evaluation_lines(result),
    ]
    print("\n".join(lines))
    if args.write:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(
            "# Replay at scale\n\n"
            "`benchmarks/replay/run.py`: a simulated cohort replayed day by day through the\n"
            "service (store_nights, submit_phq9, the detection job) into a fresh SQLite file.\n\n"
            + "\n".join(lines)
            + "\n"
        )


if __name__ == "__main__":
    main()
