"""Cohort figures for the report: counts from the frames, and the labelled evaluation.

Counts are plain polars aggregations. Everything measured against labels (recall before PHQ-9
confirmation, lead time, false alerts per patient-month, alert burden) comes from
detect/evaluation.py, so the report and the benchmarks always agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import polars as pl

from api.report.model import ReportData
from detect.evaluation import Evaluation, evaluate, observation_period
from detect.signals import KINDS, SEVERITIES


@dataclass(frozen=True)
class CohortCounts:
    patients: int
    nights: int  # patient-nights with any data
    nights_with_sleep: int
    phq9_entries: int
    alerts: int
    first_day: date | None
    last_day: date | None
    failed: int
    #: (kind, severity, count) for every pair with at least one alert, in contract order
    by_kind_severity: tuple[tuple[str, str, int], ...]

    def by_kind(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for kind, _, n in self.by_kind_severity:
            out[kind] = out.get(kind, 0) + n
        return out


def _order(values: tuple[str, ...], value: str) -> int:
    return values.index(value) if value in values else len(values)


def cohort_counts(data: ReportData) -> CohortCounts:
    nights = data.nights
    days = [d for d in (nights["date"].min(), nights["date"].max()) if d is not None]
    pairs = data.alerts.group_by("kind", "severity").len().rows() if data.alerts.height else []
    pairs.sort(key=lambda row: (_order(KINDS, row[0]), _order(SEVERITIES, row[1]), row[0], row[1]))
    return CohortCounts(
        patients=len(data.patient_ids()),
        nights=nights.height,
        nights_with_sleep=int(nights["has_sleep"].sum()) if "has_sleep" in nights.columns else 0,
        phq9_entries=data.phq9.height,
        alerts=data.alerts.height,
        first_day=days[0] if days else None,  # type: ignore[arg-type]
        last_day=days[1] if days else None,  # type: ignore[arg-type]
        failed=len(data.failures),
        by_kind_severity=tuple((k, s, int(n)) for k, s, n in pairs),
    )


def weekly_alerts(alerts: pl.DataFrame) -> list[tuple[date, dict[str, int]]]:
    """Alerts per calendar week (Monday first) and kind, every week between the first and last."""
    if alerts.height == 0:
        return []
    weekly = (
        alerts.with_columns(week=pl.col("fired_on").dt.truncate("1w"))
        .group_by("week", "kind")
        .len()
        .sort("week", "kind")
    )
    counts: dict[date, dict[str, int]] = {}
    for week, kind, n in weekly.rows():
        counts.setdefault(week, {})[kind] = int(n)
    first, last = min(counts), max(counts)
    out: list[tuple[date, dict[str, int]]] = []
    week = first
    while week <= last:
        out.append((week, counts.get(week, {})))
        week += timedelta(days=7)
    return out


def labelled_figures(data: ReportData) -> tuple[Evaluation | None, str]:
    """The evaluation against labels, or None and the reason it cannot be computed."""
    if data.labels is None:
        return None, "This cohort has no labels.csv, so recall and lead time cannot be measured."
    period = observation_period(data.nights)
    if period.height == 0:
        return None, "No nights were replayed, so there is nothing to measure."
    labels = data.labels.join(period.select("patient_id"), on="patient_id", how="semi")
    return evaluate(data.alerts, labels, data.phq9, period), DEFINITION


DEFINITION = (
    "A relapse counts once the first PHQ-9 of 10 or more on or after its labelled onset "
    "confirms it; it is caught when an alert (passive change, PHQ-9 relapse or safety) fires "
    "between 28 days before the onset and that confirmation. Lead time is the confirmation day "
    "minus the first such alert. A passive alert is false when it fires away from every "
    "relapse (more than 28 days before an onset or over 120 days after its confirmation)."
)
