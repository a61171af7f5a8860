"""The CapabilityStatement: built from the same tables the routes are, so it lists exactly what
is implemented (read and search-type of each resource type, and each search parameter)."""

from __future__ import annotations

from datetime import datetime

from api.fhir.codes import QUESTIONNAIRE_RESPONSE_PROFILE, SCREENING_PROFILE
from api.fhir.format import FHIR_VERSION, MEDIA_TYPE, Resource, instant
from api.fhir.search import CONTROL, SEARCH_PARAMS

#: resource type -> (supported profiles, what phenowatch serves as it)
RESOURCES: dict[str, tuple[tuple[str, ...], str]] = {
    "Patient": ((), "A patient, known by the opaque id the care team enrolled them under."),
    "Observation": (
        (SCREENING_PROFILE,),
        "PHQ-9 panels (44249-1) with their questions and total (44261-6), and each night's "
        "sleep duration, resting heart rate, HRV (SDNN, RMSSD) and steps.",
    ),
    "QuestionnaireResponse": (
        (QUESTIONNAIRE_RESPONSE_PROFILE,),
        "Each PHQ-9 as answered (questionnaire LOINC 44249-1).",
    ),
    "DetectedIssue": ((), "Each alert: the finding, its evidence and the care team's actions."),
    "Task": ((), "The care team's work on each alert: requested, accepted, completed."),
    "Flag": ((), "A PHQ-9 item-9 (self-harm) alert, active until it is resolved."),
}


def capability_statement(*, base_url: str, version: str, released: datetime) -> Resource:
    resources = []
    for resource_type, (profiles, documentation) in RESOURCES.items():
        entry: Resource = {
            "type": resource_type,
            "documentation": documentation,
            "interaction": [{"code": "read"}, {"code": "search-type"}],
            "versioning": "no-version",
            "readHistory": False,
            "updateCreate": False,
            "searchParam": [
                {"name": p.name, "type": p.type, "documentation": p.documentation}
                for p in (*SEARCH_PARAMS[resource_type], *CONTROL)
            ],
        }
        if profiles:
            entry["supportedProfile"] = list(profiles)
        resources.append(entry)
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": instant(released),
        "publisher": "phenowatch",
        "kind": "instance",
        "software": {"name": "phenowatch", "version": version},
        "implementation": {
            "description": "phenowatch's read-only FHIR R4 interface",
            "url": base_url,
        },
        "fhirVersion": FHIR_VERSION,
        "format": [MEDIA_TYPE, "json"],
        "rest": [
            {
                "mode": "server",
                "documentation": "Read-only. Every call but this one needs a bearer token "
                "issued by a phenowatch admin: patients read their own data, coordinators the "
                "data and alerts of their care teams' patients. Every read is audited.",
                "security": {
                    "cors": False,
                    "description": "Authorization: Bearer <phenowatch API token>",
                },
                "resource": resources,
            }
        ],
    }
