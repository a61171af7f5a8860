"""How phenowatch writes FHIR JSON: the media type, instants, references, searchset Bundles and
OperationOutcome errors."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

from starlette.responses import Response

from api.fhir.codes import PATIENT_IDENTIFIER

MEDIA_TYPE = "application/fhir+json"
FHIR_VERSION = "4.0.1"
Resource = dict[str, Any]


class FhirResponse(Response):
    media_type = MEDIA_TYPE

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def instant(value: datetime) -> str:
    """A FHIR instant: UTC, seconds, ``Z``."""
    return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def day(value: date) -> str:
    return value.isoformat()


def patient_ref(patient_id: str) -> dict[str, str]:
    return {"reference": f"Patient/{patient_id}"}


def patient_identifier(patient_id: str) -> dict[str, str]:
    return {"system": PATIENT_IDENTIFIER, "value": patient_id}


def meta(last_updated: datetime, profile: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"lastUpdated": instant(last_updated)}
    if profile:
        out["profile"] = [profile]
    return out


def coding(system: str, code: str, display: str | None = None) -> dict[str, str]:
    out = {"system": system, "code": code}
    if display:
        out["display"] = display
    return out


def concept(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"coding": [coding(system, code, display)]}
    if display:
        out["text"] = display
    return out


def searchset(
    resources: Sequence[Resource], *, total: int, self_url: str, next_url: str | None
) -> Resource:
    links = [{"relation": "self", "url": self_url}]
    if next_url:
        links.append({"relation": "next", "url": next_url})
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": total,
        "link": links,
        "entry": [
            {
                "fullUrl": f"{_base(self_url)}/{r['resourceType']}/{r['id']}",
                "resource": r,
                "search": {"mode": "match"},
            }
            for r in resources
        ],
    }


def _base(url: str) -> str:
    """The service base of a search URL (``https://host/fhir`` of ``https://host/fhir/Task?...``)."""
    head = url.split("?", 1)[0]
    return head.rsplit("/", 1)[0]


#: HTTP status -> OperationOutcome issue code
ISSUE_CODE = {
    400: "invalid",
    401: "login",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
    406: "not-supported",
    409: "conflict",
    422: "processing",
    500: "exception",
}


def outcome(status: int, diagnostics: str) -> Resource:
    return {
        "resourceType": "OperationOutcome",
        "issue": [
            {
                "severity": "error" if status < 500 else "fatal",
                "code": ISSUE_CODE.get(status, "processing"),
                "diagnostics": diagnostics,
            }
        ],
    }


def error_response(status: int, diagnostics: str) -> FhirResponse:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return FhirResponse(outcome(status, diagnostics), status_code=status, headers=headers)
