"""Where webhooks may go and what they keep: https URLs of public addresses only (checked at
registration and again at each send), a bounded number per team, secrets encrypted at rest
with keys from the environment (rotated by restarting with a new key in front), and no
endpoint URL with its query string in the log."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from api.clock import FixedClock
from api.db import make_session_factory, transaction
from api.settings import Settings
from api.store.webhooks import Delivery, DeliveryStatus, WebhookEndpoint
from api.unit_of_work import UnitOfWork
from api.webhooks.addresses import NOT_ALLOWED
from api.webhooks.dispatch import Outbound, deliver_due
from api.webhooks.secret_box import SecretBox, reseal_secrets
from tests.api.conftest import TEST_SECRET_KEY, World
from tests.api.webhook_receiver import WebhookReceiver
from tests.api.webhook_world import T0, add_endpoint, new_alert

PUBLIC_URL = "https://93.184.215.14/hook"  # an address written as such: no DNS lookup


@pytest.fixture
def strict(settings: Settings, engine: Engine, clock: FixedClock) -> Iterator[TestClient]:
    """The service as deployed: private addresses and plain http refused."""
    app: FastAPI = create_app(
        settings.model_copy(update={"webhook_allow_private": False, "webhook_max_endpoints": 2}),
        clock=clock,
        engine=engine,
    )
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver().start()
    yield receiver
    receiver.stop()


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1:5432/",
        "https://127.1/",
        "https://2130706433/",
        "https://[::1]/",
        "https://localhost:6379/",
        "https://10.0.0.7/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://224.0.0.1/",
        "https://0.0.0.0/",
        "https://[::ffff:192.168.1.1]/",
        "http://93.184.215.14/hook",
        "https://93.184.215.14/a\r\nX-Injected: 1",
        "https://93.184.215.14/a b",
        "https://user:pw@93.184.215.14/",
    ],
)
def test_a_url_a_deployed_service_must_not_reach_is_refused_at_registration(
    strict: TestClient, world: World, url: str
) -> None:
    response = strict.post(
        f"/v1/teams/{world.team_a}/webhooks", json={"url": url}, headers=world.auth(world.coord_a)
    )
    assert response.status_code == 422, response.text
    assert response.json()["field"] == "url"


def test_a_team_registers_a_bounded_number_of_public_https_endpoints(
    strict: TestClient, world: World
) -> None:
    register = f"/v1/teams/{world.team_a}/webhooks"
    for _ in range(2):
        created = strict.post(register, json={"url": PUBLIC_URL}, headers=world.auth(world.coord_a))
        assert created.status_code == 201, created.text
    third = strict.post(register, json={"url": PUBLIC_URL}, headers=world.auth(world.coord_a))
    assert third.status_code == 409
    assert "delete one first" in third.json()["detail"]


def test_a_private_address_is_refused_again_at_send_time(
    engine: Engine, world: World, receiver: WebhookReceiver
) -> None:
    """An endpoint stored when private addresses were allowed (or whose name now resolves to
    one) is not sent to, and the team sees a coarse reason."""
    factory = make_session_factory(engine)
    endpoint = add_endpoint(factory, team_id=world.team_a, url=receiver.url())
    receiver.secrets["/hook"] = endpoint.secret
    with transaction(factory) as session:
        new_alert(UnitOfWork(session), patient_id="p1")

    assert deliver_due(factory, now=T0, outbound=Outbound(allow_private=False)) == 1
    [delivery] = _deliveries(factory)
    assert (delivery.status, delivery.last_error) == (DeliveryStatus.PENDING, NOT_ALLOWED)
    assert receiver.received == []


def test_secrets_are_encrypted_at_rest_and_survive_a_key_rotation(
    client: TestClient,
    world: World,
    engine: Engine,
    receiver: WebhookReceiver,
    settings: Settings,
    clock: FixedClock,
) -> None:
    created = client.post(
        f"/v1/teams/{world.team_a}/webhooks",
        json={"url": receiver.url()},
        headers=world.auth(world.coord_a),
    )
    secret = created.json()["secret"]
    receiver.secrets["/hook"] = secret
    factory = make_session_factory(engine)
    with factory() as session:
        [stored] = session.scalars(select(WebhookEndpoint.secret)).all()
    assert stored.startswith("fernet:") and secret not in stored
    # a row from before encryption, in plaintext
    legacy = add_endpoint(factory, team_id=world.team_b, url=receiver.url("/legacy"))
    receiver.secrets["/legacy"] = legacy.secret

    # rotation: a new key in front of the old one, and a restart
    newest = SecretBox.new_key()
    rotated = settings.model_copy(update={"secret_keys": f"{newest},{TEST_SECRET_KEY}"})
    with TestClient(create_app(rotated, clock=clock, engine=engine)):
        pass
    with factory() as session:
        resealed = dict(session.execute(select(WebhookEndpoint.id, WebhookEndpoint.secret)).all())
    assert all(value.startswith("fernet:") for value in resealed.values())
    assert resealed[created.json()["id"]] != stored

    # the old key dropped: the newest alone signs both endpoints' deliveries
    with transaction(factory) as session:
        new_alert(UnitOfWork(session), patient_id="p1")
        new_alert(UnitOfWork(session), patient_id="p3")
    only_newest = Outbound(secrets=SecretBox([newest]), allow_private=True)
    assert deliver_due(factory, now=T0, outbound=only_newest) == 2
    assert sorted(r.path for r in receiver.wait_for(2)) == ["/hook", "/legacy"]
    assert receiver.rejected == []


def test_reseal_without_keys_changes_nothing(engine: Engine, world: World) -> None:
    factory = make_session_factory(engine)
    endpoint = add_endpoint(factory, team_id=world.team_a, url=PUBLIC_URL)
    with transaction(factory) as session:
        assert reseal_secrets(session, SecretBox()) == 0
        assert session.get(WebhookEndpoint, endpoint.id).secret == endpoint.secret  # type: ignore[union-attr]


def test_an_endpoint_url_with_a_query_string_stays_out_of_the_log(
    engine: Engine, world: World, receiver: WebhookReceiver, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    factory = make_session_factory(engine)
    path = "/hook?token=team-token-123"
    endpoint = add_endpoint(factory, team_id=world.team_a, url=receiver.url(path))
    receiver.secrets[path] = endpoint.secret
    refused = add_endpoint(factory, team_id=world.team_a, url="http://127.0.0.1:9/?token=zz-9")
    with transaction(factory) as session:
        new_alert(UnitOfWork(session), patient_id="p1")
        logging.getLogger("phenowatch.test").info(
            "endpoints %r", session.get(WebhookEndpoint, refused.id)
        )

    deliver_due(factory, now=T0, outbound=Outbound(allow_private=True))

    assert [r.path for r in receiver.wait_for(1)] == [path]  # delivered, query and all
    assert caplog.records
    for record in caplog.records:
        assert "team-token-123" not in record.getMessage()
        assert "zz-9" not in record.getMessage()


def _deliveries(factory: sessionmaker[Session]) -> list[Delivery]:
    with factory() as session:
        return list(session.scalars(select(Delivery).order_by(Delivery.id)))
