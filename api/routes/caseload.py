"""A coordinator's patient list: every patient of their teams, with last data, coverage, the
latest PHQ-9 and open alerts."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from api.auth import Coordinator
from api.routes.schemas import PatientSummaryOut
from api.services.caseload import caseload

router = APIRouter(prefix="/v1/patients", tags=["patients"])

Sort = Literal["urgency", "patient", "last_data", "coverage", "phq9"]


@router.get("", response_model=list[PatientSummaryOut], summary="Your teams' patients")
def list_patients(
    ctx: Coordinator,
    sort: Annotated[
        Sort,
        Query(
            description="urgency: most severe active alert first; last_data: oldest data "
            "first; coverage: lowest first; phq9: highest latest total first; patient: by id"
        ),
    ] = "urgency",
) -> list[PatientSummaryOut]:
    rows = caseload(ctx.session, principal=ctx.principal, today=ctx.now.date(), sort=sort)
    return [PatientSummaryOut(**row.as_dict()) for row in rows]
