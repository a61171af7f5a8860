"""The inbox and the alert page: active alerts of the coordinator's teams, most urgent first,
and one alert with its evidence, history and the three things a coordinator does with it.

Each route calls the same service as its API twin and is audited under the twin's action
name (``name=``); the route paths are not part of the OpenAPI schema."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.alert_shape import alert_shape
from api.routes.schemas import Id
from api.services import alert_inbox, alerts
from api.services.calendar_notes import visible_calendar_notes
from api.services.errors import InvalidInput
from api.store import CareTeam, Membership, Phq9Entry, SignalRecord
from api.store.alerts import Alert
from api.web.context import Page, PageDep
from api.web.render import is_htmx, render
from detect.signals import KINDS, SEVERITIES

router = APIRouter(prefix="/inbox", include_in_schema=False)

STATUSES = ("active", "open", "acknowledged", "resolved")
PAGE_SIZE = 100


@router.get("", name="list_alerts", response_class=HTMLResponse)
def inbox(
    request: Request,
    page: PageDep,
    status: str = "active",
    kind: str = "",
    team: str = "",
    mine: str = "",
    cursor: str = "",
) -> HTMLResponse:
    ctx = page.ctx
    if status not in STATUSES:
        raise InvalidInput(f"status must be one of {list(STATUSES)}", field="status")
    filters = alerts.AlertFilter(
        status=status,
        kind=kind or None,
        team_id=int(team) if _small_number(team) else None,
        assignee=ctx.principal.user_id if mine else None,
    )
    offset = int(cursor) if _small_number(cursor) else None
    rows, next_cursor = alerts.list_alerts(
        ctx.session,
        principal=ctx.principal,
        filters=filters,
        limit=PAGE_SIZE,
        after_id=offset,
        sort="urgency",
    )
    counts = alert_inbox.count_alerts(ctx.session, principal=ctx.principal, filters=filters)
    names = alert_inbox.user_names(
        ctx.session, {r.assignee_user_id for r in rows if r.assignee_user_id}
    )
    teams = _teams(ctx.session, ctx.principal.user_id)
    context: dict[str, Any] = {
        "page": page,
        "rows": [alert_shape(row) for row in rows],
        # a shift most of a team showed at once: told once here, alerting no patient
        "calendar_notes": visible_calendar_notes(
            ctx.session, principal=ctx.principal, today=ctx.now.date()
        ),
        "team_names": dict(teams),
        "names": names,
        "counts": counts["by_severity"],
        "total": sum(counts["by_severity"].values()),
        "next_cursor": next_cursor,
        "query": {"status": status, "kind": kind, "team": team, "mine": mine},
        "teams": teams,
        "kinds": KINDS,
        "severities": SEVERITIES,
        "statuses": STATUSES,
        "now": ctx.now,
        "back": str(request.url.path) + (f"?{request.url.query}" if request.url.query else ""),
    }
    if is_htmx(request) and request.headers.get("HX-Target") == "inbox-results":
        return render("_inbox_results.html", **context)
    return render("inbox.html", **context)


@router.get("/alerts/{alert_id}", name="read_alert", response_class=HTMLResponse)
def alert_page(alert_id: Id, page: PageDep, done: str = "") -> HTMLResponse:
    ctx = page.ctx
    alert = alerts.get_alert(ctx.session, principal=ctx.principal, alert_id=alert_id)
    ctx.audit.patient_id = alert.patient_id
    user_ids = {int(e.actor[5:]) for e in alert.events if e.actor.startswith("user:")}
    if alert.assignee_user_id:
        user_ids.add(alert.assignee_user_id)
    firings = ctx.session.scalars(
        select(SignalRecord.fired_on)
        .where(SignalRecord.alert_id == alert.id)
        .order_by(SignalRecord.fired_on)
    ).all()
    return render(
        "alert.html",
        page=page,
        alert=alert,
        changes=alert.evidence.get("changes", []),
        names=alert_inbox.user_names(ctx.session, user_ids),
        firings=sorted(set(firings)),
        answers=_safety_answers(ctx.session, alert) if alert.kind == "phq9_safety" else [],
        now=ctx.now,
        done=done,
    )


@router.post("/alerts/{alert_id}/acknowledge", name="acknowledge_alert")
def acknowledge(alert_id: Id, request: Request, page: PageDep) -> Response:
    ctx = page.ctx
    note = page.form.get("note", "").strip() or None
    alert = alerts.acknowledge(
        ctx.work, alert_id=alert_id, principal=ctx.principal, now=ctx.now, note=note
    )
    return _after(request, page, alert, "acknowledged")


@router.post("/alerts/{alert_id}/assign", name="assign_alert")
def assign(alert_id: Id, request: Request, page: PageDep) -> Response:
    ctx = page.ctx
    alert = alert_inbox.assign(ctx.session, alert_id=alert_id, principal=ctx.principal, now=ctx.now)
    return _after(request, page, alert, "assigned")


@router.post("/alerts/{alert_id}/unassign", name="unassign_alert")
def unassign(alert_id: Id, request: Request, page: PageDep) -> Response:
    ctx = page.ctx
    alert = alert_inbox.unassign(
        ctx.session, alert_id=alert_id, principal=ctx.principal, now=ctx.now
    )
    return _after(request, page, alert, "unassigned")


@router.post("/alerts/{alert_id}/resolve", name="resolve_alert")
def resolve(alert_id: Id, request: Request, page: PageDep) -> Response:
    ctx = page.ctx
    alert = alerts.resolve(
        ctx.work,
        alert_id=alert_id,
        principal=ctx.principal,
        now=ctx.now,
        note=page.form.get("note", ""),
    )
    return _after(request, page, alert, "resolved")


def _after(request: Request, page: Page, alert: Alert, done: str) -> Response:
    """An inbox row after an in-place change (htmx), else back to where the form was."""
    page.ctx.audit.patient_id = alert.patient_id
    if is_htmx(request):
        names = alert_inbox.user_names(
            page.ctx.session, {alert.assignee_user_id} if alert.assignee_user_id else set()
        )
        return render(
            "_alert_row.html",
            page=page,
            row=alert_shape(alert),
            names=names,
            now=page.ctx.now,
            back=page.form.get("back", "/inbox"),
        )
    back = page.form.get("back", "")
    if not back.startswith("/inbox") or back.startswith("//"):
        back = f"/inbox/alerts/{alert.id}?done={done}"
    return RedirectResponse(back, status_code=303)


def _small_number(text: str) -> bool:
    """Digits that fit the database's 64-bit integers (a larger number names nothing)."""
    return text.isdigit() and len(text) <= 18


def _teams(session: Session, user_id: int | None) -> list[tuple[int, str]]:
    rows = session.execute(
        select(CareTeam.id, CareTeam.name)
        .join(Membership, Membership.team_id == CareTeam.id)
        .where(Membership.user_id == user_id)
        .order_by(CareTeam.name)
    )
    return [(team_id, name) for team_id, name in rows]


def _safety_answers(session: Session, alert: Alert) -> list[Phq9Entry]:
    """The PHQ-9 answers with item 9 above zero that this safety alert fired on (each firing's
    answer day, a day either side for the patient's time zone)."""
    days = set(
        session.scalars(select(SignalRecord.window_start).where(SignalRecord.alert_id == alert.id))
    ) | {alert.window_start}
    first, last = min(days) - timedelta(days=1), max(days) + timedelta(days=2)
    found = session.scalars(
        select(Phq9Entry)
        .where(
            Phq9Entry.patient_id == alert.patient_id,
            Phq9Entry.item_9 > 0,
            Phq9Entry.answered_at >= _midnight(first),
            Phq9Entry.answered_at < _midnight(last),
        )
        .order_by(Phq9Entry.answered_at.desc())
    ).all()
    return [
        entry
        for entry in found
        if any(abs((entry.answered_at.date() - on).days) <= 1 for on in days)
    ]


def _midnight(on: date) -> datetime:
    return datetime.combine(on, time(), tzinfo=UTC)
