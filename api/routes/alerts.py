"""Coordinators' alert routes: list (newest or most urgent first), count, read with evidence and
history, acknowledge, assign, resolve."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool

from api.alert_shape import alert_shape
from api.auth import Context, Coordinator
from api.routes.schemas import (
    AlertCounts,
    AlertDetail,
    AlertOut,
    AlertPage,
    Assignee,
    Day,
    Id,
    Line,
    Note,
    RequiredNote,
)
from api.services import alert_inbox, alerts
from api.store import Alert
from detect.signals import Kind, Severity

#: a cursor this API gives out: ASCII digits (an alert id, or with sort=urgency a position)
CURSOR = r"^[0-9]{1,18}$"
#: ``active``: open or acknowledged, what an inbox shows
StatusFilter = Literal["open", "acknowledged", "resolved", "active"]
Sort = Literal["newest", "urgency"]
AssigneeFilter = Annotated[
    str | None,
    Query(
        pattern=r"^(me|none|[1-9][0-9]{0,17})$",
        description="me, none (nobody's), or a coordinator's user id",
    ),
]
PatientFilter = Annotated[Line | None, Query(max_length=64)]

router = APIRouter(prefix="/v1/alerts", tags=["alerts"])


@router.get("", response_model=AlertPage, summary="Alerts of your teams' patients")
async def list_alerts(
    ctx: Coordinator,
    status: StatusFilter | None = None,
    severity: Severity | None = None,
    kind: Kind | None = None,
    patient_id: PatientFilter = None,
    fired_from: Day | None = None,
    fired_to: Day | None = None,
    team_id: Id | None = None,
    assignee: AssigneeFilter = None,
    sort: Annotated[
        Sort,
        Query(
            description="newest: newest first; urgency: severity, then not yet acknowledged, "
            "then the longest waiting"
        ),
    ] = "newest",
    limit: Annotated[int, Query(ge=1, le=alerts.MAX_PAGE)] = 50,
    cursor: Annotated[str | None, Query(pattern=CURSOR, description="next_cursor")] = None,
) -> AlertPage:
    filters = _filters(
        ctx, status, severity, kind, patient_id, fired_from, fired_to, team_id, assignee
    )
    # async, with the query alone in the thread pool: a sync route also sends its answer there
    # to be validated, one more hand-off between threads on the busiest route
    page, next_cursor = await run_in_threadpool(
        alerts.list_alerts,
        ctx.session,
        principal=ctx.principal,
        filters=filters,
        limit=limit,
        after_id=int(cursor) if cursor else None,
        sort=sort,
    )
    ctx.audit.patient_id = patient_id
    ctx.audit.patient_ids.update(row.patient_id for row in page)
    return AlertPage(
        items=[AlertOut(**alert_shape(row)) for row in page],
        next_cursor=str(next_cursor) if next_cursor is not None else None,
    )


@router.get("/counts", response_model=AlertCounts, summary="How many alerts, by severity/status")
def count_alerts(
    ctx: Coordinator,
    status: StatusFilter | None = None,
    kind: Kind | None = None,
    patient_id: PatientFilter = None,
    team_id: Id | None = None,
    assignee: AssigneeFilter = None,
) -> AlertCounts:
    """Counts of the alerts the same filters would list (every severity and status named)."""
    filters = _filters(ctx, status, None, kind, patient_id, None, None, team_id, assignee)
    ctx.audit.patient_id = patient_id
    return AlertCounts(
        **alert_inbox.count_alerts(ctx.session, principal=ctx.principal, filters=filters)
    )


def _filters(
    ctx: Context,
    status: str | None,
    severity: str | None,
    kind: str | None,
    patient_id: str | None,
    fired_from: date | None,
    fired_to: date | None,
    team_id: int | None,
    assignee: str | None,
) -> alerts.AlertFilter:
    return alerts.AlertFilter(
        status, severity, kind, patient_id, fired_from, fired_to, team_id, _assignee(ctx, assignee)
    )


def _assignee(ctx: Context, value: str | None) -> int | None:
    if value is None:
        return None
    if value == "me":
        return ctx.principal.user_id or alerts.UNASSIGNED
    if value == "none":
        return alerts.UNASSIGNED
    return int(value)  # the pattern allows only a positive number else


@router.get("/{alert_id}", response_model=AlertDetail, summary="One alert, evidence and history")
def read_alert(alert_id: Id, ctx: Coordinator) -> AlertDetail:
    return _answer(ctx, alerts.get_alert(ctx.session, principal=ctx.principal, alert_id=alert_id))


@router.post("/{alert_id}/acknowledge", response_model=AlertDetail, summary="Acknowledge")
def acknowledge_alert(alert_id: Id, ctx: Coordinator, body: Note | None = None) -> AlertDetail:
    alert = alerts.acknowledge(
        ctx.work,
        alert_id=alert_id,
        principal=ctx.principal,
        now=ctx.now,
        note=body.note if body else None,
    )
    return _answer(ctx, alert, reread=True)


@router.post("/{alert_id}/resolve", response_model=AlertDetail, summary="Resolve with a note")
def resolve_alert(alert_id: Id, body: RequiredNote, ctx: Coordinator) -> AlertDetail:
    alert = alerts.resolve(
        ctx.work, alert_id=alert_id, principal=ctx.principal, now=ctx.now, note=body.note
    )
    return _answer(ctx, alert, reread=True)


def _answer(ctx: Context, alert: Alert, *, reread: bool = False) -> AlertDetail:
    """The alert as the API answers it, its patient named in the request's audit entry;
    ``reread``: read again after a change, with its history (events and their signals), in
    two queries."""
    ctx.audit.patient_id = alert.patient_id
    if reread:
        alert = alerts.get_alert(ctx.session, principal=ctx.principal, alert_id=alert.id)
    return AlertDetail.of(alert)


@router.post("/{alert_id}/assign", response_model=AlertDetail, summary="Assign to a coordinator")
def assign_alert(alert_id: Id, ctx: Coordinator, body: Assignee | None = None) -> AlertDetail:
    """To the caller when no user_id is given; the assignee must be a coordinator of the
    patient's care team."""
    alert = alert_inbox.assign(
        ctx.session,
        alert_id=alert_id,
        principal=ctx.principal,
        now=ctx.now,
        user_id=body.user_id if body else None,
    )
    return _answer(ctx, alert)


@router.post("/{alert_id}/unassign", response_model=AlertDetail, summary="Assign to nobody")
def unassign_alert(alert_id: Id, ctx: Coordinator) -> AlertDetail:
    alert = alert_inbox.unassign(
        ctx.session, alert_id=alert_id, principal=ctx.principal, now=ctx.now
    )
    return _answer(ctx, alert)
