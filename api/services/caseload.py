"""A coordinator's caseload: every patient of their teams with the figures a coordinator
scans first (last data, coverage, latest PHQ-9, open alerts), and one patient's coverage.

Each figure is one grouped query over all of the caller's patients, never a query per patient.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, case, func, or_, select
from sqlalchemy.orm import Session

from api.services.errors import InvalidInput
from api.services.patients import visible_patients
from api.services.tokens import Principal
from api.store import Alert, CareTeam, Night, Patient, Phq9Entry, Upload
from api.store.alerts import ACTIVE_STATUSES
from detect.signals import SEVERITIES

#: the days behind "coverage": the share of them with any measurement
COVERAGE_DAYS = 30
SORTS = ("urgency", "patient", "last_data", "coverage", "phq9")
_ANY_DATA = or_(Night.has_sleep, Night.has_hrv, Night.has_resting_hr, Night.has_steps)


@dataclass(frozen=True)
class PatientSummary:
    patient_id: str
    team_id: int
    team: str
    last_night: date | None
    last_upload_at: datetime | None
    #: share of the last COVERAGE_DAYS days (today included) with any measurement
    coverage: float
    phq9_total: int | None
    phq9_item9: int | None
    phq9_answered_at: datetime | None
    active_alerts: int
    #: the most severe active alert's severity, None without one
    top_severity: str | None

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def caseload(
    session: Session, *, principal: Principal, today: date, sort: str = "urgency"
) -> list[PatientSummary]:
    """The caller's patients. ``urgency``: the most severe active alert first, then the most
    active alerts, then the patient id; other sorts put what needs a look first (oldest data,
    lowest coverage, highest PHQ-9)."""
    if sort not in SORTS:
        raise InvalidInput(f"sort must be one of {list(SORTS)}", field="sort")
    mine = visible_patients(principal)
    patients = session.execute(
        select(Patient.id, Patient.team_id, CareTeam.name)
        .join(CareTeam, CareTeam.id == Patient.team_id)
        .where(mine)
    ).all()
    if not patients:
        return []
    since = today - timedelta(days=COVERAGE_DAYS - 1)
    last_night = _by_patient(session, mine, Night.patient_id, func.max(Night.date), _ANY_DATA)
    covered = _by_patient(
        session, mine, Night.patient_id, func.count(), _ANY_DATA, Night.date >= since
    )
    uploads = _by_patient(session, mine, Upload.patient_id, func.max(Upload.created_at))
    latest = _latest_phq9(session, mine)
    alerts = _active_alerts(session, mine)
    rows = [
        PatientSummary(
            patient_id=pid,
            team_id=team_id,
            team=team,
            last_night=last_night.get(pid),
            last_upload_at=uploads.get(pid),
            coverage=min(1.0, covered.get(pid, 0) / COVERAGE_DAYS),
            phq9_total=latest.get(pid, (None, None, None))[0],
            phq9_item9=latest.get(pid, (None, None, None))[1],
            phq9_answered_at=latest.get(pid, (None, None, None))[2],
            active_alerts=alerts.get(pid, (0, None))[0],
            top_severity=alerts.get(pid, (0, None))[1],
        )
        for pid, team_id, team in patients
    ]
    return sorted(rows, key=_SORT_KEYS[sort])


def coverage_by_metric(
    session: Session, *, patient_id: str, today: date, days: int
) -> dict[str, float]:
    """Share of the last ``days`` days (today included) with each measurement."""
    since = today - timedelta(days=days - 1)
    flags = (Night.has_sleep, Night.has_hrv, Night.has_resting_hr, Night.has_steps)
    row = session.execute(
        select(*(func.sum(case((flag, 1), else_=0)) for flag in flags)).where(
            Night.patient_id == patient_id, Night.date >= since, Night.date <= today
        )
    ).one()
    names = ("sleep", "hrv", "resting_hr", "steps")
    return {name: float(value or 0) / days for name, value in zip(names, row, strict=True)}


def _by_patient(
    session: Session, mine: ColumnElement[bool], key: Any, value: Any, *where: Any
) -> dict[str, Any]:
    query = select(key, value).where(key.in_(select(Patient.id).where(mine)), *where).group_by(key)
    return {row[0]: row[1] for row in session.execute(query)}


def _latest_phq9(
    session: Session, mine: ColumnElement[bool]
) -> dict[str, tuple[int, int | None, datetime]]:
    newest = (
        select(Phq9Entry.patient_id, func.max(Phq9Entry.answered_at).label("at"))
        .where(Phq9Entry.patient_id.in_(select(Patient.id).where(mine)))
        .group_by(Phq9Entry.patient_id)
        .subquery()
    )
    rows = session.execute(
        select(Phq9Entry.patient_id, Phq9Entry.total, Phq9Entry.item_9, Phq9Entry.answered_at).join(
            newest,
            (newest.c.patient_id == Phq9Entry.patient_id) & (newest.c.at == Phq9Entry.answered_at),
        )
    )
    return {pid: (total, item9, at) for pid, total, item9, at in rows}


def _active_alerts(session: Session, mine: ColumnElement[bool]) -> dict[str, tuple[int, str]]:
    rows = session.execute(
        select(Alert.patient_id, Alert.severity, func.count())
        .where(
            Alert.status.in_(ACTIVE_STATUSES),
            Alert.patient_id.in_(select(Patient.id).where(mine)),
        )
        .group_by(Alert.patient_id, Alert.severity)
    )
    out: dict[str, tuple[int, str]] = {}
    for pid, severity, n in rows:
        count, top = out.get(pid, (0, severity))
        out[pid] = (count + n, min(top, severity, key=_severity_rank))
    return out


def _severity_rank(severity: str | None) -> int:
    return SEVERITIES.index(severity) if severity in SEVERITIES else len(SEVERITIES)


_SORT_KEYS: dict[str, Any] = {
    "urgency": lambda r: (_severity_rank(r.top_severity), -r.active_alerts, r.patient_id),
    "patient": lambda r: r.patient_id,
    "last_data": lambda r: (r.last_night is not None, r.last_night or date.min, r.patient_id),
    "coverage": lambda r: (r.coverage, r.patient_id),
    "phq9": lambda r: (-(r.phq9_total if r.phq9_total is not None else -1), r.patient_id),
}
