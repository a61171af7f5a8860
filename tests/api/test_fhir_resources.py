"""The FHIR interface's resources, as an EHR reads them: a PHQ-9 sent as a QuestionnaireResponse
comes back with the same answers (and as the US Core screening Observations), nights come back
as coded Observations, and an alert's life cycle shows in its DetectedIssue, Task and Flag.
Every answer validates against the FHIR R4 models of fhir.resources."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date

import polars as pl
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

import ingest
from api.app import create_app
from api.clock import FixedClock
from api.db import make_session_factory, transaction
from api.services.alerts import open_alert
from api.services.nights import store_nights
from api.services.phq9 import store_phq9
from api.settings import Settings
from api.store.webhooks import Delivery
from api.unit_of_work import UnitOfWork
from detect.signals import MetricChange
from tests.api.conftest import World
from tests.api.fhir_client import canonical, get, search_all
from tests.api.serve_data import nights_frame, phq9_frame, populate, signal
from tests.api.webhook_world import add_endpoint

LOINC = "http://loinc.org"
ANSWERS = [("LA6568-5", "Not at all"), ("LA6569-3", "Several days"),
           ("LA6570-1", "More than half the days"), ("LA6571-9", "Nearly every day")]  # fmt: skip
QUESTIONS = [
    ("44250-9", "Little interest or pleasure in doing things", 2),
    ("44255-8", "Feeling down, depressed, or hopeless", 1),
    ("44259-0", "Trouble falling or staying asleep, or sleeping too much", 3),
    ("44254-1", "Feeling tired or having little energy", 0),
    ("44251-7", "Poor appetite or overeating", 1),
    ("44258-2", "Feeling bad about yourself - or that you are a failure or have let yourself "
     "or your family down", 2),
    ("44252-5", "Trouble concentrating on things, such as reading the newspaper or watching "
     "television", 0),
    ("44253-3", "Moving or speaking so slowly that other people could have noticed. Or the "
     "opposite - being so fidgety or restless that you have been moving around a lot more "
     "than usual", 1),
    ("44260-8", "Thoughts that you would be better off dead, or of hurting yourself in some "
     "way", 1),
]  # fmt: skip


def _response() -> dict[str, object]:
    """A PHQ-9 as an EHR or a patient app sends it: total 11, item 9 answered 1."""
    items: list[dict[str, object]] = [
        {"linkId": code, "text": text,
         "answer": [{"valueCoding": {"system": LOINC, "code": ANSWERS[score][0],
                                     "display": ANSWERS[score][1]}}]}
        for code, text, score in QUESTIONS
    ]  # fmt: skip
    items.append({
        "linkId": "69722-7",
        "text": "How difficult have these problems made it for you to do your work, take care "
        "of things at home, or get along with other people?",
        "answer": [{"valueCoding": {"system": LOINC, "code": "LA6575-0",
                                    "display": "Very difficult"}}],
    })  # fmt: skip
    items.append(
        {
            "linkId": "44261-6",
            "text": "Patient Health Questionnaire 9 item (PHQ-9) total score [Reported]",
            "answer": [{"valueInteger": 11}],
        }
    )
    return {
        "resourceType": "QuestionnaireResponse",
        "questionnaire": "http://loinc.org/q/44249-1",
        "status": "completed",
        "subject": {"reference": "Patient/p1"},
        "authored": "2026-03-01T20:15:00Z",
        "item": items,
    }


def _submit(client: TestClient, world: World) -> dict[str, object]:
    sent = _response()
    answer = client.post(
        "/v1/patients/p1/phq9",
        content=json.dumps(sent),
        headers=world.auth(world.p1) | {"Content-Type": "application/fhir+json"},
    )
    assert answer.status_code == 201, answer.text
    assert "safety" in answer.json()
    return sent


def test_a_phq9_sent_as_fhir_reads_back_with_the_same_answers(
    client: TestClient, world: World
) -> None:
    sent = _submit(client, world)

    [response] = search_all(client, "/fhir/QuestionnaireResponse?patient=p1", world.coord_a)
    assert canonical(response["item"]) == canonical(sent["item"])
    assert (response["questionnaire"], response["authored"]) == (
        sent["questionnaire"], sent["authored"])  # fmt: skip
    assert get(client, f"/fhir/QuestionnaireResponse/{response['id']}", world.p1) == response
    # what phenowatch writes, phenowatch's own reader takes back as the same entry
    again = ingest.load(json.dumps(response).encode(), patient_id="p1", display="qr.json").phq9
    scores = [again[f"item_{n}"][0] for n in range(1, 10)]
    assert scores == [score for _, _, score in QUESTIONS]
    assert (again["total"][0], again["difficulty"][0]) == (11, 2)


def test_a_phq9_is_also_the_us_core_screening_panel_derived_from_the_response(
    client: TestClient, world: World
) -> None:
    _submit(client, world)
    panels = search_all(client, f"/fhir/Observation?patient=p1&code={LOINC}|44249-1", world.p1)
    [panel] = panels
    [response] = search_all(client, "/fhir/QuestionnaireResponse", world.p1)
    assert [c["code"] for c in panel["category"][0]["coding"]] == ["survey"]
    assert panel["derivedFrom"] == [{"reference": f"QuestionnaireResponse/{response['id']}"}]
    assert panel["effectiveDateTime"] == "2026-03-01T20:15:00Z"
    members = [
        get(client, "/fhir/" + ref["reference"], world.coord_a) for ref in panel["hasMember"]
    ]
    answered = {
        m["code"]["coding"][0]["code"]: m["valueCodeableConcept"]["coding"][0]["code"]
        for m in members
        if "valueCodeableConcept" in m
    }
    assert answered == {code: ANSWERS[score][0] for code, _, score in QUESTIONS} | {
        "69722-7": "LA6575-0"
    }
    [total] = [m for m in members if m["code"]["coding"][0]["code"] == "44261-6"]
    assert total["valueQuantity"]["value"] == 11
    assert all(m["derivedFrom"] == panel["derivedFrom"] for m in members)
    # the panel and its members, as a searchset Bundle, read back as the same entry too
    bundle = get(client, "/fhir/Observation?patient=p1", world.p1)
    again = ingest.load(json.dumps(bundle).encode(), patient_id="p1", display="obs.json").phq9
    assert again.height == 1 and again["total"][0] == 11 and again["item_9"][0] == 1


def test_nights_are_coded_observations_and_a_missing_measure_is_no_observation(
    client: TestClient, world: World, engine: Engine, clock: FixedClock
) -> None:
    nights = nights_frame("p1", [
        {"date": date(2026, 3, 1), "sleep_total_min": 401.5, "resting_hr_bpm": 58.0,
         "hrv_sdnn_ms": 45.2, "hrv_rmssd_ms": 38.0, "steps": 8123.0, "has_sleep": True,
         "has_hrv": True, "has_resting_hr": True, "has_steps": True},
        {"date": date(2026, 3, 2), "steps": 4000.0, "has_steps": True},
    ])  # fmt: skip
    with transaction(make_session_factory(engine)) as session:
        store_nights(session, patient_id="p1", nights=nights, now=clock.now())

    found = search_all(client, "/fhir/Observation?patient=p1&_count=2", world.coord_a)
    by_id = {r["id"]: r for r in found}
    assert len(by_id) == len(found) == 6  # five measures of the first night, steps of the second
    coded = {
        (r["effectiveDateTime"], c["system"], c["code"]): r["valueQuantity"]
        for r in found
        for c in r["code"]["coding"]
    }
    assert coded[("2026-03-01", LOINC, "93832-4")]["value"] == 401.5
    assert coded[("2026-03-01", LOINC, "40443-4")]["value"] == 58
    ucum = "http://unitsofmeasure.org"
    assert coded[("2026-03-01", LOINC, "80404-7")] == {
        "value": 45.2, "unit": "ms", "system": ucum, "code": "ms"}  # fmt: skip
    [rmssd] = [k for k in coded if coded[k]["value"] == 38]
    assert rmssd[1] != LOINC and rmssd[2] != "80404-7"
    assert coded[("2026-03-01", LOINC, "41950-7")]["value"] == 8123
    assert ("2026-03-02", LOINC, "93832-4") not in coded  # no sleep that night: not a zero
    categories = {r["code"]["coding"][0]["code"]: r["category"][0]["coding"][0]["code"]
                  for r in found}  # fmt: skip
    assert categories["41950-7"] == categories["93832-4"] == "activity"
    assert categories["40443-4"] == "vital-signs"

    second = search_all(client, "/fhir/Observation?patient=p1&date=ge2026-03-02", world.p1)
    assert [(r["effectiveDateTime"], r["valueQuantity"]["value"]) for r in second] == [
        ("2026-03-02", 4000)
    ]
    first = search_all(client, "/fhir/Observation?patient=p1&date=le2026-03-01&code=41950-7",
                       world.p1)  # fmt: skip
    assert [r["valueQuantity"]["value"] for r in first] == [8123]
    assert search_all(client, "/fhir/Observation?patient=p1&_lastUpdated=gt2026-03-02T09:00:00Z",
                      world.p1) == []  # fmt: skip
    assert get(client, f"/fhir/Observation/{found[0]['id']}", world.p1) == found[0]


def test_an_alerts_life_cycle_shows_in_its_detected_issue_task_and_flag(
    client: TestClient, world: World, engine: Engine, clock: FixedClock, tmp_path
) -> None:
    _, passive = populate(engine, "p1", clock.now(), tmp_path)
    _submit(client, world)
    coordinator = world.coord_a
    [safety] = [a for a in client.get("/v1/alerts?kind=phq9_safety",
                                      headers=world.auth(coordinator)).json()["items"]]  # fmt: skip
    issue = get(client, f"/fhir/DetectedIssue/{safety['id']}", coordinator)
    assert (issue["severity"], issue["detail"]) == ("high", safety["explanation"])
    for ref in issue["evidence"][0]["detail"]:
        get(client, "/fhir/" + ref["reference"], coordinator)  # every piece of evidence resolves
    assert {r["reference"].split("/")[0] for r in issue["evidence"][0]["detail"]} == {
        "QuestionnaireResponse", "Observation"}  # fmt: skip
    passive_issue = get(client, f"/fhir/DetectedIssue/{passive}", coordinator)
    assert passive_issue["severity"] == "moderate"
    assert passive_issue["evidence"][0]["detail"] == [
        {"reference": "Observation/sleep-20260301-p1"}
    ]

    def state() -> tuple[str, str, str, object]:
        task = get(client, f"/fhir/Task/{safety['id']}", coordinator)
        flag = get(client, f"/fhir/Flag/{safety['id']}", coordinator)
        assert task["focus"] == {"reference": f"DetectedIssue/{safety['id']}"}
        issue = get(client, f"/fhir/DetectedIssue/{safety['id']}", coordinator)
        notes = [(m["action"]["text"], m["author"]["display"]) for m in issue.get("mitigation", [])]
        return task["status"], task["owner"]["display"], flag["status"], notes

    assert state() == ("requested", "Team A", "active", [])
    auth = world.auth(coordinator)
    client.post(f"/v1/alerts/{safety['id']}/acknowledge", json={"note": "Calling now."},
                headers=auth)  # fmt: skip
    assert state() == ("accepted", "A", "active", [("Calling now.", "A")])
    client.post(f"/v1/alerts/{safety['id']}/resolve", json={"note": "Safe; seen today."},
                headers=auth)  # fmt: skip
    assert state() == ("completed", "A", "inactive",
                       [("Calling now.", "A"), ("Safe; seen today.", "A")])  # fmt: skip
    assert search_all(client, "/fhir/Flag?status=active", coordinator) == []
    assert [t["id"] for t in search_all(client, "/fhir/Task?status=completed", coordinator)] == [
        str(safety["id"])
    ]
    assert [i["id"] for i in search_all(client, "/fhir/DetectedIssue?status=preliminary",
                                        coordinator)] == [str(passive)]  # fmt: skip
    assert get(client, f"/fhir/Flag/{passive}", coordinator, status=404)


def test_the_webhook_of_an_alert_names_its_detected_issue(
    client: TestClient, world: World, engine: Engine
) -> None:
    add_endpoint(make_session_factory(engine), team_id=world.team_a, url="http://127.0.0.1:9/hook")
    _submit(client, world)
    with make_session_factory(engine)() as session:
        payload = json.loads(session.scalars(select(Delivery.payload)).one())
    issue = get(client, f"/fhir/DetectedIssue/{payload['data']['detected_issue_id']}",
                world.coord_a)  # fmt: skip
    assert issue["identifier"][0]["value"] == str(payload["data"]["alert_id"])
    assert issue["detail"] == payload["data"]["explanation"]


def test_links_use_the_public_url_behind_a_proxy(
    settings: Settings, engine: Engine, clock: FixedClock, world: World
) -> None:
    public = settings.model_copy(update={"public_url": "https://ehr-gateway.example.org/pw/"})
    with TestClient(create_app(public, clock=clock, engine=engine)) as client:
        _submit(client, world)
        bundle = get(client, "/fhir/Observation?patient=p1&_count=1", world.p1)
        statement = get(client, "/fhir/metadata", None)
    links = {link["relation"]: link["url"] for link in bundle["link"]}
    assert links["next"] == (
        "https://ehr-gateway.example.org/pw/fhir/Observation?patient=p1&_count=1&_offset=1"
    )
    assert bundle["entry"][0]["fullUrl"].startswith("https://ehr-gateway.example.org/pw/fhir/")
    assert statement["implementation"]["url"] == "https://ehr-gateway.example.org/pw/fhir"


def test_a_phq8_is_never_shown_as_a_phq9(
    client: TestClient, world: World, engine: Engine, clock: FixedClock
) -> None:
    entry = phq9_frame("p1", clock.now(), [1, 2, 0, 1, 0, 0, 1, 0, 0]).with_columns(
        pl.lit("phq8").alias("instrument"), pl.lit(None, pl.Int64).alias("item_9"),
        pl.lit(5).alias("total"))  # fmt: skip
    with transaction(make_session_factory(engine)) as session:
        store_phq9(session, patient_id="p1", entries=entry, now=clock.now())

    [response] = search_all(client, "/fhir/QuestionnaireResponse?patient=p1", world.p1)
    assert "44249-1" not in response["questionnaire"]
    assert [item["linkId"] for item in response["item"]][:8] == [c for c, _, _ in QUESTIONS[:8]]
    assert "44260-8" not in json.dumps(response) and "44261-6" not in json.dumps(response)
    codes = {
        r["code"]["coding"][0]["code"] for r in search_all(client, "/fhir/Observation", world.p1)
    }
    assert codes.isdisjoint({"44249-1", "44261-6", "44260-8"})
    again = ingest.load(json.dumps(response).encode(), patient_id="p1", display="qr.json").phq9
    assert again["instrument"].to_list() == ["phq8"] and again["total"].to_list() == [5]


def test_a_change_of_sleep_timing_rests_on_the_nights_sleep_records(
    client: TestClient, world: World, engine: Engine, clock: FixedClock
) -> None:
    timing = replace(
        signal("p1"),
        changes=(MetricChange("sleep_midpoint_min", "shift", 180.0, 290.0, 4.1, None),),
    )
    nights = nights_frame("p1", [
        {"date": date(2026, 2, 20), "sleep_total_min": 400.0, "sleep_midpoint_min": 290.0,
         "has_sleep": True},
        {"date": date(2026, 2, 21), "steps": 9000.0, "has_steps": True},
        {"date": date(2026, 3, 1), "sleep_total_min": 380.0, "sleep_midpoint_min": 300.0,
         "has_sleep": True},
    ])  # fmt: skip
    with transaction(make_session_factory(engine)) as session:
        store_nights(session, patient_id="p1", nights=nights, now=clock.now())
        alert = open_alert(UnitOfWork(session), signal=timing, now=clock.now())
        assert alert is not None
        alert_id = alert.id

    issue = get(client, f"/fhir/DetectedIssue/{alert_id}", world.coord_a)
    assert [r["reference"] for r in issue["evidence"][0]["detail"]] == [
        "Observation/sleep-20260220-p1", "Observation/sleep-20260301-p1"]  # fmt: skip
