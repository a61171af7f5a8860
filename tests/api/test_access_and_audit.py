"""Who may read what, and the record of it: metrics behind a token, answers nobody may cache,
405s that say what is allowed, audit rows naming their target and every patient shown, revoked
tokens recorded as their owner's, and failed authentication rate limited without an audit
row (and SQLite's write lock) for each failure."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from api.app import create_app
from api.clock import FixedClock
from api.db import make_session_factory, transaction
from api.services.alerts import open_alert
from api.settings import Settings
from api.store import ApiToken, AuditEntry
from api.unit_of_work import UnitOfWork, unit_of_work
from api.webhooks.dispatch import Outbound, deliver_due
from tests.api.conftest import World
from tests.api.serve_data import signal
from tests.api.webhook_receiver import WebhookReceiver
from tests.api.webhook_world import T0 as WEBHOOK_T0
from tests.api.webhook_world import add_endpoint, new_alert

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
METRICS_TOKEN = "m" * 40


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"metrics_token": METRICS_TOKEN, "auth_failures_per_minute": 4}
    )


def _audit(engine: Engine) -> list[AuditEntry]:
    with make_session_factory(engine)() as s:
        return list(s.scalars(select(AuditEntry).order_by(AuditEntry.id)))


def test_metrics_need_the_metrics_token_or_an_admin(client: TestClient, world: World) -> None:
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers=world.auth(world.coord_a)).status_code == 403
    for token in (METRICS_TOKEN, world.admin):
        scraped = client.get("/metrics", headers=world.auth(token))
        assert scraped.status_code == 200
        assert "phenowatch_http_requests_total" in scraped.text
    # guessing the metrics token counts toward the address's limit (one failure so far)
    for _ in range(3):
        assert client.get("/metrics", headers=world.auth("m" * 39)).status_code == 401
    assert client.get("/metrics", headers=world.auth(METRICS_TOKEN)).status_code == 429


def test_patient_data_is_never_cached_nor_sniffed(client: TestClient, world: World) -> None:
    for path in ("/v1/patients/p1/timeline", "/v1/patients/p1/nights", "/v1/alerts"):
        response = client.get(path, headers=world.auth(world.coord_a))
        assert response.status_code == 200
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["x-content-type-options"] == "nosniff"
    refused = client.get("/v1/patients/p1/timeline")
    assert refused.headers["cache-control"] == "no-store"


def test_a_405_lists_every_method_of_the_path(client: TestClient, world: World) -> None:
    response = client.put("/v1/patients/p1/phq9", headers=world.auth(world.p1))
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD, POST"
    assert response.headers["content-type"] == "application/problem+json"


def test_denied_and_not_found_requests_record_their_target(
    client: TestClient, world: World, engine: Engine
) -> None:
    client.get("/v1/alerts/4242", headers=world.auth(world.coord_a))
    client.get("/v1/alerts/4243", headers=world.auth(world.p1))
    client.get("/v1/patients/p3/nights", headers=world.auth(world.coord_a))
    rows = [(r.resource, r.patient_id, r.outcome) for r in _audit(engine)]
    assert rows == [
        ("GET /v1/alerts/4242", None, "not_found"),
        ("GET /v1/alerts/4243", None, "denied"),
        ("GET /v1/patients/p3/nights", "p3", "not_found"),
    ]


def test_a_revoked_token_is_recorded_as_its_owner(
    client: TestClient, world: World, engine: Engine
) -> None:
    with transaction(make_session_factory(engine)) as s:
        token = s.scalars(select(ApiToken).where(ApiToken.patient_id == "p1")).one()
        token.revoked_at = token.created_at
    response = client.get("/v1/patients/p1/nights", headers=world.auth(world.p1))
    assert response.status_code == 401
    [row] = _audit(engine)
    assert (row.actor, row.role, row.patient_id, row.outcome) == (
        "patient:p1",
        "patient",
        "p1",
        "revoked_token",
    )


def test_failed_authentication_is_rate_limited_and_sampled_into_the_audit(
    client: TestClient, world: World, engine: Engine
) -> None:
    bad = {"Authorization": "Bearer pw_guess"}
    statuses = [client.get("/v1/alerts", headers=bad).status_code for _ in range(4)]
    assert statuses == [401] * 4
    blocked = client.get("/v1/alerts", headers=bad)
    assert blocked.status_code == 429
    assert int(blocked.headers["retry-after"]) > 0
    assert blocked.headers["content-type"] == "application/problem+json"
    # the address is blocked whatever it sends, before any database work
    assert client.get("/v1/alerts", headers=world.auth(world.coord_a)).status_code == 429
    # the first failure and the one that reached the limit; the two between are only counted
    outcomes = [(r.actor, r.outcome, r.resource) for r in _audit(engine)]
    assert outcomes == [
        ("anonymous", "unauthenticated", "GET /v1/alerts"),
        ("anonymous", "rate_limited", "GET /v1/alerts (+2 failures not recorded)"),
    ]


def test_delivery_log_reads_record_the_patients_they_showed(
    client: TestClient, world: World, engine: Engine, clock: FixedClock
) -> None:
    factory = make_session_factory(engine)
    add_endpoint(factory, team_id=world.team_a, url="https://ehr.example/hook")
    with unit_of_work(factory, clock=clock) as work:
        open_alert(work, signal=signal("p1", "passive_change", "moderate"), now=clock.now())
        open_alert(work, signal=signal("p2", "data_gap", "info"), now=clock.now())
    response = client.get(
        f"/v1/teams/{world.team_a}/webhook-deliveries", headers=world.auth(world.coord_a)
    )
    assert response.status_code == 200
    assert len(response.json()["items"]) == 2
    assert sorted(r.patient_id for r in _audit(engine)) == ["p1", "p2"]


def test_a_database_that_does_not_answer_is_a_503_problem(
    settings: Settings, clock: FixedClock
) -> None:
    down = settings.model_copy(
        update={"database_url": "postgresql+psycopg://phenowatch@127.0.0.1:9/none"}
    )
    app: FastAPI = create_app(down, clock=clock)
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/v1/alerts", headers={"Authorization": "Bearer pw_any"})
        assert response.status_code == 503
        assert response.headers["content-type"] == "application/problem+json"
        assert response.headers["retry-after"]
        assert client.get("/healthz").status_code == 503


def test_outbound_webhook_deliveries_of_patient_data_are_audited(
    world: World, engine: Engine
) -> None:
    receiver = WebhookReceiver().start()
    try:
        factory = make_session_factory(engine)
        add_endpoint(factory, team_id=world.team_a, url=receiver.url())
        add_endpoint(factory, team_id=world.team_a, url="http://127.0.0.1:9/closed")
        with transaction(factory) as session:  # bare: the delivery job sends them
            new_alert(UnitOfWork(session), patient_id="p2")
        # the receiver is on 127.0.0.1
        assert deliver_due(factory, now=WEBHOOK_T0, outbound=Outbound(allow_private=True)) == 2
    finally:
        receiver.stop()
    rows = [(r.actor, r.action, r.patient_id, r.outcome) for r in _audit(engine)]
    assert sorted(rows) == [
        ("system", "webhook_delivery", "p2", "delivered"),
        ("system", "webhook_delivery", "p2", "failed"),
    ]
