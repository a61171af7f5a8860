"""A stored PHQ-9 entry as FHIR: the QuestionnaireResponse the patient answered, and the US Core
screening-assessment Observations derived from it (the 44249-1 panel, one Observation per
answered question, the 44261-6 total and the difficulty question), linked by ``derivedFrom``.

A PHQ-8 keeps the LOINC codes of its eight questions, but its form, panel and total carry
phenowatch's own codes (``codes.INSTRUMENTS``): it is never shown as a PHQ-9.

Ids: ``phq9-<entry>`` for the response and the panel, ``phq9-<entry>-<n>`` for question n,
``phq9-<entry>-total`` and ``phq9-<entry>-difficulty``."""

from __future__ import annotations

from typing import Any

from api.fhir.codes import (
    ANSWER_CODE,
    ANSWER_DISPLAY,
    DIFFICULTY_CODE,
    DIFFICULTY_DISPLAY,
    DIFFICULTY_LOINC,
    INSTRUMENTS,
    ITEM_CODE,
    ITEM_TEXT,
    LOINC,
    OBSERVATION_CATEGORY,
    QUESTIONNAIRE_RESPONSE_PROFILE,
    SCREENING_PROFILE,
    UCUM,
)
from api.fhir.format import Resource, coding, concept, instant, meta, patient_ref
from api.store import Phq9Entry

PREFIX = "phq9-"


def response_id(entry_id: int) -> str:
    return f"{PREFIX}{entry_id}"


def _answers(entry: Phq9Entry) -> list[tuple[str, str, dict[str, Any]]]:
    """(question code, question text, answer value) of each answered question, in the
    questionnaire's order, the total last."""
    instrument = INSTRUMENTS.get(entry.instrument, INSTRUMENTS["phq9"])
    out: list[tuple[str, str, dict[str, Any]]] = []
    for number, code in sorted(ITEM_CODE.items()):
        score = getattr(entry, f"item_{number}")
        if score is not None:
            answer = ANSWER_CODE[score]
            out.append((code, ITEM_TEXT[number], {"valueCoding": _answer(answer)}))
    if entry.difficulty is not None:
        answer = DIFFICULTY_CODE[entry.difficulty]
        out.append((DIFFICULTY_LOINC, DIFFICULTY_DISPLAY, {"valueCoding": _answer(answer)}))
    out.append((instrument.total, instrument.total_display, {"valueInteger": entry.total}))
    return out


def _answer(code: str) -> dict[str, str]:
    return coding(LOINC, code, ANSWER_DISPLAY[code])


def questionnaire_response(entry: Phq9Entry) -> Resource:
    return {
        "resourceType": "QuestionnaireResponse",
        "id": response_id(entry.id),
        "meta": meta(entry.created_at, QUESTIONNAIRE_RESPONSE_PROFILE),
        "questionnaire": INSTRUMENTS.get(entry.instrument, INSTRUMENTS["phq9"]).questionnaire,
        "status": "completed",
        "subject": patient_ref(entry.patient_id),
        "authored": instant(entry.answered_at),
        "item": [
            {"linkId": code, "text": text, "answer": [value]}
            for code, text, value in _answers(entry)
        ],
    }


def observations(entry: Phq9Entry) -> list[Resource]:
    """The panel first, then its members."""
    base = response_id(entry.id)
    instrument = INSTRUMENTS.get(entry.instrument, INSTRUMENTS["phq9"])
    derived = [{"reference": f"QuestionnaireResponse/{base}"}]
    members: list[Resource] = []
    for code, text, value in _answers(entry):
        total = code == instrument.total
        system = instrument.system if total else LOINC
        suffix = "total" if total else _suffix(code)
        resource = _observation(entry, f"{base}-{suffix}", (system, code, text), derived)
        if total:
            resource["valueQuantity"] = {
                "value": entry.total,
                "unit": "{score}",
                "system": UCUM,
                "code": "{score}",
            }
        else:
            resource["valueCodeableConcept"] = {
                "coding": [value["valueCoding"]],
                "text": value["valueCoding"]["display"],
            }
        members.append(resource)
    panel_code = (instrument.system, instrument.panel, instrument.panel_display)
    panel = _observation(entry, base, panel_code, derived)
    panel["hasMember"] = [{"reference": f"Observation/{m['id']}"} for m in members]
    return [panel, *members]


def _suffix(code: str) -> str:
    if code == DIFFICULTY_LOINC:
        return "difficulty"
    return str(next(n for n, c in ITEM_CODE.items() if c == code))


def _observation(
    entry: Phq9Entry, resource_id: str, code: tuple[str, str, str], derived: list[dict[str, str]]
) -> Resource:
    return {
        "resourceType": "Observation",
        "id": resource_id,
        "meta": meta(entry.created_at, SCREENING_PROFILE),
        "status": "final",
        "category": [concept(OBSERVATION_CATEGORY, "survey", "Survey")],
        "code": concept(*code),
        "subject": patient_ref(entry.patient_id),
        "effectiveDateTime": instant(entry.answered_at),
        "issued": instant(entry.created_at),
        "derivedFrom": derived,
    }


def parse_id(resource_id: str) -> tuple[int, str | None] | None:
    """(entry id, member suffix or None for the panel/response) of a PHQ-9 resource id."""
    if not resource_id.startswith(PREFIX):
        return None
    entry, _, suffix = resource_id.removeprefix(PREFIX).partition("-")
    if not (entry.isascii() and entry.isdigit()) or len(entry) > 18:
        return None
    return int(entry), suffix or None
