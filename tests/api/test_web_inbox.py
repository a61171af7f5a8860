"""The web inbox over HTTP (no browser): sign-in and its cookie, form tokens, inactivity,
the same authorisation and audit entries as the API, and docs that need no internet."""

from __future__ import annotations

import re
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from api.clock import FixedClock
from api.db import make_session_factory, transaction
from api.services.alerts import open_alert
from api.store import Alert, AuditEntry, User
from api.unit_of_work import unit_of_work
from api.web.sessions import make_sign_in_link
from tests.api.conftest import World
from tests.api.serve_data import signal

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def sign_in(client: TestClient, token: str) -> str:
    """Signs in through the form; returns the session's form token."""
    form = client.get("/inbox/sign-in")
    csrf = CSRF.search(form.text).group(1)  # type: ignore[union-attr]
    answer = client.post(
        "/inbox/sign-in", data={"csrf_token": csrf, "token": token, "next": "/inbox"},
        follow_redirects=False,
    )  # fmt: skip
    assert answer.status_code == 303, answer.text
    inbox = client.get("/inbox")
    return CSRF.search(inbox.text).group(1)  # type: ignore[union-attr]


def _alerts(engine: Engine, clock: FixedClock) -> tuple[int, int]:
    with unit_of_work(make_session_factory(engine), clock=clock) as work:
        moderate = open_alert(work, signal=signal("p2"), now=clock.now())
        item9 = open_alert(work, signal=signal("p1", "phq9_safety", "urgent"), now=clock.now())
        assert moderate is not None and item9 is not None
        return item9.id, moderate.id


def test_a_coordinator_signs_in_and_works_an_alert_with_form_tokens(
    client: TestClient, world: World, engine: Engine, clock: FixedClock
) -> None:
    item9, moderate = _alerts(engine, clock)
    assert (
        client.get("/inbox", follow_redirects=False)
        .headers["location"]
        .startswith("/inbox/sign-in?next=")
    )
    form = client.get("/inbox/sign-in")
    csrf = CSRF.search(form.text).group(1)  # type: ignore[union-attr]
    wrong = client.post("/inbox/sign-in", data={"csrf_token": csrf, "token": "pw_nope"})
    assert wrong.status_code == 401 and "not valid" in wrong.text
    patient = client.post("/inbox/sign-in", data={"csrf_token": csrf, "token": world.p1})
    assert patient.status_code == 401 and "care coordinators" in patient.text

    answer = client.post(
        "/inbox/sign-in", data={"csrf_token": csrf, "token": world.coord_a},
        follow_redirects=False,
    )  # fmt: skip
    cookie = answer.headers["set-cookie"]
    assert "phenowatch_session=" in cookie and "HttpOnly" in cookie
    assert "SameSite=lax" in cookie and "Secure" not in cookie  # plain HTTP here
    inbox = client.get("/inbox")
    first_row = inbox.text.index('id="alert-')
    assert inbox.text[first_row:].startswith(f'id="alert-{item9}"')
    assert "PHQ-9 item 9" in inbox.text and f'id="alert-{moderate}"' in inbox.text
    token = CSRF.search(inbox.text).group(1)  # type: ignore[union-attr]

    refused = client.post(f"/inbox/alerts/{item9}/acknowledge", data={"note": "no token"})
    assert refused.status_code == 403 and "expired" in refused.text
    acked = client.post(
        f"/inbox/alerts/{item9}/acknowledge", data={"csrf_token": token, "note": "calling"}
    )
    assert acked.status_code == 200 and "Alert acknowledged." in acked.text
    # the evidence in the units of the sentence, not stored minutes
    assert "Sleep per night" in acked.text and "sleep_total_min" not in acked.text
    assert all(f"<td>{text}</td>" in acked.text for text in ("7.0 h", "5.7 h", "−1.3 h (−19%)"))
    row = client.post(
        f"/inbox/alerts/{item9}/assign",
        headers={"HX-Request": "true", "X-CSRF-Token": token},
    )
    assert row.text.startswith(f'<tr id="alert-{item9}"') and "Acknowledged" in row.text
    no_note = client.post(f"/inbox/alerts/{item9}/resolve", data={"csrf_token": token})
    assert no_note.status_code == 422 and "needs a note" in no_note.text
    client.post(f"/inbox/alerts/{item9}/resolve", data={"csrf_token": token, "note": "Seen."})

    with make_session_factory(engine)() as s:
        alert = s.get(Alert, item9)
        assert alert is not None and alert.status == "resolved"
        assert [e.event for e in alert.events] == ["opened", "acknowledged", "assigned", "resolved"]
        assert alert.assignee_user_id == s.scalar(select(User.id).where(User.name == "A"))
        audit = s.execute(
            select(AuditEntry.action, AuditEntry.outcome, AuditEntry.patient_id)
            .where(AuditEntry.action.like("%_alert"))
            .order_by(AuditEntry.id)
        ).all()
        read = s.scalar(select(AuditEntry.resource).where(AuditEntry.action == "read_alert"))
    # as the API records them: a refused call before the alert is found names no patient
    assert [tuple(row) for row in audit] == [
        ("acknowledge_alert", "denied", None),
        ("acknowledge_alert", "ok", "p1"),
        ("read_alert", "ok", "p1"),
        ("assign_alert", "ok", "p1"),
        ("resolve_alert", "rejected", None),
        ("resolve_alert", "ok", "p1"),
        ("read_alert", "ok", "p1"),
    ]
    assert read == f"GET /inbox/alerts/{item9}"


def test_another_team_sees_nothing_and_a_session_ends_by_inactivity_or_sign_out(
    client: TestClient, world: World, engine: Engine, clock: FixedClock
) -> None:
    item9, _ = _alerts(engine, clock)
    token = sign_in(client, world.coord_b)
    inbox = client.get("/inbox")
    assert "alert-" not in inbox.text and "No alerts match" in inbox.text
    assert client.get(f"/inbox/alerts/{item9}").status_code == 404
    assert client.get("/inbox/patients/p1").status_code == 404
    assert client.get("/inbox/alerts/99999999999999999999").status_code == 422
    assert client.get("/inbox/patients/p%00").status_code == 404
    assert client.get("/inbox?team=99999999999999999999&cursor=x").status_code == 200
    patients = client.get("/inbox/patients").text  # random tokens on the page may hold "p1"
    assert "/inbox/patients/p1" not in patients and ">p1<" not in patients
    assert (
        client.post(f"/inbox/alerts/{item9}/assign", data={"csrf_token": token}).status_code == 404
    )

    clock.advance(timedelta(minutes=29))
    assert client.get("/inbox").status_code == 200  # each request restarts the 30 minutes
    clock.advance(timedelta(minutes=31))
    expired = client.get("/inbox", follow_redirects=False)
    assert expired.status_code == 303 and "ended=1" in expired.headers["location"]

    token = sign_in(client, world.coord_a)
    cookie = client.cookies.get("phenowatch_session")
    client.post("/inbox/sign-out", data={"csrf_token": token})
    client.cookies.set("phenowatch_session", cookie or "")
    assert client.get("/inbox", follow_redirects=False).status_code == 303


def test_a_one_time_link_signs_in_once_and_pages_draw_the_patient(
    client: TestClient, world: World, engine: Engine, clock: FixedClock
) -> None:
    _alerts(engine, clock)
    with transaction(make_session_factory(engine)) as s:
        user_id = s.scalar(select(User.id).where(User.name == "A"))
        assert user_id is not None
        link = make_sign_in_link(s, user_id=user_id, now=clock.now(), minutes=15)
    form = client.get("/inbox/sign-in")
    csrf = CSRF.search(form.text).group(1)  # type: ignore[union-attr]
    first = client.post("/inbox/sign-in", data={"csrf_token": csrf, "link": link})
    assert first.status_code == 200 and "Inbox" in first.text
    csrf = CSRF.search(client.get("/inbox/sign-in").text).group(1)  # type: ignore[union-attr]
    again = client.post("/inbox/sign-in", data={"csrf_token": csrf, "link": link})
    assert again.status_code == 401 and "used, expired or unknown" in again.text

    patient = client.get("/inbox/patients/p1")
    assert patient.status_code == 200 and 'aria-label="timeline of patient p1"' in patient.text
    assert "Data coverage" in patient.text
    listing = client.get("/inbox/patients?sort=coverage")
    assert listing.text.index(">p1<") < listing.text.index(">p2<")


def test_the_docs_and_pages_load_nothing_from_the_internet(client: TestClient) -> None:
    for path in ("/docs", "/redoc", "/inbox/sign-in"):
        page = client.get(path).text
        sources = re.findall(r'(?:src|href)="([^"]+)"', page) + re.findall(
            r"(?:url|src): *'([^']+)'", page
        )
        assert sources and all(s.startswith(("/", "#")) for s in sources), (path, sources)
        for source in sources:
            if source.startswith("/static/"):
                assert client.get(source).status_code == 200, source
    assert client.get("/", follow_redirects=False).headers["location"] == "/inbox"
    schema = client.get("/openapi.json").json()
    assert not [p for p in schema["paths"] if p.startswith(("/inbox", "/docs", "/static"))]
