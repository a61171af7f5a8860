"""Helpers for the FHIR tests: every answer is checked against the FHIR R4 models of
fhir.resources (R4B, whose resources are R4's for everything phenowatch serves)."""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient
from fhir.resources.R4B import get_fhir_model_class

FHIR_JSON = "application/fhir+json"


def valid(body: dict[str, Any]) -> dict[str, Any]:
    """``body``, after it validated as its resource type (and each entry of a Bundle as its own)."""
    get_fhir_model_class(body["resourceType"]).model_validate(body)
    for entry in body.get("entry", []) if body["resourceType"] == "Bundle" else []:
        valid(entry["resource"])
    return body


def get(client: TestClient, path: str, token: str | None, status: int = 200) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = client.get(path, headers=headers)
    assert response.status_code == status, (path, response.text)
    assert response.headers["content-type"] == FHIR_JSON
    body = valid(response.json())
    if status >= 400:
        assert body["resourceType"] == "OperationOutcome", body
    return body


def search_all(client: TestClient, path: str, token: str) -> list[dict[str, Any]]:
    """Every resource of a search, following its next links."""
    found: list[dict[str, Any]] = []
    url: str | None = path
    while url:
        bundle = get(client, url, token)
        assert bundle["type"] == "searchset"
        found += [entry["resource"] for entry in bundle.get("entry", [])]
        url = next((link["url"] for link in bundle["link"] if link["relation"] == "next"), None)
    return found


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))
