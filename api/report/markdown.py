"""The evaluation model (``api.report.evaluation``) as Markdown: ``phenowatch evaluate``,
``phenowatch evaluate-real`` and ``benchmarks/evaluation`` write what these functions return."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import polars as pl

from api.report.evaluation import Agreement, AlertLoadReport, Headline, RunReport
from detect.evaluation import Evaluation


def pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.1f}%"


def num(x: float | None, digits: int = 3) -> str:
    return "–" if x is None else f"{x:.{digits}f}"


def _plain(value: object) -> str:
    return "" if value is None else str(value)


def table(frame: pl.DataFrame, cell: Callable[[object], str] = _plain) -> str:
    head = "| " + " | ".join(frame.columns) + " |"
    rule = "|" + "---|" * len(frame.columns)
    rows = ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.iter_rows()]
    return "\n".join([head, rule, *rows])


def _rows(columns: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    return table(pl.DataFrame(rows, schema=list(columns), orient="row"))


def figures_table(figures: Headline) -> str:
    ev, targets, met = figures.evaluation, figures.targets, figures.met
    mark = {True: "yes", False: "**no**"}
    rows = [
        (
            "sensitivity (any alert kind)",
            f"{pct(ev.sensitivity_any)} ({ev.caught_any}/{ev.confirmed})",
            f"≥ {targets.sensitivity:.0%}",
            mark[met["sensitivity"]],
        ),
        (
            "sensitivity (passive alerts only)",
            f"{pct(ev.sensitivity_passive)} ({ev.caught_passive}/{ev.confirmed})",
            "",
            "",
        ),
        (
            "passive sensitivity a skill-less detector would reach at this false-alert rate",
            pct(ev.chance_passive_sensitivity),
            "",
            "",
        ),
        (
            "median lead before confirming PHQ-9 (any)",
            f"{num(ev.median_lead_any, 1)} days",
            f"≥ {targets.median_lead_days:g} days",
            mark[met["median_lead_days"]],
        ),
        ("median lead (passive only)", f"{num(ev.median_lead_passive, 1)} days", "", ""),
        (
            "false passive alerts per patient-month",
            f"{num(ev.false_passive_per_patient_month)} "
            f"({ev.false_passive} in {ev.patient_months_outside:.0f} patient-months)",
            f"≤ {targets.false_passive_per_patient_month:g}",
            mark[met["false_passive_per_patient_month"]],
        ),
        (
            "alerts per 100 patients per week (all kinds)",
            num(ev.alerts_per_100_patient_weeks, 2),
            "",
            "",
        ),
        (
            "passive alerts per 100 patients per week",
            num(ev.passive_alerts_per_100_patient_weeks, 2),
            "",
            "",
        ),
        ("relapses (confirmed by a PHQ-9)", f"{ev.relapses} ({ev.confirmed})", "", ""),
    ]
    return _rows(("figure", "value", "target", "met"), rows)


def glance_table(runs: Sequence[tuple[str, Evaluation]]) -> str:
    """One row per run: the headline figures side by side."""
    rows = [
        (
            name,
            pct(ev.sensitivity_any),
            pct(ev.sensitivity_passive),
            pct(ev.chance_passive_sensitivity),
            num(ev.median_lead_any, 1),
            num(ev.median_lead_passive, 1),
            num(ev.false_passive_per_patient_month),
            num(ev.alerts_per_100_patient_weeks, 1),
        )
        for name, ev in runs
    ]
    columns = (
        "run",
        "sensitivity (any)",
        "sensitivity (passive)",
        "skill-less passive",
        "median lead, days (any)",
        "median lead (passive)",
        "false passive / patient-month",
        "alerts / 100 patient-weeks",
    )
    return _rows(columns, rows)


def run_section(run: RunReport) -> str:
    quartiles = run.passive_lead_quartiles
    parts = [
        f"### {run.title}",
        f"{run.patients} patients, {run.patient_nights} patient-nights; "
        f"detection and evaluation took {run.seconds:.1f} s.",
        figures_table(run.headline),
        "Signals by kind (before folding repeats within 7 days into one alert):",
        table(run.signals_by_kind),
        "False passive alerts by likely cause:",
        table(run.false_by_cause),
        "False passive alerts by metrics involved (top 10):",
        table(run.false_by_metrics),
        f"Passive lead times (days before the confirming PHQ-9): quartiles "
        f"{', '.join(num(q, 0) for q in quartiles)}"
        if quartiles is not None
        else "No relapse was caught by a passive alert.",
        f"Relapses no passive alert caught ({run.missed_total}; first {run.listed} shown):",
        table(run.missed) if run.missed_total else "none",
    ]
    if run.left_out:
        parts.append(
            "Left out (not read):\n\n"
            + "\n".join(f"- {failure.folder}: {failure.error}" for failure in run.left_out)
        )
    return "\n\n".join(parts) + "\n"


def agreement_section(both: Agreement) -> str:
    """How far the files path is from the truth path: figures side by side and alert overlap."""
    figures: tuple[tuple[str, Callable[[Evaluation], str]], ...] = (
        ("sensitivity (any)", lambda e: pct(e.sensitivity_any)),
        ("sensitivity (passive)", lambda e: pct(e.sensitivity_passive)),
        ("median lead (any), days", lambda e: num(e.median_lead_any, 1)),
        ("false passive / patient-month", lambda e: num(e.false_passive_per_patient_month)),
        ("alerts / 100 patient-weeks", lambda e: num(e.alerts_per_100_patient_weeks, 2)),
    )
    rows = [(name, f(both.truth), f(both.files)) for name, f in figures]
    return (
        "### Truth nights against files through ingest\n\n"
        f"{_rows(('figure', 'truth nights', 'files'), rows)}\n\n"
        f"Signals (patient, kind, day) found on both paths: {both.both} of "
        f"{both.truth_signals} on truth nights and {both.files_signals} from the files.\n"
    )


def evaluation_document(sections: Sequence[str]) -> str:
    return "\n".join(["# phenowatch evaluation\n", *sections])


def _rounded(digits: int) -> Callable[[object], str]:
    def cell(value: object) -> str:
        if value is None:
            return "–"
        return f"{value:.{digits}f}" if isinstance(value, float) else str(value)

    return cell


def alert_load_document(report: AlertLoadReport) -> str:
    load = report.load
    rate = load.passive_per_person_month
    verdict = "met" if report.met else "**not met**"
    share = load.busiest_week_share
    two = _rounded(2)
    parts = [
        f"# {report.title}\n",
        f"- people: {load.people}, observed {load.person_months:.1f} person-months",
        f"- passive alerts: {load.passive_alerts}, "
        f"**{'–' if rate is None else f'{rate:.3f}'} per person-month** "
        f"(target ≤ {report.target}: {verdict})",
        f"- people with a passive alert: {int((load.per_person['passive'] > 0).sum())}",
        f"- data_gap alerts: {load.gap_alerts}",
        f"- busiest week: {'–' if share is None else f'{100 * share:.0f}%'} of passive alerts\n",
        "## Per person\n",
        table(load.per_person, two),
        "\n## Passive alerts by metric (the sentence's first)\n",
        table(load.by_metric, two),
        "\n## Passive alerts by calendar week\n",
        table(load.by_week.with_columns(pl.col("week").cast(pl.String)), two),
        "\n## Calendar effects (shared by most of the cohort; no per-person alert)\n",
        table(report.calendar.with_columns(pl.col(pl.Date).cast(pl.String)), _rounded(1))
        if report.calendar.height
        else "None found.",
    ]
    if report.wellness is not None:
        parts += [
            "\n## Wellness in the 14 days after a passive alert, against random days\n",
            "Each person's own mean over every reported day stands for random days; higher is "
            "better on every item, so a negative difference means feeling worse after alerts.\n",
            table(report.wellness, two),
        ]
    if report.sentences:
        parts += ["\n## The passive alerts\n", *[f"- {s}" for s in report.sentences]]
    return "\n".join(parts) + "\n"
