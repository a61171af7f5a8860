"""Cohort counts for the report: plain polars aggregations of the frames.

Everything measured against labels (sensitivity before PHQ-9 confirmation, lead time, false alerts
per patient-month, alert burden) is the evaluation model, ``api.report.evaluation``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import polars as pl

from api.report.model import ReportData
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
