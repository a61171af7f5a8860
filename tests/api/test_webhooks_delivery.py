"""Delivery of the outbox to a real receiver: signatures, retries, dead letters, many workers."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from api.db import transaction
from api.store.webhooks import Delivery, DeliveryAttempt, DeliveryStatus
from api.unit_of_work import UnitOfWork
from api.webhooks.dispatch import Outbound, RetryPolicy, deliver_due, deliver_now
from api.webhooks.sending import NO_ANSWER, REFUSED
from tests.api.webhook_receiver import WebhookReceiver
from tests.api.webhook_world import (
    T0,
    add_endpoint,
    add_patient,
    add_team,
    new_alert,
    webhook_db_fixture,  # noqa: F401 (fixture)
)

FAST = RetryPolicy(
    max_attempts=4,
    base_delay=timedelta(seconds=10),
    max_delay=timedelta(minutes=1),
    timeout=2.0,
    urgent_timeout=1.0,
)
SEND = Outbound(policy=FAST, allow_private=True)  # the receiver is on 127.0.0.1


@pytest.fixture
def receiver():
    receiver = WebhookReceiver()
    yield receiver
    receiver.stop()


def open_alerts(factory: sessionmaker[Session], *, team_id: int, count: int) -> list[int]:
    """Opens ``count`` alerts for new patients of the team; returns the enqueued delivery ids."""
    delivery_ids = []
    with transaction(factory) as session:
        # a bare transaction: urgent deliveries are left to the delivery job, not sent at once
        work = UnitOfWork(session)
        for number in range(count):
            patient = add_patient(session, team_id=team_id, patient_id=f"p-{number:04d}")
            alert = new_alert(work, patient_id=patient.id)
            delivery_ids += session.scalars(
                select(Delivery.id).where(Delivery.alert_id == alert.id)
            ).all()
    return delivery_ids


def deliveries(factory: sessionmaker[Session]) -> list[Delivery]:
    with factory() as session:
        return list(session.scalars(select(Delivery).order_by(Delivery.id)))


def attempt_count(factory: sessionmaker[Session]) -> int:
    with factory() as session:
        return session.scalar(select(func.count()).select_from(DeliveryAttempt)) or 0


def test_an_opened_alert_arrives_signed_with_what_a_coordinator_needs(webhook_db, receiver):
    receiver.start()
    team_id = add_team(webhook_db)
    endpoint = add_endpoint(webhook_db, team_id=team_id, url=receiver.url())
    receiver.secrets["/hook"] = endpoint.secret
    [delivery_id] = open_alerts(webhook_db, team_id=team_id, count=1)

    assert deliver_due(webhook_db, now=T0, outbound=SEND) == 1

    [received] = receiver.received
    assert received.payload["type"] == "alert.opened"
    assert received.payload["timestamp"] == "2026-11-24T08:00:00Z"
    data = received.payload["data"]
    assert data["patient_id"] == "p-0000"
    assert (data["kind"], data["severity"], data["status"]) == ("phq9_safety", "urgent", "open")
    assert data["fired_on"] == "2026-11-24"
    assert data["explanation"] == "PHQ-9 item 9 answered 1 (several days)"
    assert data["url"] == f"/v1/alerts/{data['alert_id']}"
    [delivery] = deliveries(webhook_db)
    assert delivery.id == delivery_id
    assert received.webhook_id == delivery.message_id
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.DELIVERED, 1)
    assert receiver.rejected == []


def test_events_raised_while_the_receiver_is_down_all_arrive_once_it_is_up(webhook_db, receiver):
    team_id = add_team(webhook_db)
    endpoint = add_endpoint(webhook_db, team_id=team_id, url=receiver.url())
    receiver.secrets["/hook"] = endpoint.secret
    open_alerts(webhook_db, team_id=team_id, count=5)

    now = T0
    assert deliver_due(webhook_db, now=now, outbound=SEND) == 5  # refused, every one
    assert all(d.status == DeliveryStatus.PENDING for d in deliveries(webhook_db))
    assert all(d.last_error == NO_ANSWER for d in deliveries(webhook_db))

    receiver.start()
    while any(d.status == DeliveryStatus.PENDING for d in deliveries(webhook_db)):
        now += timedelta(seconds=15)
        deliver_due(webhook_db, now=now, outbound=SEND)
        assert now < T0 + timedelta(minutes=10), "deliveries still pending after backoff"

    rows = deliveries(webhook_db)
    assert all(d.status == DeliveryStatus.DELIVERED for d in rows)
    assert receiver.webhook_id_counts() == {d.message_id: 1 for d in rows}
    assert attempt_count(webhook_db) == sum(d.attempts for d in rows)
    assert all(d.attempts >= 2 for d in rows)


def test_a_receiver_that_keeps_failing_gets_max_attempts_then_the_delivery_is_dead(
    webhook_db, receiver
):
    receiver.status_code = 503
    receiver.start()
    team_id = add_team(webhook_db)
    endpoint = add_endpoint(webhook_db, team_id=team_id, url=receiver.url())
    receiver.secrets["/hook"] = endpoint.secret
    open_alerts(webhook_db, team_id=team_id, count=1)

    now = T0
    for _ in range(20):
        deliver_due(webhook_db, now=now, outbound=SEND)
        now += FAST.max_delay

    [delivery] = deliveries(webhook_db)
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.attempts == FAST.max_attempts
    assert delivery.last_error == REFUSED  # not the status: the team's log is no port scanner
    with webhook_db() as session:
        codes = session.scalars(select(DeliveryAttempt.status_code)).all()
    assert codes == [None] * FAST.max_attempts
    assert len(receiver.received) == FAST.max_attempts  # same webhook-id every time
    assert set(receiver.webhook_id_counts()) == {delivery.message_id}


def test_deliver_now_has_made_the_first_attempt_when_it_returns(webhook_db, receiver):
    receiver.start()
    team_id = add_team(webhook_db)
    endpoint = add_endpoint(webhook_db, team_id=team_id, url=receiver.url())
    receiver.secrets["/hook"] = endpoint.secret
    delivery_ids = open_alerts(webhook_db, team_id=team_id, count=2)

    assert deliver_now(delivery_ids, session_factory=webhook_db, now=T0, outbound=SEND) == 2

    assert len(receiver.received) == 2  # no waiting: the POSTs happened inside the call
    assert deliver_due(webhook_db, now=T0 + timedelta(hours=1), outbound=SEND) == 0
    assert deliver_now(delivery_ids, session_factory=webhook_db, now=T0, outbound=SEND) == 0


def test_two_workers_on_one_outbox_deliver_each_event_once(webhook_db, receiver):
    """Two workers (threads with their own connections) drain one outbox at once: on
    PostgreSQL they share it through SKIP LOCKED, on SQLite they take turns."""
    factory = webhook_db
    receiver.delay = 0.02  # while one worker waits on its batch, the other must claim the next
    receiver.start()
    team_id = add_team(factory)
    endpoint = add_endpoint(factory, team_id=team_id, url=receiver.url())
    receiver.secrets["/hook"] = endpoint.secret
    open_alerts(factory, team_id=team_id, count=30)
    sent_by_worker = [0, 0]
    start = threading.Barrier(2)

    def worker(index: int) -> None:
        start.wait()
        while attempted := deliver_due(factory, now=T0, limit=5, outbound=SEND):
            sent_by_worker[index] += attempted

    threads = [threading.Thread(target=worker, args=(index,)) for index in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    rows = deliveries(factory)
    assert all(d.status == DeliveryStatus.DELIVERED and d.attempts == 1 for d in rows)
    assert receiver.webhook_id_counts() == {d.message_id: 1 for d in rows}
    assert sum(sent_by_worker) == 30
    assert min(sent_by_worker) > 0, f"one worker did everything: {sent_by_worker}"


def test_a_delivery_held_by_a_worker_that_died_is_sent_once_its_lease_runs_out(
    webhook_db, receiver
):
    receiver.start()
    team_id = add_team(webhook_db)
    endpoint = add_endpoint(webhook_db, team_id=team_id, url=receiver.url())
    receiver.secrets["/hook"] = endpoint.secret
    [delivery_id] = open_alerts(webhook_db, team_id=team_id, count=1)
    with transaction(webhook_db) as session:  # what a claim leaves behind when its worker dies
        held = session.get(Delivery, delivery_id)
        held.claim_token, held.next_attempt_at = "worker-that-died", T0 + FAST.lease

    assert deliver_due(webhook_db, now=T0, outbound=SEND) == 0
    assert deliver_now([delivery_id], session_factory=webhook_db, now=T0, outbound=SEND) == 0
    assert deliver_due(webhook_db, now=T0 + FAST.lease, outbound=SEND) == 1

    [delivery] = deliveries(webhook_db)
    assert (delivery.status, delivery.attempts, delivery.claim_token) == (
        DeliveryStatus.DELIVERED,
        1,
        None,
    )
    assert receiver.webhook_id_counts() == {delivery.message_id: 1}
