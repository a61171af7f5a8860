"""Who may call what: every patient-scoped endpoint, called by the patient, another patient, a
coordinator of the patient's team, a coordinator of another team, an admin, nobody and a bad
token. Only the permitted calls succeed, and nothing of another patient leaks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from api.clock import FixedClock
from api.db import make_session_factory
from api.store import AuditEntry, Night, Phq9Entry, Upload
from tests.api.conftest import World
from tests.api.serve_data import PHQ9_JSON, populate

CALLERS = ("own_patient", "other_patient", "team_coordinator", "other_coordinator", "admin",
           "nobody", "bad_token")  # fmt: skip
#: (method, path template, allowed callers)
READS = [
    ("GET", "/v1/patients/{p}/nights", {"own_patient", "team_coordinator"}),
    ("GET", "/v1/patients/{p}/phq9", {"own_patient", "team_coordinator"}),
    ("GET", "/v1/patients/{p}/timeline", {"own_patient", "team_coordinator"}),
    ("GET", "/v1/uploads/{upload}", {"own_patient", "team_coordinator"}),
    ("GET", "/v1/alerts/{alert}", {"team_coordinator"}),
]
WRITES = [
    ("POST", "/v1/patients/{p}/uploads", {"own_patient", "team_coordinator"}),
    ("POST", "/v1/patients/{p}/phq9", {"own_patient", "team_coordinator"}),
    ("POST", "/v1/alerts/{alert}/acknowledge", {"team_coordinator"}),
    ("POST", "/v1/alerts/{alert}/resolve", {"team_coordinator"}),
]


def _headers(world: World, caller: str) -> dict[str, str]:
    token = {
        "own_patient": world.p1,
        "other_patient": world.p3,
        "team_coordinator": world.coord_a,
        "other_coordinator": world.coord_b,
        "admin": world.admin,
        "bad_token": "pw_not-a-token-anyone-was-given",
    }.get(caller)
    return world.auth(token) if token else {}


def _call(client: TestClient, method: str, path: str, headers: dict[str, str]):
    if path.endswith("/uploads"):
        return client.post(path + "?filename=a.xml", content=b"<HealthData/>", headers=headers)
    if path.endswith("/phq9") and method == "POST":
        return client.post(path, content=PHQ9_JSON.read_bytes(), headers=headers)
    if path.endswith("/resolve"):
        return client.post(path, json={"note": "called the patient"}, headers=headers)
    return client.request(method, path, headers=headers)


def _expected_refusal(caller: str, template: str) -> int:
    if caller in ("nobody", "bad_token"):
        return 401
    if caller == "admin" or (
        template.startswith("/v1/alerts") and caller in ("own_patient", "other_patient")
    ):
        return 403  # the role has no such routes at all
    return 404  # as if p1 did not exist


@pytest.mark.parametrize(("method", "template", "allowed"), READS + WRITES)
def test_only_permitted_callers_reach_a_patients_data(
    client: TestClient,
    world: World,
    engine: Engine,
    clock: FixedClock,
    tmp_path: Path,
    method: str,
    template: str,
    allowed: set[str],
) -> None:
    upload_id, alert_id = populate(engine, "p1", clock.now(), tmp_path)
    path = template.format(p="p1", upload=upload_id, alert=alert_id)
    refused = [c for c in CALLERS if c not in allowed]

    answers = {c: _call(client, method, path, _headers(world, c)) for c in refused}
    assert {c: r.status_code for c, r in answers.items()} == {
        c: _expected_refusal(c, template) for c in refused
    }
    for response in answers.values():
        assert response.headers["content-type"] == "application/problem+json"
        assert "401.0" not in response.text  # p1's sleep minutes
    with make_session_factory(engine)() as s:  # a refused write stored nothing
        assert s.scalar(select(Upload.id).where(Upload.id != upload_id)) is None
        assert len(s.scalars(select(Phq9Entry)).all()) == 1
        assert len(s.scalars(select(Night)).all()) == 1

    for caller in sorted(allowed, key=CALLERS.index):
        response = _call(client, method, path, _headers(world, caller))
        assert response.status_code < 300, (caller, response.text)


def test_a_hidden_patient_looks_exactly_like_an_absent_one(
    client: TestClient, world: World, engine: Engine, clock: FixedClock, tmp_path: Path
) -> None:
    populate(engine, "p1", clock.now(), tmp_path)
    hidden = client.get("/v1/patients/p1/nights", headers=world.auth(world.coord_b))
    absent = client.get("/v1/patients/p9/nights", headers=world.auth(world.coord_b))
    assert hidden.status_code == absent.status_code == 404
    assert hidden.json()["detail"].replace("p1", "X") == absent.json()["detail"].replace("p9", "X")


def test_alert_filters_never_widen_a_coordinators_scope(
    client: TestClient, world: World, engine: Engine, clock: FixedClock, tmp_path: Path
) -> None:
    _, alert_p1 = populate(engine, "p1", clock.now(), tmp_path)
    _, alert_p3 = populate(engine, "p3", clock.now(), tmp_path)
    b = world.auth(world.coord_b)

    everything = client.get("/v1/alerts", headers=b).json()
    assert [a["id"] for a in everything["items"]] == [alert_p3]
    assert client.get("/v1/alerts?patient_id=p1", headers=b).json()["items"] == []
    for query in ("status=open", "kind=passive_change", "severity=moderate", "limit=200",
                  f"cursor={alert_p1 + 1}"):  # fmt: skip
        items = client.get(f"/v1/alerts?{query}", headers=b).json()["items"]
        assert {a["patient_id"] for a in items} <= {"p3"}
    a = client.get("/v1/alerts", headers=world.auth(world.coord_a)).json()
    assert [x["id"] for x in a["items"]] == [alert_p1]


def test_every_patient_scoped_call_is_audited_without_tokens_or_values(
    client: TestClient, world: World, engine: Engine, clock: FixedClock, tmp_path: Path
) -> None:
    _upload_id, alert_id = populate(engine, "p1", clock.now(), tmp_path)
    client.get("/v1/patients/p1/nights", headers=world.auth(world.p1))
    client.get("/v1/patients/p1/nights", headers=world.auth(world.coord_b))
    client.get("/v1/patients/p1/nights", headers={"Authorization": "Bearer pw_wrong"})
    client.post(
        "/v1/patients/p1/phq9", content=PHQ9_JSON.read_bytes(), headers=world.auth(world.p1)
    )
    client.post(f"/v1/alerts/{alert_id}/acknowledge", headers=world.auth(world.coord_a))

    with make_session_factory(engine)() as s:
        rows = s.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
    seen = [(r.actor.split(":")[0], r.role, r.action, r.patient_id, r.outcome) for r in rows]
    assert seen == [
        ("patient", "patient", "list_nights", "p1", "ok"),
        ("user", "coordinator", "list_nights", "p1", "not_found"),
        ("anonymous", "anonymous", "list_nights", "p1", "unauthenticated"),
        ("patient", "patient", "create_phq9", "p1", "ok"),
        ("user", "coordinator", "acknowledge_alert", "p1", "ok"),
    ]
    text = json.dumps([[str(v) for v in vars(r).values()] for r in rows])
    for secret in (world.p1, world.coord_a, world.coord_b, "pw_wrong"):
        assert secret not in text
    assert "401.0" not in text and "items" not in text
