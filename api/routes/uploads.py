"""The status of an upload: queued, processing, done (nights added) or failed (the message)."""

from __future__ import annotations

from fastapi import APIRouter

from api.auth import CareReader
from api.routes.schemas import UploadOut
from api.services.uploads import get_upload

router = APIRouter(prefix="/v1/uploads", tags=["uploads"])


@router.get("/{upload_id}", response_model=UploadOut, summary="Where an upload stands")
def read_upload(upload_id: str, ctx: CareReader) -> UploadOut:
    upload = get_upload(ctx.session, principal=ctx.principal, upload_id=upload_id)
    ctx.audit.patient_id = upload.patient_id
    return UploadOut.of(upload)
