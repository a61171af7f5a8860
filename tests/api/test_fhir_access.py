"""Who may read what through /fhir: the JSON API's rules, answered as FHIR. A coordinator of
another team gets 404 and searches that find nothing; every call is audited; every error is an
OperationOutcome, and no query string makes the interface fail."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from api.clock import FixedClock
from api.db import make_session_factory
from api.fhir.routes import router
from api.store import AuditEntry
from tests.api.conftest import World
from tests.api.fhir_client import FHIR_JSON, get, search_all, valid
from tests.api.serve_data import populate

CALLERS = ("own_patient", "other_patient", "team_coordinator", "other_coordinator", "admin",
           "nobody", "bad_token")  # fmt: skip
CARE = {"own_patient", "team_coordinator"}
TEAM = {"team_coordinator"}


def _token(world: World, caller: str) -> str | None:
    return {
        "own_patient": world.p1,
        "other_patient": world.p3,
        "team_coordinator": world.coord_a,
        "other_coordinator": world.coord_b,
        "admin": world.admin,
        "bad_token": "pw_not-a-token-anyone-was-given",
    }.get(caller)


def _refusal(caller: str, allowed: set[str]) -> int:
    if caller in ("nobody", "bad_token"):
        return 401
    if caller == "admin" or (allowed == TEAM and caller.endswith("patient")):
        return 403  # the role has no such reads at all
    return 404  # as if p1 did not exist


def test_only_permitted_callers_read_a_patients_resources(
    client: TestClient, world: World, engine: Engine, clock: FixedClock, tmp_path: Path
) -> None:
    _, alert = populate(engine, "p1", clock.now(), tmp_path)
    [entry] = search_all(client, "/fhir/QuestionnaireResponse?patient=p1", world.p1)
    reads = [
        ("/fhir/Patient/p1", CARE),
        ("/fhir/Observation/sleep-20260301-p1", CARE),
        (f"/fhir/Observation/{entry['id']}-total", CARE),
        (f"/fhir/QuestionnaireResponse/{entry['id']}", CARE),
        (f"/fhir/DetectedIssue/{alert}", TEAM),
        (f"/fhir/Task/{alert}", TEAM),
    ]
    for path, allowed in reads:
        answers = {c: client.get(path, headers=_headers(world, c)) for c in CALLERS}
        assert {c: r.status_code for c, r in answers.items()} == {
            c: 200 if c in allowed else _refusal(c, allowed) for c in CALLERS
        }, path
        for caller, response in answers.items():
            assert response.headers["content-type"] == FHIR_JSON
            body = valid(response.json())
            if caller not in allowed:
                assert body["resourceType"] == "OperationOutcome"
                assert "401.0" not in response.text  # p1's sleep minutes


def _headers(world: World, caller: str) -> dict[str, str]:
    token = _token(world, caller)
    return world.auth(token) if token else {}


def test_a_hidden_patient_looks_exactly_like_an_absent_one(
    client: TestClient, world: World, engine: Engine, clock: FixedClock, tmp_path: Path
) -> None:
    _, alert = populate(engine, "p1", clock.now(), tmp_path)
    for hidden, absent in (
        ("/fhir/Patient/p1", "/fhir/Patient/p9"),
        ("/fhir/Observation/sleep-20260301-p1", "/fhir/Observation/sleep-20260301-p9"),
        (f"/fhir/Task/{alert}", f"/fhir/Task/{alert + 100}"),
    ):
        one = get(client, hidden, world.coord_b, status=404)
        other = get(client, absent, world.coord_b, status=404)
        hidden_id, absent_id = hidden.rsplit("/", 1)[1], absent.rsplit("/", 1)[1]
        assert json.dumps(one).replace(hidden_id, "X") == json.dumps(other).replace(absent_id, "X")


def test_searches_never_reach_past_the_callers_scope(
    client: TestClient, world: World, engine: Engine, clock: FixedClock, tmp_path: Path
) -> None:
    populate(engine, "p1", clock.now(), tmp_path)
    _, alert_p3 = populate(engine, "p3", clock.now(), tmp_path)
    b = world.coord_b
    for resource_type in ("DetectedIssue", "Task"):
        assert [r["id"] for r in search_all(client, f"/fhir/{resource_type}", b)] == [str(alert_p3)]
        assert search_all(client, f"/fhir/{resource_type}?patient=p1", b) == []
        assert search_all(client, f"/fhir/{resource_type}?patient=Patient/p1", b) == []
    assert [p["id"] for p in search_all(client, "/fhir/Patient", b)] == ["p3"]
    assert search_all(client, "/fhir/Patient?_id=p1", b) == []
    for resource_type in ("Observation", "QuestionnaireResponse"):
        assert search_all(client, f"/fhir/{resource_type}?patient=p1", b) == []
        assert search_all(client, f"/fhir/{resource_type}?patient=p1&patient=p3", b) == []
        assert search_all(client, f"/fhir/{resource_type}?subject=p1", world.p3) == []
        # a patient's search is their own, whatever else it names
        own = search_all(client, f"/fhir/{resource_type}", world.p3)
        assert own and {r["subject"]["reference"] for r in own} == {"Patient/p3"}
    assert [p["id"] for p in search_all(client, "/fhir/Patient", world.p1)] == ["p1"]


def test_every_fhir_read_is_audited_without_tokens_or_values(
    client: TestClient, world: World, engine: Engine, clock: FixedClock, tmp_path: Path
) -> None:
    _, alert = populate(engine, "p1", clock.now(), tmp_path)
    client.get("/fhir/metadata")
    client.get("/fhir/Observation?patient=p1", headers=world.auth(world.p1))
    client.get("/fhir/Patient/p1", headers=world.auth(world.coord_b))
    client.get("/fhir/Observation/sleep-20260301-p1", headers={"Authorization": "Bearer pw_x"})
    client.get(f"/fhir/DetectedIssue/{alert}", headers=world.auth(world.coord_a))
    client.get("/fhir/Task?patient=p1&date=bad", headers=world.auth(world.coord_a))
    client.get("/fhir/Patient", headers=world.auth(world.coord_a))  # a list: one row a patient

    with make_session_factory(engine)() as s:
        rows = s.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
    seen = [(r.actor.split(":")[0], r.action, r.patient_id, r.outcome) for r in rows]
    assert seen == [
        ("patient", "fhir_search_observation", "p1", "ok"),
        ("user", "fhir_read_patient", "p1", "not_found"),
        ("anonymous", "fhir_read_observation", None, "unauthenticated"),
        ("user", "fhir_read_detectedissue", "p1", "ok"),
        ("user", "fhir_search_task", "p1", "rejected"),
        ("user", "fhir_search_patient", "p1", "ok"),
        ("user", "fhir_search_patient", "p2", "ok"),
    ]
    assert rows[0].resource == "GET /fhir/Observation"
    text = json.dumps([[str(v) for v in vars(r).values()] for r in rows])
    for secret in (world.p1, world.coord_a, world.coord_b, "pw_x"):
        assert secret not in text
    assert "401.0" not in text


HOSTILE_QUERIES = [
    "_count=-1", "_count=201", "_count=abc", "_count=²", "_offset=9999999999", "date=2026-13-45",
    "date=ne2026-03-01", "date=ge", "date=9999-12-31", "date=0000-01-01", "code=", "code=|",
    "_lastUpdated=le2026-03-01T25:00:00Z", "patient=", "patient=%00", "patient=" + "x" * 5000,
    "patient=" + "y" * 100,
    "status=%FF", "unknown=1", "patient:missing=true", "_sort=date", "date=2026-03-01T10:00+99:00",
    "_count=0", "_format=json", "code=a,b,,c", "date=ge2026-03-01&date=le2026-02-01",
]  # fmt: skip


def test_every_error_is_an_operation_outcome_and_no_query_string_breaks_a_search(
    client: TestClient, world: World, engine: Engine, clock: FixedClock, tmp_path: Path
) -> None:
    populate(engine, "p1", clock.now(), tmp_path)
    auth = world.auth(world.coord_a)
    for resource_type in ("Patient", "Observation", "QuestionnaireResponse", "DetectedIssue",
                          "Task", "Flag"):  # fmt: skip
        for query in HOSTILE_QUERIES:
            patient = "" if "patient" in query or resource_type == "Patient" else "patient=p1&"
            response = client.get(f"/fhir/{resource_type}?{patient}{query}", headers=auth)
            assert response.status_code in (200, 400), (resource_type, query, response.text)
            body = valid(response.json())
            expected = "Bundle" if response.status_code == 200 else "OperationOutcome"
            assert body["resourceType"] == expected
        bad = client.get(f"/fhir/{resource_type}?nonsense=1", headers=auth).json()
        assert "nonsense" in bad["issue"][0]["diagnostics"]
    for path in ("/fhir/Basic/1", "/fhir/Observation/nope", "/fhir/Task/99999999999999999999",
                 "/fhir/Patient/p1/_history", "/fhir/Observation/sleep-20261340-p1",
                 "/fhir/Patient/%00", "/fhir/QuestionnaireResponse/phq9-%F0%9F%98%80"):  # fmt: skip
        get(client, path, world.coord_a, status=404)
    written = client.post("/fhir/Observation", json={"resourceType": "Observation"}, headers=auth)
    assert (
        written.status_code == 405 and valid(written.json())["resourceType"] == "OperationOutcome"
    )
    xml = client.get("/fhir/Patient/p1", headers=auth | {"Accept": "application/fhir+xml"})
    assert xml.status_code == 406 and xml.headers["content-type"] == FHIR_JSON
    assert client.get("/fhir/Patient/p1?_format=xml", headers=auth).status_code == 406
    assert client.get("/fhir/Patient/p1", headers=auth | {"Accept": "*/*"}).status_code == 200
    unauthenticated = client.get("/fhir/Patient/p1")
    assert unauthenticated.status_code == 401
    assert unauthenticated.headers["www-authenticate"] == "Bearer"
    assert valid(unauthenticated.json())["issue"][0]["code"] == "login"


def test_metadata_lists_exactly_the_resources_and_searches_served(
    client: TestClient, world: World, engine: Engine, clock: FixedClock, tmp_path: Path
) -> None:
    populate(engine, "p1", clock.now(), tmp_path)
    statement = get(client, "/fhir/metadata", None)
    assert client.head("/fhir/metadata").status_code == 200
    assert statement["fhirVersion"] == "4.0.1" and FHIR_JSON in statement["format"]
    declared = {r["type"]: r for r in statement["rest"][0]["resource"]}
    routed = {
        route.path.split("/")[2]
        for route in router.routes
        if isinstance(route, APIRoute) and "{rest" not in route.path
    } - {"metadata"}
    assert set(declared) == routed
    samples = {"reference": "p1", "token": "x", "date": "ge2026-01-01", "number": "1"}
    for resource_type, resource in declared.items():
        assert {i["code"] for i in resource["interaction"]} == {"read", "search-type"}
        for param in resource["searchParam"]:
            query = f"{param['name']}={samples[param['type']]}"
            if (
                resource_type in ("Observation", "QuestionnaireResponse")
                and param["type"] != "reference"
            ):
                query += "&patient=p1"
            search_all(client, f"/fhir/{resource_type}?{query}", world.coord_a)
