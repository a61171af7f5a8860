"""Detection over stored data: detect.detect_day on the nights and PHQ-9 of some patients."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import polars as pl
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from api.services.alerts import open_alert
from api.services.nights import load_nights
from api.services.phq9 import load_phq9, phq9_window_start
from api.store import Alert, Patient
from api.unit_of_work import UnitOfWork
from detect import DEFAULT, DetectConfig, detect_day
from detect.cube import needed_columns

#: patients judged per detect_day call (bounds the memory of one batch)
BATCH = 500
#: the furthest a local clock runs ahead of UTC (Kiribati, UTC+14)
MAX_AHEAD_OF_UTC = timedelta(hours=14)
#: patients per UPDATE when the due marks are cleared (well under any bound-parameter limit)
CLEAR_CHUNK = 900


def lookback_days(config: DetectConfig) -> int:
    """How many days before ``day`` detect_day reads to judge it: its baseline and evidence
    windows (``history_nights``, the judged night included) and the refractory period before
    them, whose earlier candidate days decide whether ``day`` opens a new episode, and the
    calendar's reference nights before all that (``calendar_nights``). Nights before that are
    never read, so leaving them out changes no signal."""
    lead = max(config.refractory_days, config.gap_refractory_days)
    return lead + config.history_nights - 1 + config.calendar_nights


def run_detection(
    work: UnitOfWork,
    *,
    day: date,
    now: datetime,
    patient_ids: list[str] | None = None,
    config: DetectConfig = DEFAULT,
) -> list[Alert]:
    """Judges ``day`` for these patients (None: every patient) and opens the alerts, one active
    alert per patient and kind; returns the alerts newly opened.

    Reads only the nights and PHQ-9 entries the judgement depends on (``lookback_days``,
    ``phq9_window_start``), not each patient's whole history."""
    session = work.session
    everyone = list(session.scalars(select(Patient.id).order_by(Patient.id)))
    if patient_ids is None:
        patient_ids = everyone
    opened: list[Alert] = []
    for lo in range(0, len(patient_ids), BATCH):
        batch = patient_ids[lo : lo + BATCH]
        # a small batch (a few patients whose data just arrived) is judged beside a sample of
        # the other patients, whose nights measure the calendar's common mode
        reference = calendar_reference(everyone, batch)
        nights, phq9 = detection_inputs(
            session, patient_ids=batch + reference, day=day, config=config
        )
        for signal in detect_day(nights, phq9, day, config, judged=set(batch)):
            alert = open_alert(work, signal=signal, now=now)
            if alert is not None:
                opened.append(alert)
    return opened


def calendar_reference(everyone: list[str], batch: list[str]) -> list[str]:
    """Up to ``BATCH - len(batch)`` other patients, every k-th by id: enough people for the
    cohort's median shift of a night (detect.calendar)."""
    room = BATCH - len(batch)
    if room <= 0:
        return []
    judged = set(batch)
    others = [pid for pid in everyone if pid not in judged]
    step = max(1, -(-len(others) // room))
    return others[::step]


def detection_inputs(
    session: Session, *, patient_ids: list[str], day: date, config: DetectConfig
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The nights and PHQ-9 entries of these patients that detect_day reads to judge ``day``."""
    nights = load_nights(
        session,
        patient_ids=patient_ids,
        start=day - timedelta(days=lookback_days(config)),
        end=day,
        columns=needed_columns(config),
    )
    # an answer of local date ``day`` was given as early as UTC+14 allows
    earliest = datetime.combine(day, time(0), UTC) - MAX_AHEAD_OF_UTC
    since = phq9_window_start(earliest, config)
    phq9 = load_phq9(session, patient_ids=patient_ids, since=since, config=config)
    return nights, phq9


def run_due_detection(
    work: UnitOfWork, *, now: datetime, config: DetectConfig = DEFAULT
) -> list[Alert]:
    """Detection for the patients whose data changed since it last ran, judged on today (UTC)."""
    session = work.session
    due = session.execute(
        select(Patient.id, Patient.detection_due_at).where(Patient.detection_due_at.is_not(None))
    ).all()
    if not due:
        return []
    opened = run_detection(
        work, day=now.date(), patient_ids=[pid for pid, _ in due], now=now, config=config
    )
    # one UPDATE per distinct mark (a replayed day has one; the live service a few), each over
    # its patients in chunks; a mark set while this ran is newer and stays for the next run
    by_mark: dict[datetime | None, list[str]] = {}
    for patient_id, marked_at in due:
        by_mark.setdefault(marked_at, []).append(patient_id)
    for marked_at, ids in by_mark.items():
        for lo in range(0, len(ids), CLEAR_CHUNK):
            session.execute(
                update(Patient)
                .where(Patient.id.in_(ids[lo : lo + CLEAR_CHUNK]))
                .where(Patient.detection_due_at == marked_at)
                .values(detection_due_at=None)
            )
    return opened
