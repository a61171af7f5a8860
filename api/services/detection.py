"""Detection over stored data: detect.detect_day on the nights and PHQ-9 of some patients."""

from __future__ import annotations

import importlib
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from api.services.alerts import open_alert
from api.services.nights import load_nights
from api.services.phq9 import load_phq9
from api.store import Alert, Patient

#: patients judged per detect_day call (bounds the memory of one batch)
BATCH = 500
FALLBACK_LOOKBACK_DAYS = 120


def detector() -> Any:
    """The detect package, imported when first needed (it pulls in numpy and ruptures)."""
    return importlib.import_module("detect")


def default_config() -> Any:
    return detector().DetectConfig()


def lookback_days(config: Any) -> int:
    """How many days of nights before ``day`` detect_day needs to judge it."""
    history = getattr(config, "history_nights", None)
    if history is None:
        return FALLBACK_LOOKBACK_DAYS
    lead = max(getattr(config, "refractory_days", 0), getattr(config, "gap_refractory_days", 0))
    return int(history) + int(lead) + 7


def run_detection(
    session: Session,
    *,
    day: date,
    patient_ids: list[str] | None = None,
    now: datetime | None = None,
    config: Any = None,
) -> list[Alert]:
    """Judges ``day`` for these patients (None: every patient) and opens the alerts, one active
    alert per patient and kind; returns the alerts newly opened."""
    now = now or datetime.now(UTC)
    config = config if config is not None else default_config()
    if patient_ids is None:
        patient_ids = list(session.scalars(select(Patient.id).order_by(Patient.id)))
    start = day - timedelta(days=lookback_days(config))
    opened: list[Alert] = []
    for lo in range(0, len(patient_ids), BATCH):
        batch = patient_ids[lo : lo + BATCH]
        nights = load_nights(session, patient_ids=batch, start=start, end=day)
        phq9 = load_phq9(session, patient_ids=batch)
        for signal in detector().detect_day(nights, phq9, day, config):
            alert = open_alert(session, signal=signal, now=now)
            if alert is not None:
                opened.append(alert)
    return opened


def run_due_detection(session: Session, *, now: datetime, config: Any = None) -> list[Alert]:
    """Detection for the patients whose data changed since it last ran, judged on today (UTC)."""
    due = session.execute(
        select(Patient.id, Patient.detection_due_at).where(Patient.detection_due_at.is_not(None))
    ).all()
    if not due:
        return []
    opened = run_detection(
        session, day=now.date(), patient_ids=[pid for pid, _ in due], now=now, config=config
    )
    for patient_id, marked_at in due:
        # a mark set while this ran is newer and stays for the next run
        session.execute(
            update(Patient)
            .where(Patient.id == patient_id, Patient.detection_due_at == marked_at)
            .values(detection_due_at=None)
        )
    return opened
