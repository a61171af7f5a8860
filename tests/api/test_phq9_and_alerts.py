"""PHQ-9 submissions and the alert life cycle: judged at once, deduplicated while active,
acknowledged and resolved with a history, escalated when nobody answers."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from api.clock import FixedClock
from api.db import make_session_factory, transaction
from api.scheduler import Scheduler
from api.services.alerts import open_alert
from api.services.detection import run_detection
from api.services.phq9 import submit_phq9
from api.settings import Settings
from api.store import Alert, Phq9Entry
from api.unit_of_work import unit_of_work
from tests.api.conftest import World
from tests.api.serve_data import FHIR_PHQ9, FIXTURES, PHQ9_JSON, phq9_frame, signal


def _answers(answered_at: str, items: list[int]) -> bytes:
    return json.dumps({"answered_at": answered_at, "items": items}).encode()


def _alerts(engine: Engine) -> list[Alert]:
    with make_session_factory(engine)() as s:
        return list(s.scalars(select(Alert).order_by(Alert.id)))


def test_item_9_above_zero_opens_an_urgent_safety_alert_on_submission(
    client: TestClient, world: World, engine: Engine
) -> None:
    response = client.post(
        "/v1/patients/p1/phq9",
        content=_answers("2026-03-02T08:00:00+01:00", [1, 1, 1, 1, 0, 0, 0, 0, 1]),
        headers=world.auth(world.p1),
    )
    assert response.status_code == 201
    assert "emergency" in response.json()["safety"]
    [alert] = _alerts(engine)
    assert (alert.patient_id, alert.kind, alert.severity, alert.status) == (
        "p1", "phq9_safety", "urgent", "open"
    )  # fmt: skip
    listed = client.get("/v1/alerts?severity=urgent", headers=world.auth(world.coord_a)).json()
    assert [a["id"] for a in listed["items"]] == [alert.id]


@pytest.mark.parametrize("path", [PHQ9_JSON, FHIR_PHQ9], ids=["json", "fhir"])
def test_json_and_fhir_questionnaire_responses_are_accepted(
    client: TestClient, world: World, engine: Engine, path: object
) -> None:
    body = path.read_bytes()  # type: ignore[attr-defined]
    response = client.post("/v1/patients/p1/phq9", content=body, headers=world.auth(world.coord_a))
    assert response.status_code == 201, response.text
    entries = client.get("/v1/patients/p1/phq9", headers=world.auth(world.p1)).json()
    assert len(entries) == response.json()["received"] >= 1
    assert "phq9_safety" in {a["kind"] for a in response.json()["alerts"]}  # item 9 is 1 in both


@pytest.mark.parametrize(
    "bad", sorted((FIXTURES / "phq9" / "bad").glob("*.json")), ids=lambda p: p.name
)
def test_invalid_answers_are_a_422_naming_the_problem_and_nothing_is_stored(
    client: TestClient, world: World, engine: Engine, bad: object
) -> None:
    response = client.post(
        "/v1/patients/p1/phq9",
        content=bad.read_bytes(),  # type: ignore[attr-defined]
        headers=world.auth(world.p1),
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["detail"].startswith("phq9.json")
    with make_session_factory(engine)() as s:
        assert s.scalar(select(func.count()).select_from(Phq9Entry)) == 0
    assert _alerts(engine) == []


def test_a_body_that_is_not_a_phq9_is_refused(client: TestClient, world: World) -> None:
    response = client.post(
        "/v1/patients/p1/phq9", content=b'{"hello": 1}', headers=world.auth(world.p1)
    )
    assert response.status_code in (415, 422)
    assert response.headers["content-type"] == "application/problem+json"


def test_one_active_alert_per_patient_and_kind_through_its_whole_life(
    client: TestClient, world: World, engine: Engine, clock: FixedClock
) -> None:
    factory = make_session_factory(engine)
    with unit_of_work(factory, clock=clock) as work:
        first = open_alert(work, signal=signal("p1"), now=clock.now())
        again = open_alert(work, signal=signal("p1", fired_on=date(2026, 3, 2)), now=clock.now())
        other_kind = open_alert(work, signal=signal("p1", kind="data_gap"), now=clock.now())
    assert first is not None and again is None and other_kind is not None
    coord = world.auth(world.coord_a)

    detail = client.get(f"/v1/alerts/{first.id}", headers=coord).json()
    assert detail["last_fired_on"] == "2026-03-02"
    assert detail["evidence"]["changes"][0]["metric"] == "sleep_total_min"
    ack = client.post(f"/v1/alerts/{first.id}/acknowledge", json={"note": "seen"}, headers=coord)
    assert ack.json()["status"] == "acknowledged"
    with unit_of_work(
        factory, clock=clock
    ) as work:  # still active: acknowledged alerts also deduplicate
        assert open_alert(work, signal=signal("p1"), now=clock.now()) is None
    assert client.post(f"/v1/alerts/{first.id}/resolve", json={}, headers=coord).status_code == 422
    resolved = client.post(
        f"/v1/alerts/{first.id}/resolve", json={"note": "called, doing better"}, headers=coord
    ).json()
    assert resolved["status"] == "resolved"
    assert [(e["event"], e["note"]) for e in resolved["events"]] == [
        ("opened", None),
        ("refired", None),
        ("acknowledged", "seen"),
        ("resolved", "called, doing better"),
    ]
    again_ack = client.post(f"/v1/alerts/{first.id}/acknowledge", headers=coord)
    assert again_ack.status_code == 409
    with unit_of_work(factory, clock=clock) as work:  # the same evidence judged again
        assert open_alert(work, signal=signal("p1"), now=clock.now()) is None
    with unit_of_work(factory, clock=clock) as work:  # resolved: the next signal opens anew
        reopened = open_alert(work, signal=signal("p1", fired_on=date(2026, 3, 5)), now=clock.now())
    assert reopened is not None and reopened.id not in (first.id, other_kind.id)


def test_paging_through_alerts_visits_each_once(
    client: TestClient, world: World, engine: Engine, clock: FixedClock
) -> None:
    with unit_of_work(make_session_factory(engine), clock=clock) as work:
        ids = [
            open_alert(work, signal=signal(p, kind=k), now=clock.now()).id  # type: ignore[union-attr]
            for p in ("p1", "p2")
            for k in ("passive_change", "data_gap", "phq9_relapse")
        ]
    seen: list[int] = []
    cursor = None
    while True:
        query = "/v1/alerts?limit=4" + (f"&cursor={cursor}" if cursor else "")
        page = client.get(query, headers=world.auth(world.coord_a)).json()
        seen += [a["id"] for a in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(ids, reverse=True)


def test_an_unacknowledged_urgent_alert_is_escalated_once(
    engine: Engine, clock: FixedClock, settings: Settings, world: World
) -> None:
    factory = make_session_factory(engine)
    with unit_of_work(factory, clock=clock) as work:
        urgent = open_alert(work, signal=signal("p1", "phq9_safety", "urgent"), now=clock.now())
        seen = open_alert(work, signal=signal("p2", "phq9_safety", "urgent"), now=clock.now())
        moderate = open_alert(work, signal=signal("p1"), now=clock.now())
    assert urgent and seen and moderate
    scheduler = Scheduler(engine=engine, factory=factory, settings=settings, clock=clock)
    clock.advance(timedelta(minutes=settings.escalate_after_minutes - 1))
    assert scheduler.escalate() == 0
    with unit_of_work(factory, clock=clock) as work:
        from api.services.alerts import acknowledge
        from api.services.tokens import Principal

        acknowledge(work, alert_id=seen.id, principal=Principal(role="system"), now=clock.now())
    clock.advance(timedelta(minutes=2))
    assert scheduler.escalate() == 1
    assert scheduler.escalate() == 0
    by_id = {a.id: a for a in _alerts(engine)}
    assert by_id[urgent.id].escalated_at == clock.now()
    assert by_id[seen.id].escalated_at is None and by_id[moderate.id].escalated_at is None


def test_detection_opens_a_relapse_alert_once_however_often_it_runs(
    engine: Engine, clock: FixedClock, world: World
) -> None:
    factory = make_session_factory(engine)
    day = date(2026, 3, 2)
    with unit_of_work(factory, clock=clock) as work:
        for when in (datetime(2026, 1, 5, tzinfo=UTC), datetime(2026, 2, 2, tzinfo=UTC)):
            remission = phq9_frame("p1", when, [0, 0, 1, 1, 0, 0, 0, 0, 0])
            submit_phq9(work, patient_id="p1", entries=remission, actor="test", now=clock.now())
    with unit_of_work(factory, clock=clock) as work:
        relapse = phq9_frame("p1", datetime(2026, 3, 2, 8, tzinfo=UTC), [2, 2, 2, 1, 1, 1, 1, 1, 0])
        opened_now = submit_phq9(
            work, patient_id="p1", entries=relapse, actor="test", now=clock.now()
        )
    with unit_of_work(factory, clock=clock) as work:
        first = run_detection(work, day=day, now=clock.now())
    with unit_of_work(factory, clock=clock) as work:
        second = run_detection(work, day=day, now=clock.now())
    kinds = [a.kind for a in _alerts(engine)]
    assert "phq9_relapse" in [a.kind for a in opened_now] + [a.kind for a in first]
    assert second == []
    assert kinds.count("phq9_relapse") == 1


def test_the_safety_alert_reaches_the_teams_webhook_before_the_submission_returns(
    client: TestClient, world: World, engine: Engine, clock: FixedClock
) -> None:
    from api.store.webhooks import EVENT_TYPES, WebhookEndpoint
    from api.webhooks.signing import generate_secret
    from tests.api.webhook_receiver import WebhookReceiver

    receiver = WebhookReceiver().start()
    try:
        secret = generate_secret()
        receiver.secrets["/hook"] = secret
        with transaction(make_session_factory(engine)) as s:
            s.add(
                WebhookEndpoint(
                    team_id=world.team_a,
                    url=receiver.url(),
                    secret=secret,
                    event_types=list(EVENT_TYPES),
                    description="on-call",
                    active=True,
                    created_at=clock.now(),
                )
            )
        response = client.post(
            "/v1/patients/p1/phq9",
            content=_answers("2026-03-02T08:00:00Z", [0, 0, 0, 0, 0, 0, 0, 0, 2]),
            headers=world.auth(world.p1),
        )
        arrived = list(receiver.received)  # no waiting: it must already be there
    finally:
        receiver.stop()
    assert response.status_code == 201
    assert [(r.payload["type"], r.payload["data"]["kind"]) for r in arrived] == [
        ("alert.opened", "phq9_safety")
    ]


def test_a_worse_signal_raises_the_active_alert_instead_of_opening_another(
    client: TestClient, world: World, engine: Engine, clock: FixedClock
) -> None:
    with unit_of_work(make_session_factory(engine), clock=clock) as work:
        alert = open_alert(work, signal=signal("p1", severity="moderate"), now=clock.now())
        assert open_alert(work, signal=signal("p1", severity="high"), now=clock.now()) is None
        assert open_alert(work, signal=signal("p1", severity="moderate"), now=clock.now()) is None
    assert alert is not None
    detail = client.get(f"/v1/alerts/{alert.id}", headers=world.auth(world.coord_a)).json()
    assert detail["severity"] == "high"
    assert [(e["event"], e["note"]) for e in detail["events"]] == [
        ("opened", None),
        ("refired", "severity raised from moderate to high"),
    ]


def test_a_csv_of_answers_is_accepted_and_stored_once(
    client: TestClient, world: World, engine: Engine
) -> None:
    body = (FIXTURES / "phq9" / "entries.csv").read_bytes()
    headers = world.auth(world.p1) | {"Content-Type": "text/csv"}
    first = client.post("/v1/patients/p1/phq9", content=body, headers=headers)
    again = client.post("/v1/patients/p1/phq9", content=body, headers=headers)
    assert (first.status_code, again.status_code) == (201, 201)
    stored = client.get("/v1/patients/p1/phq9", headers=world.auth(world.p1)).json()
    assert [e["total"] for e in stored] == [2, 6, 17]
