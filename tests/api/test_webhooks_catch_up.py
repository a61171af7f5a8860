"""After an outage an endpoint gets its backlog at once, urgent first; one broken send never
aborts a batch; urgent sends hold a request only so long; a team's coordinators (not an admin)
resend a delivery and read the delivery log."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from api.db import make_session_factory, transaction
from api.services.alerts import open_alert
from api.store.webhooks import Delivery, DeliveryAttempt, DeliveryStatus
from api.unit_of_work import UnitOfWork
from api.webhooks.addresses import NOT_ALLOWED
from api.webhooks.dispatch import Outbound, RetryPolicy, deliver_due, deliver_now
from tests.api.conftest import World
from tests.api.serve_data import signal
from tests.api.webhook_receiver import WebhookReceiver
from tests.api.webhook_world import (
    T0,
    add_endpoint,
    add_patient,
    add_team,
    new_alert,
    webhook_db_fixture,  # noqa: F401 (fixture)
)

POLICY = RetryPolicy(probe_interval=timedelta(seconds=10))
SEND = Outbound(policy=POLICY, allow_private=True)  # the receiver is on 127.0.0.1


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    yield receiver
    receiver.stop()


def _rows(factory: sessionmaker[Session]) -> list[Delivery]:
    with factory() as session:
        return list(session.scalars(select(Delivery).order_by(Delivery.id)))


def test_an_endpoint_back_from_an_outage_gets_its_whole_backlog_at_once_urgent_first(
    webhook_db: sessionmaker[Session], receiver: WebhookReceiver
) -> None:
    team_id = add_team(webhook_db)
    endpoint = add_endpoint(webhook_db, team_id=team_id, url=receiver.url())
    receiver.secrets["/hook"] = endpoint.secret
    with transaction(webhook_db) as session:
        for number in range(3):  # routine alerts first, then the urgent ones
            add_patient(session, team_id=team_id, patient_id=f"routine-{number}")
            open_alert(
                UnitOfWork(session), signal=signal(f"routine-{number}", kind="data_gap"), now=T0
            )
        for number in range(2):
            add_patient(session, team_id=team_id, patient_id=f"urgent-{number}")
            new_alert(UnitOfWork(session), patient_id=f"urgent-{number}")

    assert deliver_due(webhook_db, now=T0, outbound=SEND) == 5  # the receiver is down
    with transaction(webhook_db) as session:  # where a long outage's backoff leaves them
        session.execute(update(Delivery).values(next_attempt_at=T0 + timedelta(hours=2)))
    # still down: one early try of the most urgent delivery, which does not use up an attempt
    assert deliver_due(webhook_db, now=T0 + POLICY.probe_interval, outbound=SEND) == 1
    assert [d.attempts for d in _rows(webhook_db)] == [1] * 5

    receiver.start()
    later = T0 + 2 * POLICY.probe_interval
    assert deliver_due(webhook_db, now=later, outbound=SEND) == 5  # the early try, then the rest
    rows = _rows(webhook_db)
    assert all(d.status == DeliveryStatus.DELIVERED and d.delivered_at == later for d in rows)
    kinds = [r.payload["data"]["severity"] for r in receiver.received]
    assert kinds == ["urgent", "urgent", "moderate", "moderate", "moderate"]


def test_a_send_that_cannot_even_be_made_is_that_delivery_s_failure_alone(
    webhook_db: sessionmaker[Session], receiver: WebhookReceiver
) -> None:
    receiver.start()
    team_id = add_team(webhook_db)
    good = add_endpoint(webhook_db, team_id=team_id, url=receiver.url())
    receiver.secrets["/hook"] = good.secret
    # a URL stored before registration refused control characters
    add_endpoint(webhook_db, team_id=team_id, url=receiver.url("/a\r\nX-Injected: 1"))
    with transaction(webhook_db) as session:
        add_patient(session, team_id=team_id, patient_id="p-1")
        new_alert(UnitOfWork(session), patient_id="p-1")

    assert deliver_due(webhook_db, now=T0, outbound=SEND) == 2
    delivered, broken = sorted(_rows(webhook_db), key=lambda d: d.endpoint_id != good.id)
    assert delivered.status == DeliveryStatus.DELIVERED
    assert (broken.status, broken.attempts, broken.last_error) == (
        DeliveryStatus.PENDING,
        1,
        NOT_ALLOWED,
    )
    assert len(receiver.received) == 1


def test_urgent_sends_hold_the_caller_no_longer_than_the_budget_the_rest_go_to_the_background(
    webhook_db: sessionmaker[Session], receiver: WebhookReceiver
) -> None:
    receiver.delay = 3.0  # slower than the whole budget
    receiver.start()
    team_id = add_team(webhook_db)
    for path in ("/a", "/b", "/c"):
        receiver.secrets[path] = add_endpoint(
            webhook_db, team_id=team_id, url=receiver.url(path)
        ).secret
    with transaction(webhook_db) as session:
        add_patient(session, team_id=team_id, patient_id="p-1")
        new_alert(UnitOfWork(session), patient_id="p-1")
    ids = [d.id for d in _rows(webhook_db)]

    budget = Outbound(policy=RetryPolicy(urgent_timeout=0.2), allow_private=True)
    assert deliver_now(ids, session_factory=webhook_db, now=T0, outbound=budget) == 3

    # none counted as failed: each is due again at once, for the background job
    for delivery in _rows(webhook_db):
        assert (delivery.status, delivery.attempts, delivery.claim_token) == (
            DeliveryStatus.PENDING,
            0,
            None,
        )
        assert delivery.next_attempt_at is not None and delivery.next_attempt_at <= T0
    with webhook_db() as session:
        assert session.scalars(select(DeliveryAttempt)).all() == []


@pytest.fixture
def failed_delivery(engine, world: World, receiver: WebhookReceiver) -> tuple[int, str]:
    """A delivery of team A that gave up (the receiver was down for every attempt)."""
    factory = make_session_factory(engine)
    endpoint = add_endpoint(factory, team_id=world.team_a, url=receiver.url())
    receiver.secrets["/hook"] = endpoint.secret
    with transaction(factory) as session:
        new_alert(UnitOfWork(session), patient_id="p1")
        session.execute(update(Delivery).values(status=DeliveryStatus.FAILED, attempts=12))
        [delivery_id] = session.scalars(select(Delivery.id)).all()
    return delivery_id, endpoint.url


def test_a_coordinator_resends_a_failed_delivery(
    client: TestClient,
    world: World,
    engine,
    receiver: WebhookReceiver,
    failed_delivery: tuple[int, str],
) -> None:
    delivery_id, _ = failed_delivery
    path = f"/v1/teams/{world.team_a}/webhook-deliveries/{delivery_id}/redeliver"
    response = client.post(path, headers=world.auth(world.coord_a))
    assert response.status_code == 202, response.text
    assert (response.json()["status"], response.json()["attempts"]) == ("pending", 0)

    receiver.start()
    factory = make_session_factory(engine)
    assert deliver_due(factory, now=T0 + timedelta(days=1), outbound=SEND) == 1
    [delivery] = _rows(factory)
    assert delivery.status == DeliveryStatus.DELIVERED
    assert [r.webhook_id for r in receiver.received] == [delivery.message_id]


def test_deliveries_are_for_the_team_s_coordinators_not_an_admin_nor_another_team(
    client: TestClient, world: World, failed_delivery: tuple[int, str]
) -> None:
    delivery_id, url = failed_delivery
    team = f"/v1/teams/{world.team_a}"
    for token, expected in ((world.admin, 403), (world.coord_b, 404)):
        for response in (
            client.get(f"{team}/webhook-deliveries", headers=world.auth(token)),
            client.get(
                f"{team}/webhook-deliveries/{delivery_id}/attempts", headers=world.auth(token)
            ),
            client.post(
                f"{team}/webhook-deliveries/{delivery_id}/redeliver", headers=world.auth(token)
            ),
            client.post(f"{team}/webhooks", json={"url": url}, headers=world.auth(token)),
        ):
            assert response.status_code == expected, response.text
            assert "p1" not in response.text
