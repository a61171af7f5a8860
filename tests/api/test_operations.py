"""Operations and administration: health, metrics, problem responses, admin routes and commands,
the timeline, and detection for patients with new data."""

from __future__ import annotations

import logging
from datetime import date, timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from api.cli import app as cli
from api.clock import FixedClock
from api.db import make_session_factory, transaction
from api.scheduler import Scheduler
from api.services.alerts import open_alert
from api.services.nights import store_nights
from api.settings import Settings
from api.store import ApiToken, Patient
from api.unit_of_work import unit_of_work
from tests.api.conftest import World
from tests.api.serve_data import APPLE_EXPORT, nights_frame, signal


def test_health_and_metrics_report_requests_alerts_and_uploads(
    client: TestClient, world: World, engine: Engine, clock: FixedClock
) -> None:
    with unit_of_work(make_session_factory(engine), clock=clock) as work:
        open_alert(work, signal=signal("p1", "phq9_safety", "urgent"), now=clock.now())
    client.post(
        "/v1/patients/p1/uploads?filename=a.xml",
        content=APPLE_EXPORT.read_bytes(),
        headers=world.auth(world.p1),
    )
    assert client.get("/healthz").json() == {"status": "ok"}
    text = client.get("/metrics", headers=world.auth(world.admin)).text
    assert 'phenowatch_alerts_opened_total{kind="phq9_safety"} 1.0' in text
    assert 'phenowatch_uploads{status="queued"} 1.0' in text
    assert (
        'phenowatch_http_requests_total{method="POST",route="/v1/patients/{patient_id}/uploads",'
        'status="202"} 1.0' in text
    )
    assert "p1" not in text  # route templates, never concrete patient ids


def test_unexpected_errors_are_a_bare_500_problem(app: FastAPI, world: World) -> None:
    @app.get("/v1/boom")
    def boom() -> None:
        raise RuntimeError("secret internals /etc/passwd")

    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/v1/boom")
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert "internals" not in response.text


def test_validation_errors_name_the_field(client: TestClient, world: World) -> None:
    response = client.get("/v1/alerts?limit=0", headers=world.auth(world.coord_a))
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "query.limit"
    bad_filter = client.get("/v1/alerts?status=sleeping", headers=world.auth(world.coord_a))
    assert (bad_filter.status_code, bad_filter.json()["field"]) == (422, "status")


def test_admins_set_up_a_team_whose_coordinator_then_sees_its_patient(
    client: TestClient, world: World, engine: Engine
) -> None:
    admin = world.auth(world.admin)
    team = client.post("/v1/admin/teams", json={"name": "Team C"}, headers=admin).json()
    user = client.post(
        "/v1/admin/users", json={"email": "c@care.example", "name": "C"}, headers=admin
    ).json()
    client.post(
        f"/v1/admin/teams/{team['id']}/members", json={"user_id": user["id"]}, headers=admin
    )
    client.post("/v1/admin/patients", json={"id": "p7", "team_id": team["id"]}, headers=admin)
    issued = client.post("/v1/admin/tokens", json={"user_id": user["id"]}, headers=admin).json()
    coordinator = world.auth(issued["token"])

    assert client.get("/v1/patients/p7/nights", headers=coordinator).status_code == 200
    assert client.get("/v1/patients/p1/nights", headers=coordinator).status_code == 404
    assert (
        client.post("/v1/admin/teams", json={"name": "X"}, headers=coordinator).status_code == 403
    )
    duplicate = client.post("/v1/admin/teams", json={"name": "Team C"}, headers=admin)
    assert duplicate.status_code == 409
    with make_session_factory(engine)() as s:  # only the digest is kept
        digests = s.scalars(select(ApiToken.token_sha256)).all()
    assert issued["token"] not in digests and len(issued["token"]) > 40

    client.delete(f"/v1/admin/tokens/{issued['id']}", headers=admin)
    assert client.get("/v1/patients/p7/nights", headers=coordinator).status_code == 401


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_admin_command_creates_what_the_api_then_accepts(
    db_url: str, engine: Engine, client: TestClient
) -> None:
    runner = CliRunner()

    def admin(*args: str) -> str:
        result = runner.invoke(cli, ["admin", *args], env={"PHENOWATCH_DATABASE_URL": db_url})
        assert result.exit_code == 0, result.output
        return result.stdout.strip()

    assert admin("create-team", "Night shift") == "team 1: Night shift"
    assert admin("create-coordinator", "n@care.example", "--team", "1") == "user 1: n@care.example"
    assert admin("create-patient", "p42", "--team", "1") == "patient p42 in team 1"
    token = admin("create-token", "--user", "1")
    response = client.get("/v1/patients/p42/nights", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200


def test_the_timeline_brings_nights_answers_and_alerts_together(
    client: TestClient, world: World, engine: Engine, clock: FixedClock
) -> None:
    rows = [
        {"date": date(2026, 1, 1) + timedelta(days=i), "has_sleep": True,
         "sleep_total_min": 450.0 if i < 20 else 330.0}
        for i in range(40)
    ]  # fmt: skip
    with unit_of_work(make_session_factory(engine), clock=clock) as work:
        store_nights(
            work.session, patient_id="p1", nights=nights_frame("p1", rows), now=clock.now()
        )
        open_alert(work, signal=signal("p1"), now=clock.now())
    coordinator = client.get("/v1/patients/p1/timeline", headers=world.auth(world.coord_a)).json()
    patient = client.get("/v1/patients/p1/timeline", headers=world.auth(world.p1)).json()
    assert len(coordinator["nights"]) == 40
    assert any(c["metric"] == "sleep_total_min" for c in coordinator["change_points"])
    assert [a["kind"] for a in coordinator["alerts"]] == ["passive_change"]
    assert "alerts" not in patient


def test_new_data_marks_a_patient_for_the_next_detection_run(
    engine: Engine, clock: FixedClock, settings: Settings, world: World
) -> None:
    factory = make_session_factory(engine)
    with transaction(factory) as s:
        s.get(Patient, "p1").detection_due_at = clock.now()  # type: ignore[union-attr]
    scheduler = Scheduler(engine=engine, factory=factory, settings=settings, clock=clock)
    scheduler.detect_due()
    with factory() as s:
        assert s.get(Patient, "p1").detection_due_at is None  # type: ignore[union-attr]


def test_the_openapi_document_lists_every_v1_route(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert {
        "/v1/patients/{patient_id}/uploads",
        "/v1/patients/{patient_id}/phq9",
        "/v1/patients/{patient_id}/nights",
        "/v1/patients/{patient_id}/timeline",
        "/v1/uploads/{upload_id}",
        "/v1/alerts",
        "/v1/alerts/{alert_id}",
        "/v1/alerts/{alert_id}/acknowledge",
        "/v1/alerts/{alert_id}/resolve",
    } <= set(paths)
    assert client.get("/docs").status_code == 200


def test_tokens_and_health_data_never_reach_the_logs(
    client: TestClient,
    world: World,
    engine: Engine,
    settings: Settings,
    clock: FixedClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from api.worker import UploadWorker

    caplog.set_level(logging.DEBUG)
    p1 = world.auth(world.p1)
    client.post(
        "/v1/patients/p1/uploads?filename=a.xml", content=APPLE_EXPORT.read_bytes(), headers=p1
    )
    client.post("/v1/patients/p1/uploads?filename=b.txt", content=b"mood: low 17", headers=p1)
    answers = b'{"answered_at": "2026-03-02T08:00:00Z", "items": [3,3,3,3,3,3,3,3,3]}'
    client.post("/v1/patients/p1/phq9", content=answers, headers=p1)
    client.get("/v1/patients/p1/nights", headers={"Authorization": "Bearer pw_guess"})
    UploadWorker(make_session_factory(engine), settings=settings, clock=clock).drain()
    client.get("/v1/patients/p1/timeline", headers=p1)

    logged = caplog.text
    assert "upload" in logged  # the worker did log, just nothing private
    for secret in (world.p1, "pw_guess", "mood: low", "[3,3,3", "3, 3, 3"):
        assert secret not in logged


def test_settings_refuse_placeholder_secrets_and_read_the_environment() -> None:
    from pydantic import ValidationError

    for placeholder in ("changeme", "Password", "short-but-random"):
        with pytest.raises(ValidationError) as raised:
            Settings.from_env({"PHENOWATCH_BOOTSTRAP_ADMIN_TOKEN": placeholder})
        assert placeholder not in str(raised.value)  # the refused value is not echoed
    settings = Settings.from_env(
        {"PHENOWATCH_DATABASE_URL": "postgresql+psycopg://db/pw", "PHENOWATCH_RUN_WORKER": "0"}
    )
    assert (settings.database_url, settings.run_worker, settings.is_sqlite) == (
        "postgresql+psycopg://db/pw", False, False
    )  # fmt: skip


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_bootstrap_admin_token_works_from_the_first_start(
    settings: Settings, engine: Engine, clock: FixedClock
) -> None:
    from api.app import create_app

    secret = "bootstrap-" + "x7Qm2Lp9" * 4
    app = create_app(
        settings.model_copy(update={"bootstrap_admin_token": secret}), clock=clock, engine=engine
    )
    with TestClient(app) as client:
        made = client.post(
            "/v1/admin/teams",
            json={"name": "Day shift"},
            headers={"Authorization": f"Bearer {secret}"},
        )
    assert made.status_code == 201
