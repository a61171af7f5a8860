"""Every item-9 answer reaches the patient and the care team, whatever an earlier alert's state;
a PHQ-9 sent twice is stored once and answered the same; implausible answer times are refused."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, text

from api.clock import FixedClock
from api.db import make_session_factory, transaction
from api.services.detection import run_detection
from api.services.phq9_submissions import Receipt, submit_answers
from api.store import Alert, Phq9Entry
from api.unit_of_work import UnitOfWork, unit_of_work
from ingest.load import load
from tests.api.conftest import T0, World
from tests.api.webhook_receiver import WebhookReceiver
from tests.api.webhook_world import add_endpoint


def _answers(answered_at: str, items: list[int]) -> bytes:
    return json.dumps({"answered_at": answered_at, "items": items}).encode()


SOME_DAYS = [1, 1, 1, 1, 0, 0, 0, 0, 1]
NEARLY_EVERY_DAY = [2, 2, 2, 2, 1, 1, 1, 1, 3]


@pytest.fixture
def receiver(engine: Engine, world: World) -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver().start()
    endpoint = add_endpoint(make_session_factory(engine), team_id=world.team_a, url=receiver.url())
    receiver.secrets["/hook"] = endpoint.secret
    yield receiver
    receiver.stop()


def test_a_second_item_9_answer_while_the_alert_is_acknowledged_tells_patient_and_team(
    client: TestClient, world: World, engine: Engine, receiver: WebhookReceiver
) -> None:
    patient, coord = world.auth(world.p1), world.auth(world.coord_a)
    first = client.post(
        "/v1/patients/p1/phq9", content=_answers("2026-03-01T08:00:00Z", SOME_DAYS), headers=coord
    )
    [opened] = first.json()["alerts"]
    ack = client.post(f"/v1/alerts/{opened['id']}/acknowledge", headers=coord)
    assert ack.json()["status"] == "acknowledged"

    second = client.post(
        "/v1/patients/p1/phq9",
        content=_answers("2026-03-02T08:30:00Z", NEARLY_EVERY_DAY),
        headers=patient,
    )
    assert second.status_code == 201
    assert "emergency" in second.json()["safety"]
    # the care team heard of both answers, each with its own sentence, before the responses
    sent = receiver.wait_for(3)
    assert [r.payload["type"] for r in sent] == [
        "alert.opened",
        "alert.acknowledged",
        "alert.refired",
    ]
    refired = sent[2].payload
    assert refired["data"]["alert_id"] == opened["id"]
    assert "3 of 3" in refired["firing"]["explanation"]
    assert refired["firing"]["fired_on"] == "2026-03-02"

    # one alert, one story: the alert keeps the first answer's day and sentence; the second
    # firing is an event of its history with its own
    detail = client.get(f"/v1/alerts/{opened['id']}", headers=coord).json()
    assert (detail["fired_on"], detail["last_fired_on"]) == ("2026-03-01", "2026-03-02")
    assert "1 of 3" in detail["explanation"]
    firings = [e for e in detail["events"] if e["event"] in ("opened", "refired")]
    assert [(e["event"], e["signal"]["fired_on"]) for e in firings] == [
        ("opened", "2026-03-01"),
        ("refired", "2026-03-02"),
    ]
    assert "1 of 3" in firings[0]["signal"]["explanation"]
    assert "3 of 3" in firings[1]["signal"]["explanation"]
    assert firings[1]["signal"]["metrics"] == ["phq9_item_9"]

    # detection judging the same answers again is no new firing and tells nobody again
    with transaction(make_session_factory(engine)) as s:
        run_detection(UnitOfWork(s), day=T0.date(), patient_ids=["p1"], now=T0)
    again = client.get(f"/v1/alerts/{opened['id']}", headers=coord).json()
    assert len(again["events"]) == len(detail["events"])
    assert len(receiver.received) == 3


def test_a_resubmission_with_other_answers_is_a_conflict_naming_the_stored_entry(
    client: TestClient, world: World, engine: Engine
) -> None:
    headers = world.auth(world.p1)
    low = client.post(
        "/v1/patients/p1/phq9", content=_answers("2026-03-01T08:00:00Z", [0] * 9), headers=headers
    )
    assert low.status_code == 201
    changed = client.post(
        "/v1/patients/p1/phq9",
        content=_answers("2026-03-01T08:00:00Z", NEARLY_EVERY_DAY),
        headers=headers,
    )
    assert changed.status_code == 409
    assert changed.headers["content-type"] == "application/problem+json"
    with make_session_factory(engine)() as s:
        [entry] = s.scalars(select(Phq9Entry)).all()
        assert entry.total == 0
        assert s.scalars(select(Alert)).all() == []
    assert f"entry {entry.id}" in changed.json()["detail"]
    assert "2026-03-01T08:00:00Z" in changed.json()["detail"]


def test_the_same_answers_sent_again_get_the_same_response_and_tell_nobody_twice(
    client: TestClient, world: World, engine: Engine, receiver: WebhookReceiver
) -> None:
    coord = world.auth(world.coord_a)
    body = _answers("2026-03-01T08:00:00+01:00", SOME_DAYS)
    first = client.post("/v1/patients/p1/phq9", content=body, headers=coord)
    again = client.post("/v1/patients/p1/phq9", content=body, headers=coord)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert len(receiver.wait_for(1)) == 1
    with make_session_factory(engine)() as s:
        assert len(s.scalars(select(Phq9Entry)).all()) == 1


def test_an_idempotency_key_replays_its_answers_and_refuses_other_answers(
    client: TestClient, world: World
) -> None:
    headers = world.auth(world.p1) | {"Idempotency-Key": "phone-7f3a"}
    body = _answers("2026-03-01T08:00:00Z", SOME_DAYS)
    first = client.post("/v1/patients/p1/phq9", content=body, headers=headers)
    again = client.post("/v1/patients/p1/phq9", content=body, headers=headers)
    assert again.json() == first.json() and "emergency" in again.json()["safety"]
    assert again.headers["Idempotent-Replayed"] == "true"
    other = client.post(
        "/v1/patients/p1/phq9", content=_answers("2026-03-02T08:00:00Z", [0] * 9), headers=headers
    )
    assert other.status_code == 409
    assert "phone-7f3a" in other.json()["detail"]


def test_the_same_answers_sent_again_while_the_first_are_being_stored_are_a_replay(
    world: World, engine: Engine, clock: FixedClock
) -> None:
    """Two taps, or a retry while the first submission is still being stored: the second
    waits for the first, then gets its answer; the answers are stored once, the care team is
    told once and nobody sees an error."""
    answers = load(
        _answers("2026-03-01T08:00:00Z", NEARLY_EVERY_DAY), patient_id="p1", display="phq9.json"
    ).phq9
    factory = make_session_factory(engine)
    second: dict[str, Receipt | BaseException] = {}

    def send_again() -> None:
        try:
            with unit_of_work(factory, clock=clock, write_lock=True) as work:
                second["receipt"] = submit_answers(
                    work, patient_id="p1", entries=answers, now=clock.now()
                )
        except BaseException as error:  # the thread's failure is the test's
            second["receipt"] = error

    with unit_of_work(factory, clock=clock, write_lock=True) as work:
        first = submit_answers(work, patient_id="p1", entries=answers, now=clock.now())
        sender = threading.Thread(target=send_again)
        sender.start()
        _wait_until_blocked(engine, sender)
    sender.join()

    receipt = second["receipt"]
    assert isinstance(receipt, Receipt), repr(receipt)
    assert receipt.replayed and receipt.body == first.body
    assert "emergency" in receipt.shown_to("patient")["safety"]
    with factory() as s:
        assert len(s.scalars(select(Phq9Entry)).all()) == 1
        assert [a.kind for a in s.scalars(select(Alert))] == ["phq9_safety"]


def _wait_until_blocked(engine: Engine, sender: threading.Thread) -> None:
    """Until the second submission waits on a lock the open transaction holds (PostgreSQL
    shows it; SQLite's waiting writer cannot be seen, so it is given a moment)."""
    if engine.dialect.name != "postgresql":
        sender.join(0.5)
        return
    with engine.connect() as watcher:
        for _ in range(400):
            waiting = watcher.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
            )
            if waiting or not sender.is_alive():
                return
            watcher.rollback()  # pg_stat_activity is read once per transaction
            sender.join(0.05)
    raise AssertionError("the second submission never reached the lock")


@pytest.mark.parametrize(
    "answered_at",
    ["2999-01-01T00:00:00Z", "0001-01-01T00:00:00+01:00", "0001-01-01T08:00:00Z", "1985-06-01"],
)
def test_implausible_answer_times_are_refused_naming_the_field(
    client: TestClient, world: World, engine: Engine, answered_at: str
) -> None:
    response = client.post(
        "/v1/patients/p1/phq9",
        content=_answers(answered_at, SOME_DAYS),
        headers=world.auth(world.p1),
    )
    assert response.status_code == 422, response.text
    assert response.json()["field"] == "answered_at"
    with make_session_factory(engine)() as s:
        assert s.scalars(select(Phq9Entry)).all() == []


def test_an_answer_a_minute_ahead_of_the_server_clock_is_accepted(
    client: TestClient, world: World
) -> None:
    ahead = (T0.replace(minute=1)).isoformat()
    response = client.post(
        "/v1/patients/p1/phq9", content=_answers(ahead, [0] * 9), headers=world.auth(world.p1)
    )
    assert response.status_code == 201, response.text


def test_an_answer_late_in_the_evening_in_los_angeles_counts_on_that_evenings_date(
    client: TestClient, world: World, engine: Engine
) -> None:
    """23:30 on 1 March at UTC-8 is 07:30 on 2 March in UTC: the care team is told of the
    answer of 1 March, the patient's own date, and the stored entry keeps its offset."""
    response = client.post(
        "/v1/patients/p1/phq9",
        content=_answers("2026-03-01T23:30:00-08:00", NEARLY_EVERY_DAY),
        headers=world.auth(world.coord_a),
    )
    assert response.status_code == 201
    [opened] = response.json()["alerts"]
    alert = client.get(f"/v1/alerts/{opened['id']}", headers=world.auth(world.coord_a)).json()
    assert alert["fired_on"] == "2026-03-01"
    assert "01 Mar 2026" in alert["explanation"]
    # its FHIR DetectedIssue rests on that answer, though in UTC it was given on 2 March
    issue = client.get(
        f"/fhir/DetectedIssue/{opened['id']}", headers=world.auth(world.coord_a)
    ).json()
    kinds = {ref["reference"].split("/")[0] for ref in issue["evidence"][0]["detail"]}
    assert kinds == {"QuestionnaireResponse", "Observation"}
    with transaction(make_session_factory(engine)) as s:
        [entry] = s.scalars(select(Phq9Entry)).all()
        assert entry.utc_offset_min == -480
        # the detection run of that local day finds it again (and opens nothing new)
        assert run_detection(UnitOfWork(s), day=date(2026, 3, 1), patient_ids=["p1"], now=T0) == []
        opened = s.scalars(select(Alert)).all()
        assert [(a.kind, a.fired_on) for a in opened] == [("phq9_safety", date(2026, 3, 1))]
