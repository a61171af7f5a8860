"""Uploaded exports waiting for, under or past processing."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, get_args

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from api.store.base import Base

UploadStatus = Literal["queued", "processing", "done", "failed"]
UPLOAD_STATUSES: tuple[UploadStatus, ...] = get_args(UploadStatus)


class Upload(Base):
    __tablename__ = "uploads"
    __table_args__ = (
        UniqueConstraint("patient_id", "sha256", name="uq_uploads_patient_sha256"),
        UniqueConstraint("patient_id", "idempotency_key", name="uq_uploads_patient_idem_key"),
        Index("ix_uploads_status_lease", "status", "lease_until"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    status: Mapped[UploadStatus] = mapped_column(String(20))
    sha256: Mapped[str] = mapped_column(String(64))
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    size_bytes: Mapped[int]
    #: where the bytes wait (the upload spool folder), removed once processed
    spool_path: Mapped[str] = mapped_column(String(1000))
    #: the name the uploader gave the file (shown in parser messages)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str | None] = mapped_column(String(200))
    attempts: Mapped[int] = mapped_column(default=0)
    lease_until: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)
    #: what the upload left out, each naming its file (``ingest.read_report.ReadWarning``)
    warnings: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    nights_added: Mapped[int | None]
    phq9_added: Mapped[int | None]
    created_at: Mapped[datetime]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
