"""What the inbox added to the alerts API, for every client: the urgency order, counts,
assignees, and a coordinator's patient list; each only ever over the caller's teams."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from api.clock import FixedClock
from api.db import make_session_factory, transaction
from api.services.alerts import acknowledge, open_alert
from api.services.nights import store_nights
from api.services.phq9 import store_phq9
from api.services.tokens import SYSTEM
from api.unit_of_work import unit_of_work
from tests.api.conftest import World
from tests.api.serve_data import nights_frame, phq9_frame, signal


def _open(engine: Engine, clock: FixedClock) -> dict[str, int]:
    """Team A: a moderate (oldest), a high, an acknowledged urgent and an urgent item-9 alert
    (newest), opened a minute apart; team B: one urgent alert."""
    ids: dict[str, int] = {}
    plan = [
        ("moderate", "p1", "passive_change", "moderate"),
        ("high", "p2", "phq9_relapse", "high"),
        ("urgent_ack", "p2", "passive_change", "urgent"),
        ("item9", "p1", "phq9_safety", "urgent"),
        ("team_b", "p3", "phq9_safety", "urgent"),
    ]
    with unit_of_work(make_session_factory(engine), clock=clock) as work:
        for name, patient, kind, severity in plan:
            clock.advance(timedelta(minutes=1))
            alert = open_alert(work, signal=signal(patient, kind, severity), now=clock.now())
            assert alert is not None
            ids[name] = alert.id
        acknowledge(work, alert_id=ids["urgent_ack"], principal=SYSTEM, now=clock.now())
    return ids


def test_alerts_sorted_by_urgency_put_the_unacknowledged_item_9_alert_first(
    client: TestClient, world: World, engine: Engine, clock: FixedClock
) -> None:
    ids = _open(engine, clock)
    auth = world.auth(world.coord_a)
    listed = client.get("/v1/alerts?sort=urgency", headers=auth).json()["items"]
    assert [a["id"] for a in listed] == [
        ids["item9"],
        ids["urgent_ack"],
        ids["high"],
        ids["moderate"],
    ]
    paged = client.get("/v1/alerts?sort=urgency&limit=3", headers=auth).json()
    rest = client.get(
        f"/v1/alerts?sort=urgency&limit=3&cursor={paged['next_cursor']}", headers=auth
    )
    assert [a["id"] for a in paged["items"] + rest.json()["items"]] == [a["id"] for a in listed]

    refused = client.get("/v1/alerts?sort=severity", headers=auth)
    assert refused.status_code == 422
    assert "sort" in refused.json()["detail"]


def test_counts_by_severity_and_status_cover_only_the_callers_teams(
    client: TestClient, world: World, engine: Engine, clock: FixedClock
) -> None:
    _open(engine, clock)
    counts = client.get("/v1/alerts/counts?status=active", headers=world.auth(world.coord_a))
    assert counts.json() == {
        "by_severity": {"urgent": 2, "high": 1, "moderate": 1, "info": 0},
        "by_status": {"open": 3, "acknowledged": 1, "resolved": 0},
    }
    other = client.get("/v1/alerts/counts", headers=world.auth(world.coord_b)).json()
    assert other["by_severity"]["urgent"] == 1 and sum(other["by_status"].values()) == 1


def test_a_coordinator_assigns_an_alert_to_themselves_and_lists_what_is_theirs(
    client: TestClient, world: World, engine: Engine, clock: FixedClock
) -> None:
    ids = _open(engine, clock)
    auth = world.auth(world.coord_a)
    assigned = client.post(f"/v1/alerts/{ids['item9']}/assign", headers=auth)
    assert assigned.status_code == 200
    me = assigned.json()["assignee_user_id"]
    assert me is not None and assigned.json()["events"][-1]["event"] == "assigned"
    mine = client.get("/v1/alerts?assignee=me", headers=auth).json()["items"]
    assert [a["id"] for a in mine] == [ids["item9"]]
    nobody = client.get("/v1/alerts?assignee=none&status=active", headers=auth).json()["items"]
    assert ids["item9"] not in [a["id"] for a in nobody] and len(nobody) == 3

    # the other team's coordinator can neither be given it nor take it
    other_user = client.post(
        f"/v1/alerts/{ids['high']}/assign", headers=auth, json={"user_id": me + 1}
    )
    assert other_user.status_code == 422
    assert (
        client.post(
            f"/v1/alerts/{ids['item9']}/assign", headers=world.auth(world.coord_b)
        ).status_code
        == 404
    )

    unassigned = client.post(f"/v1/alerts/{ids['item9']}/unassign", headers=auth)
    assert unassigned.json()["assignee_user_id"] is None
    assert client.get("/v1/alerts?assignee=me", headers=auth).json()["items"] == []


def test_the_patient_list_shows_each_patient_of_the_callers_teams_with_its_figures(
    client: TestClient, world: World, engine: Engine, clock: FixedClock
) -> None:
    ids = _open(engine, clock)
    today = clock.now().date()
    with transaction(make_session_factory(engine)) as s:
        rows = [
            {"date": today - timedelta(days=d), "sleep_total_min": 420.0, "has_sleep": True}
            for d in range(6)
        ]
        store_nights(s, patient_id="p1", nights=nights_frame("p1", rows), now=clock.now())
        answered = datetime.combine(date(2026, 2, 20), datetime.min.time(), clock.now().tzinfo)
        entries = phq9_frame("p1", answered, [1] * 8 + [2])
        store_phq9(s, patient_id="p1", entries=entries, now=clock.now())
    listed = client.get("/v1/patients", headers=world.auth(world.coord_a)).json()
    assert [p["patient_id"] for p in listed] == ["p1", "p2"]  # p1 holds the item-9 alert
    p1 = listed[0]
    assert (p1["last_night"], p1["coverage"], p1["phq9_total"], p1["phq9_item9"]) == (
        today.isoformat(),
        6 / 30,
        10,
        2,
    )
    assert (p1["active_alerts"], p1["top_severity"]) == (2, "urgent")
    assert listed[1]["last_night"] is None and listed[1]["active_alerts"] == 2
    by_id = client.get("/v1/patients?sort=patient", headers=world.auth(world.coord_b)).json()
    assert [p["patient_id"] for p in by_id] == ["p3"]
    assert (
        client.get("/v1/patients?sort=name", headers=world.auth(world.coord_a)).status_code == 422
    )
    assert client.get("/v1/patients", headers=world.auth(world.p1)).status_code == 403
    assert ids
