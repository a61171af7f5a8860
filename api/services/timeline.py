"""One patient's story on one page: nights, change points, PHQ-9 answers and alerts."""

from __future__ import annotations

from datetime import date
from typing import Any

import polars as pl
from sqlalchemy.orm import Session

from api.alert_shape import ALERT_SUMMARY, alert_shape
from api.services.alerts import alerts_of
from api.services.nights import load_nights
from api.services.phq9 import load_phq9
from detect import DEFAULT, change_points
from detect.phq9_rules import answered_on

#: the fields of each alert on the timeline
TIMELINE_FIELDS = ("id", *ALERT_SUMMARY)


def timeline(
    session: Session,
    *,
    patient_id: str,
    start: date | None = None,
    end: date | None = None,
    include_alerts: bool = True,
) -> dict[str, Any]:
    nights = load_nights(session, patient_ids=[patient_id], start=start, end=end)
    phq9 = load_phq9(session, patient_ids=[patient_id])
    if start is not None:
        phq9 = phq9.filter(answered_on() >= start)
    if end is not None:
        phq9 = phq9.filter(answered_on() <= end)
    changes = (
        change_points(nights, DEFAULT)
        if nights.height
        else pl.DataFrame(schema={"patient_id": pl.String, "metric": pl.String, "date": pl.Date})
    )
    out: dict[str, Any] = {
        "patient_id": patient_id,
        "nights": nights.drop("patient_id").to_dicts(),
        "change_points": changes.drop("patient_id", strict=False).to_dicts(),
        "phq9": phq9.drop("patient_id").to_dicts(),
    }
    if include_alerts:
        out["alerts"] = [
            alert_shape(a, fields=TIMELINE_FIELDS)
            for a in alerts_of(session, patient_id=patient_id)
            if (start is None or a.fired_on >= start) and (end is None or a.fired_on <= end)
        ]
    return out
