"""Alert changes reach the care team's receiver: item 9 at once, escalation when nobody acts."""

from __future__ import annotations

from datetime import UTC, timedelta

import polars as pl
import pytest
from sqlalchemy import select

from api.clock import FixedClock
from api.scheduler import Scheduler
from api.services.alerts import acknowledge
from api.services.phq9 import submit_phq9
from api.services.tokens import SYSTEM
from api.settings import Settings
from api.store.webhooks import Delivery, DeliveryStatus
from api.unit_of_work import unit_of_work
from ingest.schema import PHQ9
from tests.api.webhook_receiver import WebhookReceiver
from tests.api.webhook_world import (
    LOCAL,
    T0,
    add_endpoint,
    add_patient,
    add_team,
    new_alert,
    webhook_db_fixture,  # noqa: F401 (fixture)
)


@pytest.fixture
def receiver():
    receiver = WebhookReceiver().start()
    yield receiver
    receiver.stop()


def phq9_answer(patient_id: str, *, item_9: int) -> pl.DataFrame:
    items = {f"item_{number}": 1 for number in range(1, 9)} | {"item_9": item_9}
    row = {
        "patient_id": patient_id,
        "answered_at": T0,
        **items,
        "total": sum(items.values()),
        "difficulty": 1,
        "instrument": "phq9",
        "source": "app",
    }
    return pl.DataFrame([row], schema=PHQ9)


def test_item_9_submission_is_delivered_before_the_submission_returns(webhook_db, receiver):
    clock = FixedClock(T0)
    team_id = add_team(webhook_db)
    endpoint = add_endpoint(webhook_db, team_id=team_id, url=receiver.url())
    receiver.secrets["/hook"] = endpoint.secret
    with unit_of_work(webhook_db, clock=clock, outbound=LOCAL) as work:
        add_patient(work.session, team_id=team_id, patient_id="p-9")
    with unit_of_work(
        webhook_db, clock=clock, public_url="https://pw.example.org", outbound=LOCAL
    ) as work:
        opened = submit_phq9(
            work, patient_id="p-9", entries=phq9_answer("p-9", item_9=1), actor=SYSTEM, now=T0
        )
        assert [alert.kind for alert in opened] == ["phq9_safety"]

    # unit_of_work has returned: the urgent delivery was attempted after its commit, no job ran
    [received] = receiver.received
    data = received.payload["data"]
    assert received.payload["type"] == "alert.opened"
    assert (data["patient_id"], data["kind"], data["severity"]) == ("p-9", "phq9_safety", "urgent")
    assert data["url"] == f"https://pw.example.org/v1/alerts/{data['alert_id']}"
    assert "item 9" in data["explanation"].lower()


def test_an_answer_without_item_9_sends_nothing_at_once(webhook_db, receiver):
    clock = FixedClock(T0)
    team_id = add_team(webhook_db)
    endpoint = add_endpoint(webhook_db, team_id=team_id, url=receiver.url())
    receiver.secrets["/hook"] = endpoint.secret
    with unit_of_work(webhook_db, clock=clock, outbound=LOCAL) as work:
        add_patient(work.session, team_id=team_id, patient_id="p-1")
        submit_phq9(
            work, patient_id="p-1", entries=phq9_answer("p-1", item_9=0), actor=SYSTEM, now=T0
        )
    assert receiver.received == []


def test_an_urgent_alert_nobody_acknowledges_is_escalated_to_the_team(webhook_db, receiver):
    clock = FixedClock(T0)
    team_id = add_team(webhook_db)
    endpoint = add_endpoint(
        webhook_db, team_id=team_id, url=receiver.url(), event_types=("alert.escalated",)
    )
    receiver.secrets["/hook"] = endpoint.secret
    with unit_of_work(webhook_db, clock=clock, outbound=LOCAL) as work:
        add_patient(work.session, team_id=team_id, patient_id="p-late")
        add_patient(work.session, team_id=team_id, patient_id="p-seen")
        late = new_alert(work, patient_id="p-late", now=T0).id
        seen = new_alert(work, patient_id="p-seen", now=T0).id
    assert receiver.received == []  # subscribed to escalations only

    clock.advance(timedelta(minutes=10))
    with unit_of_work(webhook_db, clock=clock, outbound=LOCAL) as work:
        acknowledge(work, alert_id=seen, principal=SYSTEM, now=clock.now())
    clock.advance(timedelta(minutes=21))
    scheduler = Scheduler(
        engine=webhook_db.kw["bind"],
        factory=webhook_db,
        settings=Settings(escalate_after_minutes=30, webhook_allow_private=True),
        clock=clock,
    )
    assert scheduler.escalate() == 1  # the scheduled job, run once by hand
    scheduler.deliver()

    [received] = receiver.wait_for(1)
    assert received.payload["type"] == "alert.escalated"
    assert received.payload["data"]["alert_id"] == late
    assert received.payload["data"]["escalated_at"] == (T0 + timedelta(minutes=31)).astimezone(
        UTC
    ).isoformat().replace("+00:00", "Z")
    with webhook_db() as session:
        statuses = session.scalars(select(Delivery.status)).all()
    assert statuses == [DeliveryStatus.DELIVERED]
