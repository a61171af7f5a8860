"""Patient-scoped routes: uploads, PHQ-9, nights and the timeline.

Every route first checks that the caller may see the patient (404 alike for absent and not
yours) before it reads a byte of the body."""

from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path
from typing import Annotated

import polars as pl
from fastapi import APIRouter, Header, Query, Request, Response, status
from fastapi.concurrency import run_in_threadpool

import ingest
from api.auth import CareReader, Context
from api.problems import PayloadTooLarge
from api.routes.schemas import (
    PHQ9_JSON_SCHEMA,
    Day,
    Line,
    NightOut,
    Phq9EntryOut,
    Phq9Received,
    Timeline,
    UploadOut,
)
from api.services import uploads
from api.services.errors import InvalidInput
from api.services.nights import load_nights
from api.services.phq9 import load_phq9
from api.services.phq9_submissions import Receipt, submit_answers
from api.services.timeline import timeline
from ingest.errors import UnknownFormatError
from ingest.schema import PHQ9_ITEMS

router = APIRouter(prefix="/v1/patients/{patient_id}", tags=["patients"])

PHQ9_MAX_BYTES = 1024 * 1024
CHUNK = 1024 * 1024


@router.post(
    "/uploads",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=UploadOut,
    summary="Upload an export (raw body: any file or zip phenowatch reads)",
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": "The export's bytes: Apple Health export.zip or export.xml, a "
            "Fitbit/Google Takeout zip or file, an Oura or Garmin export, or a PHQ-9 file.",
            "content": {
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
            },
        }
    },
)
async def create_upload(
    patient_id: str,
    request: Request,
    response: Response,
    ctx: CareReader,
    filename: Annotated[Line, Query(max_length=255)] = "upload",
    idempotency_key: Annotated[Line | None, Header(max_length=200)] = None,
) -> UploadOut:
    await run_in_threadpool(ctx.patient, patient_id)
    received = await _spool(request, ctx.settings.spool_dir, ctx.settings.upload_max_bytes)
    received = uploads.Received(
        path=received.path,
        sha256=received.sha256,
        size=received.size,
        filename=Path(filename).name or "upload",
        content_type=request.headers.get("content-type"),
    )
    upload, created = await run_in_threadpool(
        uploads.create_upload,
        ctx.session,
        patient_id=patient_id,
        received=received,
        now=ctx.now,
        idempotency_key=idempotency_key,
    )
    if not created:
        received.path.unlink(missing_ok=True)
    wakeup = getattr(request.app.state, "worker_wakeup", None)
    if wakeup is not None and created:
        wakeup.set()
    response.headers["Location"] = f"/v1/uploads/{upload.id}"
    return UploadOut.of(upload, duplicate=not created)


@router.post(
    "/phq9",
    status_code=status.HTTP_201_CREATED,
    response_model=Phq9Received,
    response_model_exclude_unset=True,
    summary="Submit PHQ-9 answers",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": PHQ9_JSON_SCHEMA,
                    "example": {
                        "answered_at": "2026-03-02T08:30:00+01:00",
                        "items": [1, 2, 1, 2, 0, 1, 1, 0, 0],
                        "difficulty": 1,
                    },
                },
                "application/fhir+json": {
                    "schema": {"type": "object", "description": "a QuestionnaireResponse"}
                },
                "text/csv": {"schema": {"type": "string"}},
            },
        }
    },
)
async def create_phq9(
    patient_id: str,
    request: Request,
    response: Response,
    ctx: CareReader,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> Phq9Received:
    """JSON, CSV or a FHIR R4 QuestionnaireResponse; invalid answers are refused whole (422).
    Every answer with item 9 above zero shows the safety message and tells the care team (a
    firing of the urgent safety alert, whose notification starts before the response), also
    while an earlier safety alert is open. An answer time stored with other answers is a 409;
    the same answers sent again (or the same ``Idempotency-Key``) get the first response, with
    the header ``Idempotent-Replayed: true``."""
    await run_in_threadpool(ctx.patient, patient_id)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > PHQ9_MAX_BYTES:
            raise PayloadTooLarge(PHQ9_MAX_BYTES)
    receipt = await run_in_threadpool(
        _submit, ctx, patient_id, bytes(body), request, idempotency_key
    )
    if receipt.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return Phq9Received.model_validate(receipt.shown_to(ctx.principal.role))


def _submit(
    ctx: Context, patient_id: str, body: bytes, request: Request, idempotency_key: str | None
) -> Receipt:
    content_type = request.headers.get("content-type", "")
    display = "phq9.csv" if "csv" in content_type else "phq9.json"
    if not body.strip():
        raise InvalidInput("the request body is empty", field="body")
    try:
        loaded = ingest.load(body, patient_id=patient_id, display=display)
    except UnknownFormatError as error:
        raise InvalidInput(
            f"{display}: not a PHQ-9 submission (JSON, CSV or FHIR QuestionnaireResponse)",
            field="body",
        ) from error
    except OverflowError as error:  # a time such as year 1 at +01:00 has no UTC date
        raise InvalidInput(
            f"{display}: answered_at is out of the range of dates", field="answered_at"
        ) from error
    if loaded.phq9.height == 0 or loaded.samples.height:
        raise InvalidInput(f"{display}: not a PHQ-9 submission", field="body")
    if loaded.phq9["answered_at"].null_count():
        raise InvalidInput(f"{display}: every answer needs its answered_at", field="answered_at")
    if loaded.phq9["total"].null_count():
        row = loaded.phq9.filter(pl.col("total").is_null()).row(0, named=True)
        missing = [item for item in PHQ9_ITEMS[:8] if row[item] is None]
        raise InvalidInput(
            f"{display}: unanswered {', '.join(missing)} and no total: every item is needed",
            field=missing[0] if missing else "total",
        )
    return submit_answers(
        ctx.work,
        patient_id=patient_id,
        entries=loaded.phq9,
        now=ctx.now,
        idempotency_key=idempotency_key,
    )


@router.get("/phq9", response_model=list[Phq9EntryOut], summary="PHQ-9 entries of the patient")
def list_phq9(patient_id: str, ctx: CareReader) -> list[dict[str, object]]:
    ctx.patient(patient_id)
    return load_phq9(ctx.session, patient_ids=[patient_id]).drop("patient_id").to_dicts()


@router.get(
    "/nights",
    response_model=list[NightOut],
    summary="The patient's nights (one row per local date)",
)
def list_nights(
    patient_id: str,
    ctx: CareReader,
    start: Day | None = None,
    end: Day | None = None,
) -> list[dict[str, object]]:
    ctx.patient(patient_id)
    frame = load_nights(ctx.session, patient_ids=[patient_id], start=start, end=end)
    return frame.drop("patient_id").to_dicts()


@router.get(
    "/timeline",
    response_model=Timeline,
    response_model_exclude_unset=True,
    summary="Nights, change points, PHQ-9 and alerts together",
)
def get_timeline(
    patient_id: str,
    ctx: CareReader,
    start: Day | None = None,
    end: Day | None = None,
) -> dict[str, object]:
    ctx.patient(patient_id)
    return timeline(
        ctx.session,
        patient_id=patient_id,
        start=start,
        end=end,
        include_alerts=ctx.principal.role == "coordinator",
    )


async def _spool(request: Request, spool_dir: Path, limit: int) -> uploads.Received:
    """Streams the body to a file in the spool folder, counting bytes as they arrive."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(limit)
    spool_dir = spool_dir.resolve()  # workers elsewhere find the file whatever their cwd
    spool_dir.mkdir(parents=True, exist_ok=True)
    partial = spool_dir / f"{uuid.uuid4()}.part"
    digest = hashlib.sha256()
    size = 0
    try:
        with partial.open("wb") as out:
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise PayloadTooLarge(limit)
                digest.update(chunk)
                await run_in_threadpool(out.write, chunk)
        if size == 0:
            raise InvalidInput(
                "the request body is empty: send the export as the body", field="body"
            )
        final = partial.with_suffix(".upload")
        os.replace(partial, final)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return uploads.Received(path=final, sha256=digest.hexdigest(), size=size, filename="upload")
