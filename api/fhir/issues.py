"""Reading alerts as DetectedIssue, Task and Flag resources, for a coordinator.

Visibility is the JSON API's own condition (``visible_alerts``); a DetectedIssue's evidence
points at the Observations and QuestionnaireResponses of the alert's window that it rests on."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session, selectinload

from api.fhir import alerts as alert_resources
from api.fhir import nights as night_resources
from api.fhir import phq9 as phq9_resources
from api.fhir.codes import EVIDENCE_MEASURE, ISSUE_STATUS, PHENOWATCH, TASK_STATUS
from api.fhir.reads import Page, day_after, midnight, unknown
from api.fhir.search import Search
from api.services.alerts import visible_alerts
from api.services.tokens import Principal
from api.store import Alert, AlertEvent, CareTeam, Night, Patient, Phq9Entry, User
from detect.phq9_rules import answer_day

RESOURCE_TYPES = ("DetectedIssue", "Task", "Flag")
#: how far local clocks run ahead of UTC (UTC+14) and behind it (UTC-12)
AHEAD_OF_UTC, BEHIND_UTC = timedelta(hours=14), timedelta(hours=12)
#: FHIR status -> alert statuses, per resource type
_STATUSES = {
    "DetectedIssue": ISSUE_STATUS,
    "Task": TASK_STATUS,
    "Flag": {"open": "active", "acknowledged": "active", "resolved": "inactive"},
}


def read(session: Session, principal: Principal, resource_type: str, resource_id: str) -> Any:
    alert = None
    if resource_id.isascii() and resource_id.isdigit() and len(resource_id) <= 18:
        alert = session.scalar(
            select(Alert)
            .where(Alert.id == int(resource_id), visible_alerts(principal))
            .options(selectinload(Alert.events))
        )
    if alert is None or (resource_type == "Flag" and alert.kind != alert_resources.SAFETY_KIND):
        raise unknown(resource_type, resource_id)
    return _render(session, resource_type, [alert])[0]


def search(session: Session, principal: Principal, resource_type: str, search: Search) -> Page:
    conditions = _conditions(principal, resource_type, search)
    total = session.scalar(select(func.count()).select_from(Alert).where(*conditions)) or 0
    if not search.count:
        return Page([], total, None)
    alerts = list(
        session.scalars(
            select(Alert)
            .where(*conditions)
            .order_by(Alert.id.desc())
            .offset(search.offset)
            .limit(search.count)
            .options(selectinload(Alert.events))
        )
    )
    end = search.offset + len(alerts)
    return Page(
        _render(session, resource_type, alerts), total, end if alerts and end < total else None
    )


def _conditions(
    principal: Principal, resource_type: str, search: Search
) -> list[ColumnElement[bool]]:
    conditions = [visible_alerts(principal), *search.dates.sql(Alert.opened_at)]
    if resource_type == "Flag":
        conditions.append(Alert.kind == alert_resources.SAFETY_KIND)
    if search.patients is not None:
        conditions.append(Alert.patient_id.in_(search.patients))
    if search.statuses is not None:
        mapping = _STATUSES[resource_type]
        conditions.append(Alert.status.in_([a for a, f in mapping.items() if f in search.statuses]))
    if search.codes is not None:
        kinds = [code for system, code in search.codes if system in (None, PHENOWATCH)]
        conditions.append(Alert.kind.in_(kinds))
    if search.updated.lower is not None or search.updated.upper is not None:
        changed = (
            select(func.max(AlertEvent.at)).where(AlertEvent.alert_id == Alert.id).scalar_subquery()
        )
        conditions.extend(search.updated.sql(func.coalesce(changed, Alert.opened_at)))
    return conditions


def _render(session: Session, resource_type: str, alerts: list[Alert]) -> list[dict[str, Any]]:
    if resource_type == "Flag":
        return [alert_resources.flag(alert) for alert in alerts]
    people = _people(session, alerts)
    if resource_type == "Task":
        return [alert_resources.task(alert, people=people[alert.id]) for alert in alerts]
    return [
        alert_resources.detected_issue(
            alert, evidence=evidence(session, alert), people=people[alert.id]
        )
        for alert in alerts
    ]


def _people(session: Session, alerts: list[Alert]) -> dict[int, alert_resources.People]:
    user_ids = {
        int(number)
        for alert in alerts
        for event in alert.events
        for kind, _, number in [event.actor.partition(":")]
        if kind == "user" and number.isdigit()
    }
    users = dict(session.execute(select(User.id, User.name).where(User.id.in_(user_ids))).all())
    teams = {
        patient_id: (team_id, name)
        for patient_id, team_id, name in session.execute(
            select(Patient.id, CareTeam.id, CareTeam.name)
            .join(CareTeam, CareTeam.id == Patient.team_id)
            .where(Patient.id.in_({alert.patient_id for alert in alerts}))
        )
    }
    return {
        alert.id: alert_resources.People(users, *teams.get(alert.patient_id, (None, None)))
        for alert in alerts
    }


def evidence(session: Session, alert: Alert) -> list[str]:
    """References to the resources in the alert's evidence window that it rests on: the PHQ-9
    answers of the window for a PHQ-9 alert, the nights' measures it names for a passive one."""
    if alert.kind.startswith("phq9"):
        # the window is in the patient's local dates: read the UTC instants any offset allows,
        # keep the answers whose own local date falls in it
        entries = session.execute(
            select(Phq9Entry.id, Phq9Entry.answered_at, Phq9Entry.utc_offset_min)
            .where(
                Phq9Entry.patient_id == alert.patient_id,
                Phq9Entry.answered_at >= midnight(alert.window_start) - AHEAD_OF_UTC,
                Phq9Entry.answered_at < day_after(alert.window_end) + BEHIND_UTC,
            )
            .order_by(Phq9Entry.answered_at)
        ).all()
        ids = [
            entry_id
            for entry_id, at, offset in entries
            if alert.window_start <= answer_day(at, offset) <= alert.window_end
        ]
        refs: list[str] = []
        for entry_id in ids:
            base = phq9_resources.response_id(entry_id)
            refs += [f"QuestionnaireResponse/{base}", f"Observation/{base}"]
        return refs
    metrics = (alert.evidence or {}).get("metrics") or []
    measures = list(dict.fromkeys(EVIDENCE_MEASURE[m] for m in metrics if m in EVIDENCE_MEASURE))
    if not measures:
        return []
    rows = session.execute(
        select(Night.date, *(Night.__table__.c[m.column] for m in measures))
        .where(
            Night.patient_id == alert.patient_id,
            Night.date >= alert.window_start,
            Night.date <= alert.window_end,
        )
        .order_by(Night.date)
    ).all()
    return [
        f"Observation/{night_resources.observation_id(m, alert.patient_id, row[0])}"
        for row in rows
        for m, value in zip(measures, row[1:], strict=True)
        if value is not None
    ]
