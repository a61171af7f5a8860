"""What a coordinator's inbox adds to alerts: counts by severity and status, and who took an
alert on (assign to a coordinator of the patient's team, or unassign)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.services.alerts import AlertFilter, alert_conditions, get_alert
from api.services.errors import Conflict, InvalidInput
from api.services.tokens import Principal
from api.store import Alert, AlertEvent, Membership, Patient, User
from api.store.alerts import ALERT_STATUSES
from detect.signals import SEVERITIES


def count_alerts(
    session: Session, *, principal: Principal, filters: AlertFilter
) -> dict[str, dict[str, int]]:
    """How many alerts the caller may see match the filters, by severity and by status
    (every severity and status named, zeros included)."""
    rows = session.execute(
        select(Alert.severity, Alert.status, func.count())
        .where(*alert_conditions(principal, filters))
        .group_by(Alert.severity, Alert.status)
    ).all()
    by_severity: dict[str, int] = dict.fromkeys(SEVERITIES, 0)
    by_status: dict[str, int] = dict.fromkeys(ALERT_STATUSES, 0)
    for severity, status, n in rows:
        by_severity[severity] = by_severity.get(severity, 0) + n
        by_status[status] = by_status.get(status, 0) + n
    return {"by_severity": by_severity, "by_status": by_status}


def assign(
    session: Session,
    *,
    alert_id: int,
    principal: Principal,
    now: datetime,
    user_id: int | None = None,
) -> Alert:
    """Assigns the alert to ``user_id`` (the caller when None), who must be a coordinator of
    the patient's team. Assigning it to whoever already has it changes nothing."""
    alert = get_alert(session, principal=principal, alert_id=alert_id, lock=True)
    if alert.status == "resolved":
        raise Conflict(f"alert {alert_id} is resolved and cannot be assigned")
    target = principal.user_id if user_id is None else user_id
    if target is None or not _on_team(session, user_id=target, patient_id=alert.patient_id):
        raise InvalidInput(
            "an alert is assigned to a coordinator of the patient's care team", field="user_id"
        )
    if alert.assignee_user_id == target:
        return alert
    alert.assignee_user_id = target
    _event(alert, "assigned", principal, f"assigned to user:{target}", now)
    session.flush()
    return alert


def unassign(session: Session, *, alert_id: int, principal: Principal, now: datetime) -> Alert:
    alert = get_alert(session, principal=principal, alert_id=alert_id, lock=True)
    if alert.assignee_user_id is None:
        return alert
    note = f"was assigned to user:{alert.assignee_user_id}"
    alert.assignee_user_id = None
    _event(alert, "unassigned", principal, note, now)
    session.flush()
    return alert


def user_names(session: Session, user_ids: set[int]) -> dict[int, str]:
    """Display names of the given users (assignees shown in an inbox)."""
    if not user_ids:
        return {}
    rows = session.execute(select(User.id, User.name).where(User.id.in_(user_ids)))
    return {user_id: name for user_id, name in rows}


def _on_team(session: Session, *, user_id: int, patient_id: str) -> bool:
    found = session.scalar(
        select(User.id)
        .join(Membership, Membership.user_id == User.id)
        .join(Patient, Patient.team_id == Membership.team_id)
        .where(User.id == user_id, User.role == "coordinator", Patient.id == patient_id)
    )
    return found is not None


def _event(alert: Alert, event: str, principal: Principal, note: str, now: datetime) -> None:
    alert.events.append(AlertEvent(event=event, actor=principal.actor, note=note, at=now))
