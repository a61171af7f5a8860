"""`phenowatch evaluate-real COHORT --out report.md [--alerts alerts.jsonl]`.

Alert load on real people, who carry no labels: every passive alert on someone who did not
relapse is one a care team reads for nothing. Reads any cohort folder (one sub-folder per
patient) as a replay does, runs detection over each person's whole span
(``detect.detect_range``), or takes the alerts a replay wrote (``--alerts``), and reports
passive alerts per person-month, by metric and by calendar week (a week that alerts many
people at once is a calendar effect), the cohort's calendar effects, and, for PMData-style
folders (``<patient>/pmsys/wellness.csv``), the wellness reports in the 14 days after alerts
against random days (``api.report.evaluation.AlertLoadReport``, rendered by
``api.report.markdown``).
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated

import polars as pl
import typer

from api.report.evaluation import AlertLoadReport
from api.report.markdown import alert_load_document
from detect import DEFAULT, detect_range
from detect.alert_load import ALERT_ROWS, alert_load, signal_rows, wellness_after_alerts
from detect.calendar import calendar_effects
from ingest.cohort_folder import read_cohort

#: the PMData pmsys items, each scored so that higher is better (PMData's own scales)
WELLNESS_ITEMS = ("mood", "stress", "sleep_quality", "fatigue", "readiness", "soreness")
WELLNESS_FILE = Path("pmsys") / "wellness.csv"


def read_wellness(cohort: Path, patient_ids: list[str]) -> pl.DataFrame | None:
    """Every patient's ``pmsys/wellness.csv`` as patient_id, day, items; None when none has one.

    A report's day is the local date of its ``effective_time_frame``: PMData's people were in
    Norway, and a report written the morning after is about that day."""
    frames = []
    for patient_id in patient_ids:
        path = cohort / patient_id / WELLNESS_FILE
        if not path.is_file():
            continue
        raw = pl.read_csv(path, infer_schema_length=0)
        items = [c for c in WELLNESS_ITEMS if c in raw.columns]
        frames.append(
            raw.select(
                pl.lit(patient_id).alias("patient_id"),
                pl.col("effective_time_frame")
                .str.to_datetime(time_zone="UTC", strict=False)
                .dt.convert_time_zone("Europe/Oslo")
                .dt.date()
                .alias("day"),
                *[pl.col(c).cast(pl.Float64, strict=False) for c in items],
            ).drop_nulls("day")
        )
    return pl.concat(frames, how="diagonal") if frames else None


def replay_alerts(path: Path) -> pl.DataFrame:
    """The alerts a replay wrote (alerts.jsonl) as ``detect.alert_load.ALERT_ROWS``."""
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return pl.DataFrame(
        [
            (
                r["patient_id"],
                r["kind"],
                r["severity"],
                date.fromisoformat(r["fired_on"]),
                (r.get("metrics") or [None])[0],
            )
            for r in rows
        ],
        schema=ALERT_ROWS,
        orient="row",
    )


def evaluate_real_command(
    cohort: Annotated[Path, typer.Argument(help="A cohort folder: one sub-folder per patient.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Markdown report to write.")],
    alerts_file: Annotated[
        Path | None,
        typer.Option("--alerts", help="Judge the alerts.jsonl a replay wrote instead."),
    ] = None,
) -> None:
    """Passive alerts per person-month on people without labels, by metric and week."""
    frames = read_cohort(cohort)
    for failure in frames.failures:
        typer.echo(f"failed: {failure.folder}: {failure.error}", err=True)
    nights = frames.nights
    if nights.height == 0:
        raise typer.BadParameter("no nights could be read", param_hint="COHORT")
    first, last = nights["date"].min(), nights["date"].max()
    if alerts_file is None:
        signals = detect_range(nights, frames.phq9, first, last, DEFAULT)  # type: ignore[arg-type]
        alerts = signal_rows(signals)
        sentences = [
            f"{s.patient_id} {s.fired_on}: {s.explanation}"
            for s in signals
            if s.kind == "passive_change"
        ]
        source = "detection over each person's whole span"
    else:
        alerts = replay_alerts(alerts_file)
        sentences = []
        source = f"alerts of {alerts_file}"
    load = alert_load(alerts, nights)
    calendar = calendar_effects(nights, first, last, DEFAULT)  # type: ignore[arg-type]
    wellness_frame = read_wellness(cohort, list(frames.patient_ids))
    wellness = None if wellness_frame is None else wellness_after_alerts(alerts, wellness_frame)
    report = AlertLoadReport(
        f"Alert load on {cohort.name} ({source})", load, tuple(sentences), calendar, wellness
    )
    out.write_text(alert_load_document(report))
    rate = load.passive_per_person_month
    typer.echo(
        f"{load.people} people, {load.person_months:.1f} person-months, "
        f"{load.passive_alerts} passive alerts "
        f"({'–' if rate is None else f'{rate:.3f}'} per person-month), "
        f"{load.gap_alerts} data_gap, {len(frames.failures)} failed folders; report in {out}"
    )


def register(app: typer.Typer) -> None:
    app.command("evaluate-real")(evaluate_real_command)
