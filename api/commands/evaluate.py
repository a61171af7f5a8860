"""`phenowatch evaluate --patients N --days D --seed S [--cohort DIR] --out report.md`.

Runs detection over a simulated cohort and judges its alerts against the true relapse onsets
(``detect.evaluation``), writing a Markdown report (``api.report.evaluation``, rendered by
``api.report.markdown``): sensitivity, lead time before the confirming PHQ-9, false passive
alerts per patient-month, alert load, and which alerts were false (with their likely cause) or
which relapses were missed.

Two paths, which should agree:

* without ``--cohort``: the fast path, ``detect.detect_range`` on the simulator's truth nights;
* with ``--cohort DIR`` (a folder written by ``phenowatch simulate``): every patient's files go
  through ``ingest.load`` and ``build_nights`` first, as real exports would. When the folder's
  ``simulation.json`` says how it was made, the truth path is run too and both are compared.
"""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Annotated

import polars as pl
import typer

from api.report.evaluation import Run, agreement, run_report
from api.report.markdown import (
    agreement_section,
    evaluation_document,
    num,
    pct,
    run_section,
)
from detect import DEFAULT, DetectConfig, detect_range
from detect.evaluation import evaluate, observation_period
from ingest.cohort_folder import SIMULATION_FILE, read_cohort, read_simulation
from simulate import Cohort, simulate_cohort


def _judge(
    label: str,
    cohort: Cohort,
    nights: pl.DataFrame,
    phq9: pl.DataFrame,
    config: DetectConfig,
    started: float,
) -> Run:
    last: date = nights["date"].max()  # type: ignore[assignment]
    signals = detect_range(nights, phq9, cohort.start, last, config)
    ev = evaluate(signals, cohort.labels, phq9, observation_period(nights))
    return Run(
        label,
        cohort.patients,
        nights,
        phq9,
        cohort.labels,
        signals,
        ev,
        time.perf_counter() - started,
    )


def run_truth(cohort: Cohort, config: DetectConfig = DEFAULT) -> Run:
    """The fast path: detection on the simulator's truth nights."""
    started = time.perf_counter()
    return _judge("truth nights", cohort, cohort.nights, cohort.phq9, config, started)


def run_files(cohort: Cohort, folder: Path, config: DetectConfig = DEFAULT) -> Run:
    """The full path: the cohort's files through ingest, then detection. A patient folder
    that cannot be read is left out of the judgement and listed with the file left out of
    the others."""
    started = time.perf_counter()
    frames = read_cohort(folder)
    run = _judge("files through ingest", cohort, frames.nights, frames.phq9, config, started)
    return replace(run, failures=frames.failures + frames.left_out)


def cohort_of_folder(folder: Path) -> Cohort:
    """Re-create the in-memory cohort a folder was written from (its ``simulation.json``)."""
    made = read_simulation(folder)
    return simulate_cohort(made.patients, made.days, made.seed, made.start)


def evaluate_command(
    out: Annotated[Path, typer.Option("--out", "-o", help="Markdown report to write.")],
    patients: Annotated[int, typer.Option("--patients", "-n", min=1)] = 100,
    days: Annotated[int, typer.Option("--days", "-d", min=1)] = 365,
    seed: Annotated[int, typer.Option("--seed", "-s")] = 2,
    cohort_dir: Annotated[
        Path | None,
        typer.Option("--cohort", help="A folder written by `phenowatch simulate`."),
    ] = None,
) -> None:
    """Judge detection on a simulated cohort against its true relapse onsets."""
    if cohort_dir is None:
        cohort = simulate_cohort(patients, days, seed)
        run = run_truth(cohort)
        title = f"Seed {seed}: {patients} patients x {days} days, truth nights"
        sections = [run_section(run_report(run, title))]
    else:
        if not (cohort_dir / SIMULATION_FILE).is_file():
            raise typer.BadParameter(
                f"no {SIMULATION_FILE}: not a folder written by `phenowatch simulate`",
                param_hint="--cohort",
            )
        cohort = cohort_of_folder(cohort_dir)
        run = run_files(cohort, cohort_dir)
        truth = run_truth(cohort)
        title = f"{cohort_dir}: seed {cohort.seed}, files through ingest"
        sections = [run_section(run_report(run, title)), agreement_section(agreement(truth, run))]
    out.write_text(evaluation_document(sections))
    ev = run.evaluation
    typer.echo(
        f"sensitivity {pct(ev.sensitivity_any)} (passive {pct(ev.sensitivity_passive)}), "
        f"median lead {num(ev.median_lead_any, 1)} d, "
        f"{num(ev.false_passive_per_patient_month)} false passive alerts per patient-month; "
        f"report in {out}"
    )
    if run.failures:
        typer.echo(f"left out ({len(run.failures)}; listed in the report):", err=True)
        for failure in run.failures:
            typer.echo(f"  {failure.folder}: {failure.error}", err=True)


def register(app: typer.Typer) -> None:
    app.command("evaluate")(evaluate_command)
