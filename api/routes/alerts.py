"""Coordinators' alert routes: list, read with evidence and history, acknowledge, resolve."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool

from api.alert_shape import alert_shape
from api.auth import Coordinator
from api.routes.schemas import (
    AlertDetail,
    AlertOut,
    AlertPage,
    AlertStatus,
    Day,
    Id,
    Line,
    Note,
    RequiredNote,
)
from api.services import alerts
from detect.signals import Kind, Severity

#: a cursor this API gives out: an alert id in ASCII digits
CURSOR = r"^[0-9]{1,18}$"

router = APIRouter(prefix="/v1/alerts", tags=["alerts"])


@router.get("", response_model=AlertPage, summary="Alerts of your teams' patients")
async def list_alerts(
    ctx: Coordinator,
    status: AlertStatus | None = None,
    severity: Severity | None = None,
    kind: Kind | None = None,
    patient_id: Annotated[Line | None, Query(max_length=64)] = None,
    fired_from: Day | None = None,
    fired_to: Day | None = None,
    limit: Annotated[int, Query(ge=1, le=alerts.MAX_PAGE)] = 50,
    cursor: Annotated[str | None, Query(pattern=CURSOR, description="next_cursor")] = None,
) -> AlertPage:
    # async, with the query alone in the thread pool: a sync route also sends its answer there
    # to be validated, one more hand-off between threads on the busiest route
    page, next_id = await run_in_threadpool(
        alerts.list_alerts,
        ctx.session,
        principal=ctx.principal,
        filters=alerts.AlertFilter(status, severity, kind, patient_id, fired_from, fired_to),
        limit=limit,
        after_id=int(cursor) if cursor else None,
    )
    ctx.audit.patient_id = patient_id
    ctx.audit.patient_ids.update(row.patient_id for row in page)
    return AlertPage(
        items=[AlertOut(**alert_shape(row)) for row in page],
        next_cursor=str(next_id) if next_id is not None else None,
    )


@router.get("/{alert_id}", response_model=AlertDetail, summary="One alert, evidence and history")
def read_alert(alert_id: Id, ctx: Coordinator) -> AlertDetail:
    alert = alerts.get_alert(ctx.session, principal=ctx.principal, alert_id=alert_id)
    ctx.audit.patient_id = alert.patient_id
    return AlertDetail.of(alert)


@router.post("/{alert_id}/acknowledge", response_model=AlertDetail, summary="Acknowledge")
def acknowledge_alert(alert_id: Id, ctx: Coordinator, body: Note | None = None) -> AlertDetail:
    alert = alerts.acknowledge(
        ctx.work,
        alert_id=alert_id,
        principal=ctx.principal,
        now=ctx.now,
        note=body.note if body else None,
    )
    ctx.audit.patient_id = alert.patient_id
    return AlertDetail.of(alert)


@router.post("/{alert_id}/resolve", response_model=AlertDetail, summary="Resolve with a note")
def resolve_alert(alert_id: Id, body: RequiredNote, ctx: Coordinator) -> AlertDetail:
    alert = alerts.resolve(
        ctx.work, alert_id=alert_id, principal=ctx.principal, now=ctx.now, note=body.note
    )
    ctx.audit.patient_id = alert.patient_id
    return AlertDetail.of(alert)
