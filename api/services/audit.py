"""The audit log: when, who, role, action, patient, resource, outcome. Never values or tokens."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from api.services.tokens import Principal
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
        patient_id=patient_id,
        resource=resource[:200],
        outcome=outcome,
    )
    session.add(entry)
    return entry
