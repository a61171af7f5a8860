"""Cut one patient's rows out of the cohort frames as plain values for the timeline."""

from __future__ import annotations

import polars as pl

from api.report.model import ReportData
from api.report.timeline import PANELS, AlertMark, PatientSeries


def patient_series(data: ReportData, patient_id: str) -> PatientSeries:
    mine = pl.col("patient_id") == patient_id
    nights = data.nights.filter(mine).sort("date")
    columns = [c for panel in PANELS for c in panel.columns if c in nights.columns]
    dates = nights["date"].to_list()
    by_column = {c: list(zip(dates, nights[c].to_list(), strict=True)) for c in columns}
    phq9 = data.phq9.filter(mine).sort("answered_at")
    entries = [
        (answered.date(), int(total), None if item9 is None else int(item9))
        for answered, total, item9 in phq9.select("answered_at", "total", "item_9").rows()
    ]
    alerts = [
        AlertMark(kind, severity, fired, start, explanation)
        for kind, severity, fired, start, explanation in data.alerts.filter(mine)
        .sort("fired_on", "kind")
        .select("kind", "severity", "fired_on", "window_start", "explanation")
        .rows()
    ]
    points = [
        (metric, day, direction, float(z))
        for metric, day, direction, z in data.change_points.filter(mine)
        .sort("date", "metric")
        .select("metric", "date", "direction", "z")
        .rows()
    ]
    onset = None
    if data.labels is not None:
        found = data.labels.filter(mine)["relapse_onset"].to_list()
        onset = found[0] if found else None
    return PatientSeries(patient_id, by_column, entries, alerts, points, onset)
