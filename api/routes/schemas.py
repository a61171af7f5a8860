"""Response and request bodies shared by the routes."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, Field

from api.store import Alert, Upload


class UploadOut(BaseModel):
    id: str
    patient_id: str
    status: str
    status_url: str
    filename: str
    size_bytes: int
    created_at: datetime
    finished_at: datetime | None = None
    nights_added: int | None = None
    phq9_added: int | None = None
    error: str | None = None
    duplicate: bool = False

    @classmethod
    def of(cls, upload: Upload, *, duplicate: bool = False) -> UploadOut:
        return cls(
            id=upload.id,
            patient_id=upload.patient_id,
            status=upload.status,
            status_url=f"/v1/uploads/{upload.id}",
            filename=upload.filename,
            size_bytes=upload.size_bytes,
            created_at=upload.created_at,
            finished_at=upload.finished_at,
            nights_added=upload.nights_added,
            phq9_added=upload.phq9_added,
            error=upload.error,
            duplicate=duplicate,
        )


class AlertEventOut(BaseModel):
    event: str
    actor: str
    note: str | None
    at: datetime


class AlertOut(BaseModel):
    id: int
    patient_id: str
    kind: str
    severity: str
    status: str
    explanation: str
    detector: str
    detector_version: str
    fired_on: date
    window_start: date
    window_end: date
    last_fired_on: date
    opened_at: datetime
    acknowledged_at: datetime | None
    resolved_at: datetime | None
    escalated_at: datetime | None

    @classmethod
    def of(cls, alert: Alert) -> AlertOut:
        return cls.model_validate(alert, from_attributes=True)


class AlertDetail(AlertOut):
    evidence: dict[str, Any]
    events: list[AlertEventOut]

    @classmethod
    def of(cls, alert: Alert) -> AlertDetail:
        return cls.model_validate(alert, from_attributes=True)


class AlertPage(BaseModel):
    items: list[AlertOut]
    next_cursor: str | None = Field(description="pass as ?cursor= for the next page")


class Note(BaseModel):
    note: str | None = Field(default=None, max_length=4000)


class RequiredNote(BaseModel):
    note: str = Field(min_length=1, max_length=4000)
