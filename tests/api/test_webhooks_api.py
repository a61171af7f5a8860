"""Webhooks through the HTTP API: a team registers an endpoint, item 9 reaches it before the
submission is answered, outsiders cannot see or add endpoints, and the signing secret is shown
once and never logged."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api.store import AuditEntry
from tests.api.conftest import World
from tests.api.webhook_receiver import WebhookReceiver
from tests.api.webhook_world import webhook_db_fixture  # noqa: F401 (fixture)

ITEM_9_ANSWER = {
    "answered_at": "2026-03-02T08:15:00+00:00",  # just before the suite's clock (T0)
    "items": [1, 1, 1, 1, 0, 1, 1, 0, 1],
    "difficulty": 1,
}
auth = World.auth
#: a public address written as such: registering it needs no DNS lookup
PUBLIC_URL = "https://93.184.215.14/hook"


@pytest.fixture
def served(app: FastAPI) -> Iterator[httpx.Client]:
    """The suite's app under a real uvicorn on a free port of 127.0.0.1, and a client for it
    (so "before the response" means what it means on the wire)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    assert server.started, "the service did not start"
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            yield client
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver().start()
    yield receiver
    receiver.stop()


def register(client: httpx.Client, token: str, team_id: int, url: str, **extra: object):
    return client.post(
        f"/v1/teams/{team_id}/webhooks", json={"url": url, **extra}, headers=auth(token)
    )


def test_item_9_submitted_through_the_api_reaches_the_team_before_the_answer(
    world: World,
    served: httpx.Client,
    receiver: WebhookReceiver,
    webhook_db: sessionmaker[Session],
    caplog: pytest.LogCaptureFixture,
):
    caplog.set_level(logging.DEBUG)
    created = register(served, world.coord_a, world.team_a, receiver.url(), description="EHR")
    assert created.status_code == 201, created.text
    secret = created.json()["secret"]
    assert secret.startswith("whsec_")
    receiver.secrets["/hook"] = secret

    answered = served.post("/v1/patients/p1/phq9", json=ITEM_9_ANSWER, headers=auth(world.p1))
    answered_at = time.monotonic()
    assert answered.status_code == 201, answered.text
    assert "care team has been told" in answered.json()["safety"]

    [received] = receiver.wait_for(1, timeout=5)
    assert received.arrived_at <= answered_at, "the webhook left after the response"
    assert receiver.rejected == []
    data = received.payload["data"]
    assert received.payload["type"] == "alert.opened"
    assert (data["patient_id"], data["kind"], data["severity"]) == ("p1", "phq9_safety", "urgent")
    assert data["url"].endswith(f"/v1/alerts/{data['alert_id']}")
    alert = served.get(f"/v1/alerts/{data['alert_id']}", headers=auth(world.coord_a))
    assert alert.json()["status"] == "open"

    team = f"/v1/teams/{world.team_a}"
    [delivery] = served.get(f"{team}/webhook-deliveries", headers=auth(world.coord_a)).json()[
        "items"
    ]
    assert delivery["webhook_id"] == received.webhook_id
    assert (delivery["status"], delivery["attempts"]) == ("delivered", 1)
    attempts = served.get(
        f"{team}/webhook-deliveries/{delivery['id']}/attempts", headers=auth(world.coord_a)
    )
    [attempt] = attempts.json()["items"]
    assert (attempt["status_code"], attempt["error"]) == (204, None)

    # the secret was shown once: not in the listing, not in any log record, not in the audit log
    listed = served.get(f"{team}/webhooks", headers=auth(world.coord_a))
    assert secret not in listed.text and "secret" not in listed.json()["items"][0]
    assert all(secret not in record.getMessage() for record in caplog.records)
    with webhook_db() as session:
        audit_rows = session.scalars(select(AuditEntry)).all()
    assert audit_rows and all(secret not in repr(vars(row)) for row in audit_rows)


def test_a_coordinator_of_another_team_can_neither_see_nor_add_endpoints(
    world: World, served: httpx.Client, receiver: WebhookReceiver
):
    created = register(served, world.coord_a, world.team_a, receiver.url())
    endpoint_id = created.json()["id"]
    team = f"/v1/teams/{world.team_a}"

    for response in (
        served.get(f"{team}/webhooks", headers=auth(world.coord_b)),
        register(served, world.coord_b, world.team_a, "http://127.0.0.1:9/elsewhere"),
        served.delete(f"{team}/webhooks/{endpoint_id}", headers=auth(world.coord_b)),
        served.get(f"{team}/webhook-deliveries", headers=auth(world.coord_b)),
    ):
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"
    assert served.get(f"{team}/webhooks", headers=auth(world.p1)).status_code == 403
    assert served.get(f"{team}/webhooks").status_code == 401

    listed = served.get(f"{team}/webhooks", headers=auth(world.coord_a)).json()["items"]
    assert [endpoint["url"] for endpoint in listed] == [receiver.url()]  # nothing was added
    by_admin = served.get(f"{team}/webhooks", headers=auth(world.admin)).json()["items"]
    assert [endpoint["id"] for endpoint in by_admin] == [endpoint_id]


def test_a_deleted_endpoint_gets_nothing_more(
    world: World, served: httpx.Client, receiver: WebhookReceiver
):
    created = register(served, world.coord_a, world.team_a, receiver.url())
    receiver.secrets["/hook"] = created.json()["secret"]
    team = f"/v1/teams/{world.team_a}"

    deleted = served.delete(f"{team}/webhooks/{created.json()['id']}", headers=auth(world.coord_a))
    assert deleted.status_code == 204
    served.post("/v1/patients/p1/phq9", json=ITEM_9_ANSWER, headers=auth(world.p1))

    assert receiver.wait_for(1, timeout=0.5) == []
    assert served.get(f"{team}/webhooks", headers=auth(world.coord_a)).json()["items"] == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "ftp://example.org/hook"}, "url"),
        ({"url": "https://user:pw@example.org/hook"}, "url"),
        ({"url": PUBLIC_URL, "event_types": ["alert.deleted"]}, "event_types"),
        ({"url": PUBLIC_URL, "event_types": []}, "event_types"),
    ],
)
def test_a_bad_registration_is_refused_with_the_field_named(
    world: World, served: httpx.Client, body: dict[str, object], field: str
):
    response = served.post(
        f"/v1/teams/{world.team_a}/webhooks", json=body, headers=auth(world.coord_a)
    )
    assert response.status_code == 422
    assert response.json()["field"] == field
