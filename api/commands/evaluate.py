"""`phenowatch evaluate --patients N --days D --seed S [--cohort DIR] --out report.md`.

Runs detection over a simulated cohort and judges its alerts against the true relapse onsets
(``detect.evaluation``), writing a Markdown report: sensitivity, lead time before the confirming
PHQ-9, false passive alerts per patient-month, alert load, and which alerts were false (with
their likely cause) or which relapses were missed.

Two paths, which should agree:

* without ``--cohort``: the fast path, ``detect.detect_range`` on the simulator's truth nights;
* with ``--cohort DIR`` (a folder written by ``phenowatch simulate``): every patient's files go
  through ``ingest.load`` and ``build_nights`` first, as real exports would. When the folder's
  ``simulation.json`` says how it was made, the truth path is run too and both are compared.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Annotated

import polars as pl
import typer

from detect import DEFAULT, DetectConfig, Signal, detect_range
from detect.evaluation import Evaluation, Targets, evaluate, observation_period
from ingest.cohort_folder import SIMULATION_FILE, Failure, read_cohort, read_simulation
from simulate import Cohort, simulate_cohort
from simulate.diagnosis import false_alert_causes, missed_relapses, signals_frame


@dataclass(frozen=True)
class Run:
    """One detection run over a cohort and its evaluation."""

    label: str
    patients: pl.DataFrame  # the simulator's per-patient truth
    nights: pl.DataFrame
    phq9: pl.DataFrame
    labels: pl.DataFrame
    signals: list[Signal]
    evaluation: Evaluation
    seconds: float
    #: patient folders, or files in them, that could not be read (the files path)
    failures: tuple[Failure, ...] = ()


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


# -- the report ------------------------------------------------------------------------------


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.1f}%"


def _num(x: float | None, digits: int = 3) -> str:
    return "–" if x is None else f"{x:.{digits}f}"


def _table(frame: pl.DataFrame) -> str:
    head = "| " + " | ".join(frame.columns) + " |"
    rule = "|" + "---|" * len(frame.columns)
    rows = [
        "| " + " | ".join("" if v is None else str(v) for v in row) + " |"
        for row in frame.iter_rows()
    ]
    return "\n".join([head, rule, *rows])


def figures_table(ev: Evaluation, targets: Targets = Targets()) -> str:
    met = ev.meets(targets)
    mark = {True: "yes", False: "**no**"}
    rows = [
        (
            "sensitivity (any alert kind)",
            f"{_pct(ev.sensitivity_any)} ({ev.caught_any}/{ev.confirmed})",
            f"≥ {targets.sensitivity:.0%}",
            mark[met["sensitivity"]],
        ),
        (
            "sensitivity (passive alerts only)",
            f"{_pct(ev.sensitivity_passive)} ({ev.caught_passive}/{ev.confirmed})",
            "",
            "",
        ),
        (
            "passive sensitivity a skill-less detector would reach at this false-alert rate",
            _pct(ev.chance_passive_sensitivity),
            "",
            "",
        ),
        (
            "median lead before confirming PHQ-9 (any)",
            f"{_num(ev.median_lead_any, 1)} days",
            f"≥ {targets.median_lead_days:g} days",
            mark[met["median_lead_days"]],
        ),
        ("median lead (passive only)", f"{_num(ev.median_lead_passive, 1)} days", "", ""),
        (
            "false passive alerts per patient-month",
            f"{_num(ev.false_passive_per_patient_month)} "
            f"({ev.false_passive} in {ev.patient_months_outside:.0f} patient-months)",
            f"≤ {targets.false_passive_per_patient_month:g}",
            mark[met["false_passive_per_patient_month"]],
        ),
        (
            "alerts per 100 patients per week (all kinds)",
            _num(ev.alerts_per_100_patient_weeks, 2),
            "",
            "",
        ),
        (
            "passive alerts per 100 patients per week",
            _num(ev.passive_alerts_per_100_patient_weeks, 2),
            "",
            "",
        ),
        ("relapses (confirmed by a PHQ-9)", f"{ev.relapses} ({ev.confirmed})", "", ""),
    ]
    frame = pl.DataFrame(rows, schema=["figure", "value", "target", "met"], orient="row")
    return _table(frame)


def glance_table(runs: list[tuple[str, Run]]) -> str:
    """One row per run: the headline figures side by side."""
    rows = [
        (
            name,
            _pct(r.evaluation.sensitivity_any),
            _pct(r.evaluation.sensitivity_passive),
            _pct(r.evaluation.chance_passive_sensitivity),
            _num(r.evaluation.median_lead_any, 1),
            _num(r.evaluation.median_lead_passive, 1),
            _num(r.evaluation.false_passive_per_patient_month),
            _num(r.evaluation.alerts_per_100_patient_weeks, 1),
        )
        for name, r in runs
    ]
    columns = [
        "run",
        "sensitivity (any)",
        "sensitivity (passive)",
        "skill-less passive",
        "median lead, days (any)",
        "median lead (passive)",
        "false passive / patient-month",
        "alerts / 100 patient-weeks",
    ]
    return _table(pl.DataFrame(rows, schema=columns, orient="row"))


def run_section(run: Run, title: str, *, listed: int = 15) -> str:
    ev = run.evaluation
    signals = signals_frame(run.signals)
    kinds = signals.group_by("kind").len("signals").sort("kind")
    false = ev.false_alerts.join(
        signals.select("patient_id", "kind", "fired_on", "metrics").unique(
            ["patient_id", "kind", "fired_on"]
        ),
        on=["patient_id", "kind", "fired_on"],
        how="left",
    )
    causes = false_alert_causes(false, run.patients)
    months = ev.patient_months_outside or 1.0
    by_cause = (
        causes.group_by("cause")
        .len("false alerts")
        .with_columns(per_patient_month=(pl.col("false alerts") / months).round(3))
        .sort("false alerts", descending=True)
    )
    by_metrics = (
        causes.group_by("metrics").len("false alerts").sort("false alerts", descending=True)
    ).head(10)
    missed = missed_relapses(ev.per_relapse, run.patients)
    leads = ev.per_relapse.filter(pl.col("lead_passive").is_not_null())["lead_passive"]
    parts = [
        f"### {title}",
        f"{run.evaluation.patients} patients, {run.nights.height} patient-nights; "
        f"detection and evaluation took {run.seconds:.1f} s.",
        figures_table(ev),
        "Signals by kind (before folding repeats within 7 days into one alert):",
        _table(kinds),
        "False passive alerts by likely cause:",
        _table(by_cause),
        "False passive alerts by metrics involved (top 10):",
        _table(by_metrics),
        f"Passive lead times (days before the confirming PHQ-9): quartiles "
        f"{', '.join(_num(leads.quantile(q), 0) for q in (0.25, 0.5, 0.75))}"
        if leads.len()
        else "No relapse was caught by a passive alert.",
        f"Relapses no passive alert caught ({missed.height}; first {listed} shown):",
        _table(missed.head(listed)) if missed.height else "none",
    ]
    if run.failures:
        parts.append(
            "Left out (not read):\n\n"
            + "\n".join(f"- {failure.folder}: {failure.error}" for failure in run.failures)
        )
    return "\n\n".join(parts) + "\n"


def agreement_section(truth: Run, files: Run) -> str:
    """How far the files path is from the truth path: figures side by side and alert overlap."""

    def keys(run: Run) -> pl.DataFrame:
        return signals_frame(run.signals).select("patient_id", "kind", "fired_on").unique()

    a, b = keys(truth), keys(files)
    both = a.join(b, on=["patient_id", "kind", "fired_on"]).height
    rows = [
        (name, f(truth.evaluation), f(files.evaluation))
        for name, f in (
            ("sensitivity (any)", lambda e: _pct(e.sensitivity_any)),
            ("sensitivity (passive)", lambda e: _pct(e.sensitivity_passive)),
            ("median lead (any), days", lambda e: _num(e.median_lead_any, 1)),
            ("false passive / patient-month", lambda e: _num(e.false_passive_per_patient_month)),
            ("alerts / 100 patient-weeks", lambda e: _num(e.alerts_per_100_patient_weeks, 2)),
        )
    ]
    table = _table(pl.DataFrame(rows, schema=["figure", "truth nights", "files"], orient="row"))
    return (
        "### Truth nights against files through ingest\n\n"
        f"{table}\n\nSignals (patient, kind, day) found on both paths: {both} of "
        f"{a.height} on truth nights and {b.height} from the files.\n"
    )


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
    sections = ["# phenowatch evaluation\n"]
    if cohort_dir is None:
        cohort = simulate_cohort(patients, days, seed)
        run = run_truth(cohort)
        title = f"Seed {seed}: {patients} patients x {days} days, truth nights"
        sections.append(run_section(run, title))
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
        sections += [run_section(run, title), agreement_section(truth, run)]
    out.write_text("\n".join(sections))
    ev = run.evaluation
    typer.echo(
        f"sensitivity {_pct(ev.sensitivity_any)} (passive {_pct(ev.sensitivity_passive)}), "
        f"median lead {_num(ev.median_lead_any, 1)} d, "
        f"{_num(ev.false_passive_per_patient_month)} false passive alerts per patient-month; "
        f"report in {out}"
    )
    if run.failures:
        typer.echo(f"left out ({len(run.failures)}; listed in the report):", err=True)
        for failure in run.failures:
            typer.echo(f"  {failure.folder}: {failure.error}", err=True)


def register(app: typer.Typer) -> None:
    app.command("evaluate")(evaluate_command)
