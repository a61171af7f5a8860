"""Hostile or malformed input is refused before it costs anything, with a 422 (or 413) problem
naming what was wrong; never a 500, and nothing stored."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from api.db import make_session_factory
from api.store import AuditEntry, CareTeam, Phq9Entry
from tests.api.conftest import World

BIG = 2**63  # one past the database's largest integer
pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def _problem(response: object, status: int) -> dict[str, object]:
    assert response.status_code == status, response.text  # type: ignore[attr-defined]
    assert response.headers["content-type"] == "application/problem+json"  # type: ignore[attr-defined]
    return response.json()  # type: ignore[attr-defined,no-any-return]


def test_a_large_json_body_is_refused_before_authentication(
    client: TestClient, world: World, engine: Engine
) -> None:
    big = json.dumps({"name": "x" * 70_000})
    declared = client.post(
        "/v1/admin/teams", content=big, headers={"Content-Type": "application/json"}
    )
    assert _problem(declared, 413)["limit"] == 64 * 1024

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it streams
        for _ in range(100):
            yield b"x" * 1024

    streamed = client.post(
        "/v1/admin/teams",
        content=chunks(),
        headers={"Content-Type": "application/json", **world.auth(world.admin)},
    )
    _problem(streamed, 413)
    form = client.post(
        "/v1/admin/teams",
        content=b"a=" + b"x" * 70_000,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    _problem(form, 413)
    with make_session_factory(engine)() as s:
        assert s.scalar(select(func.count()).select_from(CareTeam)) == 2  # the world's two
        # refused before the route: no audit row, no database work at all
        assert s.scalar(select(func.count()).select_from(AuditEntry)) == 0
    # uploads keep their own, larger limit
    upload = client.post(
        "/v1/patients/p1/uploads?filename=big.csv",
        content=b"answered_at,item_1\n" + b"x" * 100_000,
        headers=world.auth(world.p1),
    )
    assert upload.status_code == 202


def test_unknown_fields_are_refused(client: TestClient, world: World) -> None:
    response = client.post(
        "/v1/admin/teams", json={"name": "T", "is_admin": True}, headers=world.auth(world.admin)
    )
    assert _problem(response, 422)["field"] == "is_admin"


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("GET", f"/v1/alerts/{BIG}", None, "alert_id"),
        ("POST", f"/v1/alerts/{BIG}/resolve", {"note": "n"}, "alert_id"),
        ("GET", f"/v1/alerts?cursor={BIG}", None, "cursor"),
        ("GET", "/v1/alerts?cursor=%D9%A1%D9%A2", None, "cursor"),  # Arabic-Indic digits
        ("GET", "/v1/alerts?cursor=%C2%B2", None, "cursor"),  # superscript two
        ("DELETE", f"/v1/admin/tokens/{BIG}", None, "token_id"),
        ("POST", "/v1/admin/tokens", {"user_id": BIG}, "user_id"),
        ("POST", "/v1/admin/patients", {"id": "p9", "team_id": BIG}, "team_id"),
        ("GET", f"/v1/teams/{BIG}/webhooks", None, "team_id"),
        ("GET", "/v1/teams/1/webhook-deliveries?before=99999999999999999999", None, "before"),
    ],
)
def test_out_of_range_ids_and_odd_cursors_are_422_naming_the_field(
    client: TestClient, world: World, method: str, path: str, body: object, field: str
) -> None:
    token = world.admin if "admin" in path else world.coord_a
    response = client.request(method, path, json=body, headers=world.auth(token))
    assert _problem(response, 422)["field"] == field


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/v1/admin/teams", {"name": "Team\x00A"}, "name"),
        ("/v1/admin/users", {"email": "a\r\nBcc: x@y.example", "name": "A"}, "email"),
        ("/v1/admin/users", {"email": "a@b.example", "name": "A\x1b[31m"}, "name"),
        ("/v1/admin/tokens", {"patient_id": "p1", "label": "l\x00"}, "label"),
        ("/v1/alerts/1/resolve", {"note": "called\x00"}, "note"),
    ],
)
def test_control_characters_are_refused(
    client: TestClient, world: World, path: str, body: dict[str, str], field: str
) -> None:
    token = world.admin if "admin" in path else world.coord_a
    response = client.post(path, json=body, headers=world.auth(token))
    assert _problem(response, 422)["field"] == field


def test_control_characters_in_a_file_name_are_refused(client: TestClient, world: World) -> None:
    response = client.post(
        "/v1/patients/p1/uploads?filename=a%00.xml", content=b"x", headers=world.auth(world.p1)
    )
    assert _problem(response, 422)["field"] == "filename"


def test_a_note_may_hold_line_breaks(client: TestClient, world: World) -> None:
    response = client.post(
        "/v1/alerts/1/resolve",
        json={"note": "line one\nline two"},
        headers=world.auth(world.coord_a),
    )
    assert _problem(response, 404)["status"] == 404  # valid note; no such alert


def test_a_fhir_response_missing_items_is_422_and_stores_nothing(
    client: TestClient, world: World, engine: Engine
) -> None:
    response_resource = {
        "resourceType": "QuestionnaireResponse",
        "status": "completed",
        "questionnaire": "http://loinc.org/q/44249-1",
        "authored": "2026-03-01T10:00:00Z",
        "item": [{"linkId": "/44250-9", "answer": [{"valueInteger": 1}]}],
    }
    response = client.post(
        "/v1/patients/p1/phq9",
        json=response_resource,
        headers={**world.auth(world.p1), "Content-Type": "application/fhir+json"},
    )
    problem = _problem(response, 422)
    assert problem["field"] == "item_2"
    assert "item_2" in str(problem["detail"])
    with make_session_factory(engine)() as s:
        assert s.scalar(select(func.count()).select_from(Phq9Entry)) == 0
