"""An alert as FHIR: the finding as a ``DetectedIssue``, the care team's work on it as a
``Task``, and, for a PHQ-9 item-9 alert, a safety ``Flag`` that is active until the alert is
resolved. All three share the alert's id. An alert's fields come from ``alert_shape``, as
every interface's do; only its history (the events) is read from the stored alert.

The alert's life cycle maps as follows: open -> Task ``requested``, acknowledged -> ``accepted``,
resolved -> ``completed``; each acknowledgement and resolution is a DetectedIssue
``mitigation`` (action, date, author) and a Task ``note`` carrying the coordinator's note."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from api.alert_shape import alert_shape, detected_issue_id
from api.fhir.codes import (
    ALERT_IDENTIFIER,
    ALERT_KIND_DISPLAY,
    ALERT_SEVERITY_EXTENSION,
    FLAG_CATEGORY,
    ISSUE_SEVERITY,
    ISSUE_STATUS,
    ITEM_CODE,
    ITEM_TEXT,
    LOINC,
    PHENOWATCH,
    TASK_PRIORITY,
    TASK_STATUS,
    TEAM_IDENTIFIER,
    USER_IDENTIFIER,
)
from api.fhir.format import Resource, concept, instant, meta, patient_ref
from api.store import Alert, AlertEvent

SAFETY_KIND = "phq9_safety"
#: events the care team does, shown as mitigations and notes
CARE_EVENTS = {"acknowledged": "Acknowledged by the care team", "resolved": "Resolved"}


@dataclass(frozen=True)
class People:
    """Display names the resources need: coordinators by user id, the patient's team."""

    users: dict[int, str]
    team_id: int | None
    team_name: str | None


def last_updated(alert: Alert) -> datetime:
    opened: datetime = alert_shape(alert, fields=("opened_at",))["opened_at"]
    return max([opened, *(event.at for event in alert.events)])


def _identifier(shown: dict[str, Any]) -> list[dict[str, str]]:
    return [{"system": ALERT_IDENTIFIER, "value": str(shown["id"])}]


def _user_id(event: AlertEvent) -> int | None:
    kind, _, number = event.actor.partition(":")
    return int(number) if kind == "user" and number.isdigit() else None


def _coordinator(event: AlertEvent, people: People) -> dict[str, Any] | None:
    user_id = _user_id(event)
    if user_id is None:
        return None
    ref: dict[str, Any] = {
        "type": "Practitioner",
        "identifier": {"system": USER_IDENTIFIER, "value": str(user_id)},
    }
    if user_id in people.users:
        ref["display"] = people.users[user_id]
    return ref


def _care_events(alert: Alert) -> list[AlertEvent]:
    return [event for event in alert.events if event.event in CARE_EVENTS]


def detected_issue(alert: Alert, *, evidence: list[str], people: People) -> Resource:
    """``evidence``: references (``Observation/...``, ``QuestionnaireResponse/...``) to the data
    the alert rests on."""
    shown = alert_shape(alert)
    issue: Resource = {
        "resourceType": "DetectedIssue",
        "id": detected_issue_id(shown["id"]),
        "meta": meta(last_updated(alert)),
        "extension": [{"url": ALERT_SEVERITY_EXTENSION, "valueCode": shown["severity"]}],
        "identifier": _identifier(shown),
        "status": ISSUE_STATUS[shown["status"]],
        "code": concept(PHENOWATCH, shown["kind"], ALERT_KIND_DISPLAY.get(shown["kind"])),
        "severity": ISSUE_SEVERITY[shown["severity"]],
        "patient": patient_ref(shown["patient_id"]),
        "identifiedDateTime": instant(shown["opened_at"]),
        "author": {"type": "Device", "display": f"{shown['detector']} {shown['detector_version']}"},
        "detail": shown["explanation"],
    }
    if evidence:
        issue["evidence"] = [{"detail": [{"reference": ref} for ref in evidence]}]
    mitigations = []
    for event in _care_events(alert):
        mitigation: dict[str, Any] = {
            "action": {
                "coding": [
                    {"system": PHENOWATCH, "code": event.event, "display": CARE_EVENTS[event.event]}
                ],
                "text": event.note or CARE_EVENTS[event.event],
            },
            "date": instant(event.at),
        }
        author = _coordinator(event, people)
        if author is not None:
            mitigation["author"] = author
        mitigations.append(mitigation)
    if mitigations:
        issue["mitigation"] = mitigations
    return issue


def task(alert: Alert, *, people: People) -> Resource:
    shown = alert_shape(alert)
    resource: Resource = {
        "resourceType": "Task",
        "id": str(shown["id"]),
        "meta": meta(last_updated(alert)),
        "identifier": _identifier(shown),
        "status": TASK_STATUS[shown["status"]],
        "intent": "order",
        "priority": TASK_PRIORITY[shown["severity"]],
        "code": concept(PHENOWATCH, "review-alert", "Review the alert and contact the patient"),
        "description": shown["explanation"],
        "focus": {"reference": f"DetectedIssue/{detected_issue_id(shown['id'])}"},
        "for": patient_ref(shown["patient_id"]),
        "authoredOn": instant(shown["opened_at"]),
        "lastModified": instant(last_updated(alert)),
        "requester": {"type": "Device", "display": "phenowatch"},
        "executionPeriod": {"start": instant(shown["opened_at"])},
    }
    if shown["resolved_at"] is not None:
        resource["executionPeriod"]["end"] = instant(shown["resolved_at"])
    if shown["status"] == "open" and shown["escalated_at"] is not None:
        resource["businessStatus"] = {"text": "escalated: not acknowledged in time"}
    owner = None
    for event in _care_events(alert):
        owner = _coordinator(event, people) or owner
    if owner is None and people.team_id is not None:
        owner = {
            "type": "CareTeam",
            "identifier": {"system": TEAM_IDENTIFIER, "value": str(people.team_id)},
        }
        if people.team_name:
            owner["display"] = people.team_name
    if owner is not None:
        resource["owner"] = owner
    notes = []
    for event in _care_events(alert):
        if event.note:
            note: dict[str, Any] = {"time": instant(event.at), "text": event.note}
            author = _coordinator(event, people)
            if author is not None and "display" in author:
                note["authorString"] = author["display"]
            notes.append(note)
    if notes:
        resource["note"] = notes
    return resource


def flag(alert: Alert) -> Resource:
    """The safety flag of an item-9 alert: active until the alert is resolved."""
    shown = alert_shape(alert)
    period = {"start": instant(shown["opened_at"])}
    if shown["resolved_at"] is not None:
        period["end"] = instant(shown["resolved_at"])
    return {
        "resourceType": "Flag",
        "id": str(shown["id"]),
        "meta": meta(last_updated(alert)),
        "identifier": _identifier(shown),
        "status": "inactive" if shown["status"] == "resolved" else "active",
        "category": [concept(FLAG_CATEGORY, "safety", "Safety")],
        "code": {
            "coding": [{"system": LOINC, "code": ITEM_CODE[9], "display": ITEM_TEXT[9]}],
            "text": shown["explanation"],
        },
        "subject": patient_ref(shown["patient_id"]),
        "period": period,
        "author": {"type": "Device", "display": "phenowatch"},
    }
