"""Coordinators' alert routes: list, read with evidence and history, acknowledge, resolve."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool

from api.auth import Coordinator
from api.routes.schemas import AlertDetail, AlertOut, AlertPage, Note, RequiredNote
from api.services import alerts
from api.services.errors import InvalidInput

router = APIRouter(prefix="/v1/alerts", tags=["alerts"])


@router.get("", response_model=AlertPage, summary="Alerts of your teams' patients")
async def list_alerts(
    ctx: Coordinator,
    status: str | None = None,
    severity: str | None = None,
    kind: str | None = None,
    patient_id: str | None = None,
    fired_from: date | None = None,
    fired_to: date | None = None,
    limit: Annotated[int, Query(ge=1, le=alerts.MAX_PAGE)] = 50,
    cursor: str | None = None,
) -> AlertPage:
    if cursor is not None and not cursor.isdigit():
        raise InvalidInput("not a cursor this API gave out", field="cursor")
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
    return AlertPage(
        items=[AlertOut.model_validate(row, from_attributes=True) for row in page],
        next_cursor=str(next_id) if next_id is not None else None,
    )


@router.get("/{alert_id}", response_model=AlertDetail, summary="One alert, evidence and history")
def read_alert(alert_id: int, ctx: Coordinator) -> AlertDetail:
    alert = alerts.get_alert(ctx.session, principal=ctx.principal, alert_id=alert_id)
    ctx.audit.patient_id = alert.patient_id
    return AlertDetail.of(alert)


@router.post("/{alert_id}/acknowledge", response_model=AlertDetail, summary="Acknowledge")
def acknowledge_alert(alert_id: int, ctx: Coordinator, body: Note | None = None) -> AlertDetail:
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
def resolve_alert(alert_id: int, body: RequiredNote, ctx: Coordinator) -> AlertDetail:
    alert = alerts.resolve(
        ctx.work, alert_id=alert_id, principal=ctx.principal, now=ctx.now, note=body.note
    )
    ctx.audit.patient_id = alert.patient_id
    return AlertDetail.of(alert)
