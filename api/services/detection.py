"""Detection over stored data: detect.detect_day on the nights and PHQ-9 of some patients.

Which day is judged: a night belongs to the local date it ends on (ingest.nights), so the
scheduler's runs judge each patient's **last complete local night**, not the UTC date: the
night of local date D is complete once it has arrived, and at local noon of D at the latest
(``NIGHT_COMPLETE_AFTER``). At the 03:00 UTC run a patient in Los Angeles (19:00 the day before)
is judged on the night that ended that morning, one in Auckland (16:00) on the night that ended
today, one in London (03:00, still asleep) on last night but one. The offset is that of the
patient's latest night that has one; a patient with none is taken to live at UTC.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol

import polars as pl
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from api.services.alerts import open_alert
from api.services.nights import load_nights
from api.services.phq9 import load_phq9, phq9_window_start
from api.store import Alert, Night, Patient
from api.unit_of_work import UnitOfWork
from detect import DEFAULT, DetectConfig, detect_day
from detect.cube import needed_columns

#: patients judged per detect_day call (bounds the memory of one batch)
BATCH = 500
#: the furthest a local clock runs ahead of UTC (Kiribati, UTC+14)
MAX_AHEAD_OF_UTC = timedelta(hours=14)
#: a night of local date D is complete by local noon of D at the latest (woken, synced)
NIGHT_COMPLETE_AFTER = timedelta(hours=12)
#: patients per query of their latest night (well under any bound-parameter limit)
OFFSET_CHUNK = 900
#: patients per UPDATE when the due marks are cleared (well under any bound-parameter limit)
CLEAR_CHUNK = 900


class DetectionInputs(Protocol):
    """Where the detection job reads the nights and PHQ-9 entries it judges: the database
    (``detection_inputs``), or a replay's copy of the same rows kept between its days
    (``api.replay.window``)."""

    def __call__(
        self, session: Session, *, patient_ids: list[str], day: date, config: DetectConfig
    ) -> tuple[pl.DataFrame, pl.DataFrame]: ...


class LatestNights(Protocol):
    """Where the detection job finds each patient's latest night with a UTC offset dated
    ``since`` or later, and that offset: the database (``latest_nights``), or a replay's copy
    of the stored nights (``api.replay.window``)."""

    def __call__(
        self, session: Session, *, patient_ids: list[str], since: date
    ) -> dict[str, tuple[date, int]]: ...


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
    day: date | None = None,
    now: datetime,
    patient_ids: list[str] | None = None,
    config: DetectConfig = DEFAULT,
    inputs: DetectionInputs | None = None,
    latest: LatestNights | None = None,
) -> list[Alert]:
    """Judges ``day`` (None: each patient's last complete local night, see the module) for
    these patients (None: every patient) and opens the alerts, one active alert per patient
    and kind; returns the alerts newly opened.

    Reads only the nights and PHQ-9 entries the judgement depends on (``lookback_days``,
    ``phq9_window_start``), not each patient's whole history, through ``inputs`` (default:
    ``detection_inputs``, from the database); each patient's latest night through ``latest``
    (default: ``latest_nights``, from the database)."""
    session = work.session
    everyone = list(session.scalars(select(Patient.id).order_by(Patient.id)))
    if patient_ids is None:
        patient_ids = everyone
    if day is None:
        groups = last_complete_nights(session, patient_ids, now=now, config=config, latest=latest)
    else:
        groups = {day: patient_ids}
    opened: list[Alert] = []
    for judged_day, ids in sorted(groups.items()):
        opened += _judge_day(
            work, judged_day, ids, everyone, now=now, config=config, read=inputs or detection_inputs
        )
    return opened


def last_complete_nights(
    session: Session,
    patient_ids: list[str],
    *,
    now: datetime,
    config: DetectConfig,
    latest: LatestNights | None = None,
) -> dict[date, list[str]]:
    """The patients grouped by their last complete local night at ``now`` (see the module):
    the local date at ``now - NIGHT_COMPLETE_AFTER``, or today's local date once that night
    has arrived."""
    since = now.date() - timedelta(days=lookback_days(config))
    found = (latest or latest_nights)(session, patient_ids=patient_ids, since=since)
    groups: dict[date, list[str]] = {}
    for pid in patient_ids:
        arrived, offset = found.get(pid, (date.min, 0))
        local_now = now + timedelta(minutes=offset)
        judged = max((local_now - NIGHT_COMPLETE_AFTER).date(), min(arrived, local_now.date()))
        groups.setdefault(judged, []).append(pid)
    return groups


def latest_nights(
    session: Session, *, patient_ids: list[str], since: date
) -> dict[str, tuple[date, int]]:
    """Each patient's latest stored night dated ``since`` or later that has a UTC offset, with
    that offset (0 for a null one); patients with none are left out."""
    latest: dict[str, tuple[date, int]] = {}
    for lo in range(0, len(patient_ids), OFFSET_CHUNK):
        chunk = patient_ids[lo : lo + OFFSET_CHUNK]
        last = (
            select(Night.patient_id, func.max(Night.date).label("date"))
            .where(
                Night.patient_id.in_(chunk),
                Night.date >= since,
                Night.utc_offset_min.is_not(None),
            )
            .group_by(Night.patient_id)
            .subquery()
        )
        rows = session.execute(
            select(Night.patient_id, Night.date, Night.utc_offset_min).join(
                last, (Night.patient_id == last.c.patient_id) & (Night.date == last.c.date)
            )
        )
        latest |= {pid: (night, offset or 0) for pid, night, offset in rows}
    return latest


def _judge_day(
    work: UnitOfWork,
    day: date,
    patient_ids: list[str],
    everyone: list[str],
    *,
    now: datetime,
    config: DetectConfig,
    read: DetectionInputs,
) -> list[Alert]:
    session = work.session
    opened: list[Alert] = []
    for lo in range(0, len(patient_ids), BATCH):
        batch = patient_ids[lo : lo + BATCH]
        # a small batch (a few patients whose data just arrived) is judged beside a sample of
        # the other patients, whose nights measure the calendar's common mode
        reference = calendar_reference(everyone, batch)
        nights, phq9 = read(session, patient_ids=batch + reference, day=day, config=config)
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
    start, since = reading_window(day, config)
    nights = load_nights(
        session, patient_ids=patient_ids, start=start, end=day, columns=needed_columns(config)
    )
    phq9 = load_phq9(session, patient_ids=patient_ids, since=since, config=config)
    return nights, phq9


def reading_window(day: date, config: DetectConfig) -> tuple[date, datetime]:
    """The first night and the earliest PHQ-9 answer time (``load_phq9``'s ``since``) that
    detect_day reads to judge ``day``."""
    # an answer of local date ``day`` was given as early as UTC+14 allows
    earliest = datetime.combine(day, time(0), UTC) - MAX_AHEAD_OF_UTC
    return day - timedelta(days=lookback_days(config)), phq9_window_start(earliest, config)


def run_due_detection(
    work: UnitOfWork,
    *,
    now: datetime,
    config: DetectConfig = DEFAULT,
    inputs: DetectionInputs | None = None,
    latest: LatestNights | None = None,
) -> list[Alert]:
    """Detection for the patients whose data changed since it last ran, each judged on their
    last complete local night."""
    session = work.session
    due = session.execute(
        select(Patient.id, Patient.detection_due_at).where(Patient.detection_due_at.is_not(None))
    ).all()
    if not due:
        return []
    opened = run_detection(
        work,
        patient_ids=[pid for pid, _ in due],
        now=now,
        config=config,
        inputs=inputs,
        latest=latest,
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
