"""Uploads: received bytes queued for a worker, claimed under a lease, processed in one
transaction (a worker that dies mid-way leaves nothing behind and the upload is retried)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.db import begin_immediate
from api.services.errors import NotFound
from api.services.patients import visible_patients
from api.services.tokens import Principal
from api.store import Patient, Upload
from ingest.read_report import ReadWarning


@dataclass(frozen=True)
class Received:
    """An upload's bytes, already on disk in the spool folder."""

    path: Path
    sha256: str
    size: int
    filename: str
    content_type: str | None = None


def create_upload(
    session: Session,
    *,
    patient_id: str,
    received: Received,
    now: datetime,
    idempotency_key: str | None = None,
) -> tuple[Upload, bool]:
    """Queues the received bytes; returns (upload, created). The same content, or a retry with
    the same Idempotency-Key, returns the original upload and queues nothing."""
    original = find_duplicate(
        session, patient_id=patient_id, sha256=received.sha256, idempotency_key=idempotency_key
    )
    if original is not None:
        return original, False
    upload = Upload(
        id=str(uuid.uuid4()),
        patient_id=patient_id,
        status="queued",
        sha256=received.sha256,
        idempotency_key=idempotency_key,
        size_bytes=received.size,
        spool_path=str(received.path),
        filename=received.filename,
        content_type=received.content_type,
        attempts=0,
        created_at=now,
    )
    try:
        with session.begin_nested():
            session.add(upload)
    except IntegrityError:
        # the same bytes or key arrived at the same moment through another request
        original = find_duplicate(
            session, patient_id=patient_id, sha256=received.sha256, idempotency_key=idempotency_key
        )
        if original is None:
            raise
        return original, False
    return upload, True


def find_duplicate(
    session: Session, *, patient_id: str, sha256: str, idempotency_key: str | None
) -> Upload | None:
    same = Upload.sha256 == sha256
    if idempotency_key:
        same = or_(same, Upload.idempotency_key == idempotency_key)
    return session.scalar(
        select(Upload)
        .where(Upload.patient_id == patient_id, same)
        .order_by(Upload.created_at)
        .limit(1)
    )


def get_upload(session: Session, *, principal: Principal, upload_id: str) -> Upload:
    upload = session.scalar(
        select(Upload)
        .join(Patient, Patient.id == Upload.patient_id)
        .where(Upload.id == upload_id, visible_patients(principal))
    )
    if upload is None:
        raise NotFound(f"no upload {upload_id}")
    return upload


def claim_next(session: Session, *, now: datetime, lease: timedelta) -> Upload | None:
    """Takes the oldest queued upload (or one whose worker's lease ran out) for this worker.

    PostgreSQL: ``FOR UPDATE SKIP LOCKED``, so workers never wait for or take the same row.
    SQLite: the claim is one ``BEGIN IMMEDIATE`` transaction, one writer at a time."""
    begin_immediate(session)
    claimable = or_(
        Upload.status == "queued",
        and_(Upload.status == "processing", Upload.lease_until < now),
    )
    query = select(Upload).where(claimable).order_by(Upload.created_at, Upload.id).limit(1)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    upload = session.scalar(query)
    if upload is None:
        return None
    upload.status = "processing"
    upload.attempts += 1
    upload.lease_until = now + lease
    upload.started_at = now
    session.flush()
    return upload


def hold(session: Session, *, upload_id: str, attempt: int) -> Upload | None:
    """Locks the claimed upload for the transaction that finishes it, and returns it only if
    this worker's claim (its attempt number) is still the current one."""
    begin_immediate(session)
    query = select(Upload).where(
        Upload.id == upload_id, Upload.status == "processing", Upload.attempts == attempt
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    return session.scalar(query)


def extend_lease(session: Session, *, upload_id: str, attempt: int, until: datetime) -> bool:
    """Pushes the lease of this worker's claim to ``until``; False if the claim is gone."""
    result = session.execute(
        update(Upload)
        .where(Upload.id == upload_id, Upload.status == "processing", Upload.attempts == attempt)
        .values(lease_until=until)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


#: warnings kept per upload; a Takeout of thousands of unread files is summed up in one more
MAX_WARNINGS = 200


def finish(
    upload: Upload,
    *,
    now: datetime,
    nights_added: int | None = None,
    phq9_added: int | None = None,
    warnings: list[ReadWarning] | None = None,
) -> None:
    upload.status = "done"
    upload.nights_added = nights_added
    upload.phq9_added = phq9_added
    upload.error = None
    upload.warnings = _kept(warnings or [])
    upload.lease_until = None
    upload.finished_at = now


def fail(
    upload: Upload, *, now: datetime, message: str, warnings: list[ReadWarning] | None = None
) -> None:
    upload.status = "failed"
    upload.error = message
    upload.warnings = _kept(warnings or [])
    upload.lease_until = None
    upload.finished_at = now


def _kept(warnings: list[ReadWarning]) -> list[dict[str, Any]]:
    kept = [w.as_dict() for w in warnings[:MAX_WARNINGS]]
    if len(warnings) > MAX_WARNINGS:
        rest = warnings[MAX_WARNINGS:]
        kept.append(
            ReadWarning(
                "more", f"{len(rest)} more", f"{len(rest)} more files or record groups left out"
            ).as_dict()
        )
    return kept


def release(upload: Upload) -> None:
    """Puts a claimed upload back in the queue (after an unexpected, possibly passing error)."""
    upload.status = "queued"
    upload.lease_until = None
