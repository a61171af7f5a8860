"""A stored night's measures as Observations: one per measure the night has (a missing measure
is no Observation, never a zero). Id: ``<measure>-<yyyymmdd>-<patient id>``, e.g.
``sleep-20260301-p-0012``; the effective date is the night's local date (the date its main
sleep ended)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from api.fhir.codes import MEASURE_BY_KEY, MEASURES, OBSERVATION_CATEGORY, UCUM, Measure
from api.fhir.format import Resource, coding, concept, day, meta, patient_ref


def observation_id(measure: Measure, patient_id: str, on: date) -> str:
    return f"{measure.key}-{on:%Y%m%d}-{patient_id}"


def observations(night: dict[str, Any]) -> list[Resource]:
    """``night``: a row of the nights table (patient_id, date, the measure columns, updated_at)."""
    return [
        observation(measure, night) for measure in MEASURES if night.get(measure.column) is not None
    ]


def observation(measure: Measure, night: dict[str, Any]) -> Resource:
    value = float(night[measure.column])
    updated: datetime = night["updated_at"]
    return {
        "resourceType": "Observation",
        "id": observation_id(measure, night["patient_id"], night["date"]),
        "meta": meta(updated),
        "status": "final",
        "category": [concept(OBSERVATION_CATEGORY, measure.category, _CATEGORY[measure.category])],
        "code": {
            "coding": [coding(measure.system, measure.code, measure.display)],
            "text": measure.display,
        },
        "subject": patient_ref(night["patient_id"]),
        "effectiveDateTime": day(night["date"]),
        "valueQuantity": {
            "value": int(value) if value.is_integer() else value,
            "unit": measure.unit,
            "system": UCUM,
            "code": measure.ucum,
        },
    }


_CATEGORY = {"activity": "Activity", "vital-signs": "Vital Signs"}


def parse_id(resource_id: str) -> tuple[Measure, date, str] | None:
    """(measure, night date, patient id) of a night Observation id."""
    key, _, rest = resource_id.partition("-")
    stamp, _, patient_id = rest.partition("-")
    measure = MEASURE_BY_KEY.get(key)
    if measure is None or not patient_id or not (stamp.isascii() and stamp.isdigit()):
        return None
    if len(stamp) != 8:
        return None
    try:
        on = date(int(stamp[:4]), int(stamp[4:6]), int(stamp[6:]))
    except ValueError:
        return None
    return measure, on, patient_id
