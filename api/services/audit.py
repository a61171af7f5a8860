"""The audit log: when, who, role, action, patient, resource, outcome. Never values or tokens."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy.orm import Session

from api.services.tokens import SYSTEM, Principal
from api.store import AuditEntry


def record(
    session: Session,
    *,
    principal: Principal | None,
    action: str,
    resource: str,
    outcome: str,
    now: datetime,
    patient_id: str | None = None,
) -> AuditEntry:
    entry = AuditEntry(
        at=now,
        actor=principal.actor if principal else "anonymous",
        role=principal.role if principal else "anonymous",
        action=action,
        patient_id=None if patient_id is None else _printable(patient_id)[:64],
        resource=_printable(resource)[:200],
        outcome=outcome,
    )
    session.add(entry)
    return entry


def record_webhook_send(
    session: Session, *, delivery_id: int, endpoint_id: int, payload: str, sent: bool, now: datetime
) -> AuditEntry:
    """A webhook delivery carries patient data out of phenowatch, to a care team's system:
    each attempt is recorded as the system's, with the patient it was about."""
    try:
        data = json.loads(payload).get("data") or {}
        patient_id = data.get("patient_id") if isinstance(data, dict) else None
    except (ValueError, AttributeError):
        patient_id = None
    return record(
        session,
        principal=SYSTEM,
        action="webhook_delivery",
        resource=f"POST webhook endpoint {endpoint_id} (delivery {delivery_id})",
        outcome="delivered" if sent else "failed",
        now=now,
        patient_id=None if patient_id is None else str(patient_id),
    )


def _printable(text: str) -> str:
    """Control characters written as escapes: a hostile path (``%00``) is recorded as what it
    was, in a form every database stores (PostgreSQL refuses NUL in text)."""
    return "".join(
        char if char.isprintable() or char == " " else char.encode("unicode_escape").decode()
        for char in text
    )
