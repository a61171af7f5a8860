"""The coordinators' alert list: only their teams' alerts, newest first, each page once, and
every read of it in the audit log."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from api.clock import FixedClock
from api.db import make_session_factory
from api.services.alerts import open_alert, resolve
from api.services.tokens import SYSTEM
from api.store import AuditEntry
from api.unit_of_work import unit_of_work
from tests.api.conftest import World
from tests.api.serve_data import signal


def _open_interleaved(engine: Engine, clock: FixedClock) -> dict[int, tuple[str, str, str]]:
    """Alerts of p1, p3 and p2 (teams A, B, A) opened in turn; the data_gap ones resolved.
    Returns id -> (patient, kind, status)."""
    stored: dict[int, tuple[str, str, str]] = {}
    with unit_of_work(make_session_factory(engine), clock=clock) as work:
        for kind in ("passive_change", "data_gap", "phq9_relapse"):
            for patient in ("p1", "p3", "p2"):
                alert = open_alert(work, signal=signal(patient, kind=kind), now=clock.now())
                assert alert is not None
                if kind == "data_gap":
                    resolve(work, alert_id=alert.id, principal=SYSTEM, now=clock.now(), note="ok")
                stored[alert.id] = (patient, kind, alert.status)
    return stored


def _pages(client: TestClient, token: str, query: str = "") -> list[list[dict[str, object]]]:
    pages, cursor = [], None
    while True:
        url = f"/v1/alerts?limit=2{query}" + (f"&cursor={cursor}" if cursor else "")
        response = client.get(url, headers=World.auth(token))
        assert response.status_code == 200
        pages.append(response.json()["items"])
        cursor = response.json()["next_cursor"]
        if cursor is None:
            return pages


def test_a_coordinator_pages_through_exactly_their_teams_alerts_newest_first(
    client: TestClient, world: World, engine: Engine, clock: FixedClock
) -> None:
    stored = _open_interleaved(engine, clock)
    team_a = sorted((i for i, (p, _, _) in stored.items() if p in ("p1", "p2")), reverse=True)

    pages = _pages(client, world.coord_a)
    listed = [item for page in pages for item in page]
    assert [len(page) for page in pages] == [2, 2, 2]
    assert [item["id"] for item in listed] == team_a
    for item in listed:
        assert (item["patient_id"], item["kind"], item["status"]) == stored[item["id"]]  # type: ignore[index]
        assert "evidence" not in item  # the list is a summary; one alert is read for that

    open_a = [i for i in team_a if stored[i][2] == "open"]
    assert [
        item["id"] for page in _pages(client, world.coord_a, "&status=open") for item in page
    ] == open_a
    team_b = [item["id"] for page in _pages(client, world.coord_b) for item in page]
    assert team_b == sorted((i for i, (p, _, _) in stored.items() if p == "p3"), reverse=True)


def test_every_read_of_the_list_is_audited_with_the_patients_it_showed(
    client: TestClient, world: World, engine: Engine, clock: FixedClock
) -> None:
    _open_interleaved(engine, clock)
    pages = _pages(client, world.coord_a)
    client.get("/v1/alerts?patient_id=p2", headers=world.auth(world.coord_a))
    client.get("/v1/alerts", headers=world.auth(world.p1))
    client.get("/v1/alerts", headers={"Authorization": "Bearer pw_wrong"})

    with make_session_factory(engine)() as s:
        rows = s.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
    seen = [(r.actor.split(":")[0], r.action, r.patient_id, r.outcome) for r in rows]
    # an unfiltered page is recorded once for each patient it showed
    shown = [sorted({item["patient_id"] for item in page}) for page in pages]
    assert all(shown)
    assert seen == [("user", "list_alerts", p, "ok") for page in shown for p in page] + [
        ("user", "list_alerts", "p2", "ok"),
        ("patient", "list_alerts", None, "denied"),
        ("anonymous", "list_alerts", None, "unauthenticated"),
    ]
