"""The OpenAPI document says what the service answers, checked two ways: the document itself
(problem+json errors, typed bodies, enums, stable operation ids) and Schemathesis run with
every check against the app in this process (ASGI, no network), over whatever routes the
document holds when the suite runs. Bounded: a handful of examples per operation."""

from __future__ import annotations

import collections
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import events, from_schema

from api.settings import Settings
from tests.api.conftest import World

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
#: examples per operation and phase; the run takes about a minute on the development machine
MAX_EXAMPLES = 8


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # Schemathesis sends many requests without a token on purpose (each must be a 401): the
    # per-address limit on failed authentication would answer them 429
    return settings.model_copy(update={"auth_failures_per_minute": 10**9})


def _document(client: TestClient) -> dict[str, Any]:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    return response.json()  # type: ignore[no-any-return]


def test_every_error_is_documented_as_a_problem(client: TestClient) -> None:
    paths = _document(client)["paths"]
    ids = []
    for path, item in paths.items():
        for method, operation in item.items():
            ids.append(operation["operationId"])
            for code, response in operation["responses"].items():
                if code[0] in "45":
                    assert set(response["content"]) == {"application/problem+json"}, (path, code)
            codes = set(operation["responses"])
            if operation.get("security"):
                assert {"401", "403", "429"} <= codes, (method, path)
            if "{" in path:
                assert "404" in codes, (method, path)
            if "requestBody" in operation:
                assert {"413", "422"} <= codes, (method, path)
    assert len(ids) == len(set(ids)), "operation ids must be unique"
    alerts = paths["/v1/alerts"]["get"]
    assert alerts["operationId"] == "list_alerts"
    assert "415" in paths["/v1/patients/{patient_id}/uploads"]["post"]["responses"]


def test_status_kind_and_severity_are_enums_and_bodies_are_typed(client: TestClient) -> None:
    document = _document(client)
    schemas = document["components"]["schemas"]
    alert = schemas["AlertOut"]["properties"]
    assert alert["status"]["enum"] == ["open", "acknowledged", "resolved"]
    assert "urgent" in alert["severity"]["enum"] and "phq9_safety" in alert["kind"]["enum"]
    assert schemas["AlertDetail"]["properties"]["evidence"] == {
        "$ref": "#/components/schemas/Evidence"
    }
    for path, name in (
        ("/v1/patients/{patient_id}/nights", "NightOut"),
        ("/v1/patients/{patient_id}/phq9", "Phq9EntryOut"),
    ):
        ok = document["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]
        assert ok["schema"]["items"] == {"$ref": f"#/components/schemas/{name}"}
    timeline = document["paths"]["/v1/patients/{patient_id}/timeline"]["get"]["responses"]["200"]
    assert timeline["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Timeline"
    }


def test_schemathesis_finds_nothing(app: FastAPI, world: World) -> None:
    config = SchemathesisConfig.from_dict(
        {
            "generation": {"max-examples": MAX_EXAMPLES},
            "seed": 20261203,
            "operations": [
                {
                    # a webhook URL is judged beyond what a schema can say (where its host
                    # leads), so a URL of the right shape may still be refused with a 422
                    "include-operation-id": "register_webhook",
                    "checks": {
                        "positive_data_acceptance": {
                            "expected-statuses": ["2xx", "401", "403", "404", "409", "422"]
                        }
                    },
                },
                {
                    # a delivery being sent right now, or whose endpoint was deleted, is a 409
                    "include-operation-id": "redeliver_webhook",
                    "checks": {
                        "positive_data_acceptance": {
                            "expected-statuses": ["2xx", "401", "403", "404", "409", "422"]
                        }
                    },
                },
                # a PHQ-9 submission or an export is judged by its content (a parser), beyond
                # what a schema can say: an empty body or an object of the right media type may
                # still be refused with a 415 or a 422 (which examples come up depends on every
                # operation in the document)
                *(
                    {
                        "include-operation-id": operation,
                        "checks": {
                            "positive_data_acceptance": {
                                "expected-statuses": [
                                    "2xx",
                                    "401",
                                    "403",
                                    "404",
                                    "409",
                                    "415",
                                    "422",
                                ]
                            }
                        },
                    }
                    for operation in ("create_phq9", "create_upload")
                ),
                # the PHQ-9 route reads answers by their content, whatever the media type says
                # (JSON, CSV or FHIR; a total it can compute may be left out or null), so a
                # body outside the JSON schema may still be a valid PHQ-9
                {
                    "include-operation-id": "create_phq9",
                    "checks": {"negative_data_rejection": {"enabled": False}},
                },
                # an assignee is judged against the team (a coordinator of the patient's team),
                # and an alert may already be resolved: a well-formed request may be refused
                {
                    "include-operation-id": "assign_alert",
                    "checks": {
                        "positive_data_acceptance": {
                            "expected-statuses": ["2xx", "401", "403", "404", "409", "422"]
                        }
                    },
                },
            ],
        }
    )
    config.projects.get_default().checks.update(included_check_names=["all"])
    schema = schemathesis.openapi.from_asgi("/openapi.json", app, config=config)

    @schema.auth()
    class _Tokens:
        """The admin's token for admin routes and metrics, a coordinator's for the rest."""

        def get(self, case: Any, context: Any) -> str:
            path = context.operation.path
            return world.admin if path.startswith(("/v1/admin", "/metrics")) else world.coord_a

        def set(self, case: Any, data: str, context: Any) -> None:
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}

    cases = 0
    failures: collections.Counter[tuple[str, str]] = collections.Counter()
    errors: list[str] = []
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            cases += len(event.recorder.cases)
            for checks in event.recorder.checks.values():
                for check in checks:
                    if check.status.name == "FAILURE":
                        failures[(check.name, event.recorder.label)] += 1
        elif isinstance(event, events.NonFatalError):
            errors.append(str(event.info.message))
    print(f"schemathesis: {cases} cases, {sum(failures.values())} failures")
    assert cases > 500  # every documented operation was exercised
    assert not errors
    assert dict(failures) == {}
