"""My patients and one patient's page: the caseload table, and the timeline drawn by the same
figure code as the replay report (api/report), with coverage and the last upload."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl
from fastapi import APIRouter
from fastapi.responses import HTMLResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.alert_shape import alert_shape
from api.report.model import ALERTS, CHANGE_POINTS, ReportData, empty
from api.report.series import patient_series
from api.report.timeline import legend_html, timeline_svg
from api.services.alerts import alerts_of
from api.services.caseload import SORTS, caseload, coverage_by_metric
from api.services.errors import InvalidInput
from api.services.nights import load_nights
from api.services.phq9 import load_phq9
from api.store import Alert, Upload
from api.web.context import PageDep
from api.web.render import render
from detect import DEFAULT, change_points
from detect.phq9_rules import answered_on

router = APIRouter(prefix="/inbox/patients", include_in_schema=False)

#: how far back the patient page's timeline reaches, by choice
SPANS = {"90": 90, "180": 180, "365": 365}


@router.get("", name="list_patients", response_class=HTMLResponse)
def my_patients(page: PageDep, sort: str = "urgency") -> HTMLResponse:
    ctx = page.ctx
    rows = caseload(ctx.session, principal=ctx.principal, today=ctx.now.date(), sort=sort)
    return render("patients.html", page=page, rows=rows, sort=sort, sorts=SORTS, now=ctx.now)


@router.get("/{patient_id}", name="get_timeline", response_class=HTMLResponse)
def patient_page(patient_id: str, page: PageDep, days: str = "180") -> HTMLResponse:
    ctx = page.ctx
    if days not in SPANS:
        raise InvalidInput(f"days must be one of {list(SPANS)}", field="days")
    patient = ctx.patient(patient_id)
    today = ctx.now.date()
    start = today - timedelta(days=SPANS[days] - 1)
    stored = alerts_of(ctx.session, patient_id=patient_id)
    figure = timeline_figure(ctx.session, patient_id=patient_id, start=start, alerts=stored)
    last_upload = ctx.session.scalar(
        select(Upload)
        .where(Upload.patient_id == patient_id)
        .order_by(Upload.created_at.desc())
        .limit(1)
    )
    summary = next(
        (
            row
            for row in caseload(ctx.session, principal=ctx.principal, today=today)
            if row.patient_id == patient_id
        ),
        None,
    )
    return render(
        "patient.html",
        page=page,
        patient=patient,
        summary=summary,
        figure=figure,
        legend=legend_html(),
        coverage={
            span: coverage_by_metric(ctx.session, patient_id=patient_id, today=today, days=span)
            for span in (30, 90)
        },
        last_upload=last_upload,
        alerts=sorted(stored, key=lambda a: a.id, reverse=True),
        days=days,
        spans=SPANS,
        now=ctx.now,
    )


def timeline_figure(session: Session, *, patient_id: str, start: date, alerts: list[Alert]) -> str:
    """The report's timeline SVG for one stored patient from ``start`` on."""
    nights = load_nights(session, patient_ids=[patient_id], start=start)
    phq9 = load_phq9(session, patient_ids=[patient_id]).filter(answered_on() >= start)
    changes = change_points(nights, DEFAULT) if nights.height else empty(CHANGE_POINTS)
    shown = [a for a in alerts if a.fired_on >= start]
    rows = [tuple(alert_shape(a, fields=tuple(ALERTS)).values()) for a in shown]
    frame = pl.DataFrame(rows, schema=ALERTS, orient="row")
    data = ReportData(
        nights=nights, phq9=phq9, alerts=frame, change_points=changes.select(list(CHANGE_POINTS))
    )
    return timeline_svg(patient_series(data, patient_id))
