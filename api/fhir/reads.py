"""Reading patients, PHQ-9 entries and nights as FHIR resources, for a caller.

Every read goes through the caller's visibility (``visible_patients``): a resource of a patient
the caller may not see is answered exactly like one that does not exist, and a search never
returns it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.fhir import nights as night_resources
from api.fhir import phq9 as phq9_resources
from api.fhir.codes import MEASURES
from api.fhir.format import Resource, meta, patient_identifier
from api.fhir.search import Search, SearchError
from api.services.errors import NotFound
from api.services.patients import visible_patients
from api.services.tokens import Principal
from api.store import Night, Patient, Phq9Entry


@dataclass(frozen=True)
class Page:
    resources: list[Resource]
    total: int
    next_offset: int | None


def page_of(resources: list[Resource], search: Search) -> Page:
    """One page of an already filtered and ordered list."""
    end = search.offset + search.count
    chosen = resources[search.offset : end] if search.count else []
    return Page(chosen, len(resources), end if search.count and end < len(resources) else None)


def unknown(resource_type: str, resource_id: str) -> NotFound:
    """The one answer for absent and not yours alike."""
    return NotFound(f"{resource_type}/{resource_id} is not known")


def visible(session: Session, principal: Principal, patient_id: str) -> bool:
    found = session.scalar(
        select(Patient.id).where(Patient.id == patient_id, visible_patients(principal))
    )
    return found is not None


# Patient


def patient_resource(patient: Patient) -> Resource:
    return {
        "resourceType": "Patient",
        "id": patient.id,
        "meta": meta(patient.created_at),
        "identifier": [patient_identifier(patient.id)],
    }


def read_patient(session: Session, principal: Principal, patient_id: str) -> Resource:
    patient = session.scalar(
        select(Patient).where(Patient.id == patient_id, visible_patients(principal))
    )
    if patient is None:
        raise unknown("Patient", patient_id)
    return patient_resource(patient)


def search_patients(session: Session, principal: Principal, search: Search) -> Page:
    conditions = [visible_patients(principal), *search.updated.sql(Patient.created_at)]
    if search.ids is not None:
        conditions.append(Patient.id.in_(search.ids))
    total = session.scalar(select(func.count()).select_from(Patient).where(*conditions)) or 0
    rows = session.scalars(
        select(Patient)
        .where(*conditions)
        .order_by(Patient.id)
        .offset(search.offset)
        .limit(search.count)
    ).all()
    end = search.offset + len(rows)
    return Page([patient_resource(p) for p in rows], total, end if end < total and rows else None)


# PHQ-9 and nights


def read_observation(session: Session, principal: Principal, resource_id: str) -> Resource:
    if (key := phq9_resources.parse_id(resource_id)) is not None:
        entry = _entry(session, principal, key[0])
        for resource in phq9_resources.observations(entry) if entry else []:
            if resource["id"] == resource_id:
                return resource
    elif (night_key := night_resources.parse_id(resource_id)) is not None:
        measure, on, patient_id = night_key
        night = _nights(session, principal, patient_id, on, on, Search())
        if night and night[0].get(measure.column) is not None:
            return night_resources.observation(measure, night[0])
    raise unknown("Observation", resource_id)


def read_response(session: Session, principal: Principal, resource_id: str) -> Resource:
    key = phq9_resources.parse_id(resource_id)
    entry = _entry(session, principal, key[0]) if key and key[1] is None else None
    if entry is None:
        raise unknown("QuestionnaireResponse", resource_id)
    return phq9_resources.questionnaire_response(entry)


def search_observations(session: Session, principal: Principal, search: Search) -> Page:
    patient_id = scoped_patient(session, principal, search, "Observation")
    if patient_id is None:
        return page_of([], search)
    found: list[Resource] = []
    for entry in _entries(session, patient_id, search):
        found.extend(phq9_resources.observations(entry))
    measures = [m for m in MEASURES if search.code_allowed(m.system, m.code)]
    if measures:
        for night in _nights(session, principal, patient_id, None, None, search):
            found.extend(
                night_resources.observation(m, night)
                for m in measures
                if night.get(m.column) is not None
            )
    chosen = [r for r in found if search.code_allowed(*_code(r)) and _effective_holds(r, search)]
    chosen.sort(key=lambda r: (_effective(r), r["id"]))
    return page_of(chosen, search)


def search_responses(session: Session, principal: Principal, search: Search) -> Page:
    patient_id = scoped_patient(session, principal, search, "QuestionnaireResponse")
    if patient_id is None:
        return page_of([], search)
    entries = sorted(_entries(session, patient_id, search), key=lambda e: (e.answered_at, e.id))
    return page_of([phq9_resources.questionnaire_response(e) for e in entries], search)


def scoped_patient(
    session: Session, principal: Principal, search: Search, resource_type: str
) -> str | None:
    """The one patient a search of PHQ-9 or nights reads, or None when it may read none."""
    if principal.role == "patient" and search.patients is None:
        search.patients = {principal.patient_id or ""}
    if search.patients is None:
        raise SearchError(
            f"search {resource_type} of one patient: add patient=<id>", field="patient"
        )
    if len(search.patients) != 1:
        return None
    (patient_id,) = search.patients
    return patient_id if visible(session, principal, patient_id) else None


def _entry(session: Session, principal: Principal, entry_id: int) -> Phq9Entry | None:
    return session.scalar(
        select(Phq9Entry)
        .join(Patient, Patient.id == Phq9Entry.patient_id)
        .where(Phq9Entry.id == entry_id, visible_patients(principal))
    )


def _entries(session: Session, patient_id: str, search: Search) -> list[Phq9Entry]:
    return list(
        session.scalars(
            select(Phq9Entry).where(
                Phq9Entry.patient_id == patient_id,
                *search.dates.sql(Phq9Entry.answered_at),
                *search.updated.sql(Phq9Entry.created_at),
            )
        )
    )


def _nights(
    session: Session,
    principal: Principal,
    patient_id: str,
    first: date | None,
    last: date | None,
    search: Search,
) -> list[dict[str, Any]]:
    table = Night.__table__.c
    columns = [table[name] for name in ("patient_id", "date", "updated_at")]
    columns += [table[m.column] for m in MEASURES]
    conditions = [Night.patient_id == patient_id, *search.updated.sql(Night.updated_at)]
    if first is not None:
        conditions.append(Night.date >= first)
    if last is not None:
        conditions.append(Night.date <= last)
    if search.dates.lower is not None:
        conditions.append(Night.date >= search.dates.lower.date())
    if search.dates.upper is not None:
        conditions.append(Night.date <= search.dates.upper.date())
    query = (
        select(*columns)
        .join(Patient, Patient.id == Night.patient_id)
        .where(*conditions, visible_patients(principal))
        .order_by(Night.date)
    )
    return [dict(row._mapping) for row in session.execute(query)]


def _code(resource: Resource) -> tuple[str, str]:
    first = resource["code"]["coding"][0]
    return first["system"], first["code"]


def _effective(resource: Resource) -> datetime:
    value: str = resource["effectiveDateTime"]
    if len(value) == 10:
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _effective_holds(resource: Resource, search: Search) -> bool:
    return search.dates.holds(_effective(resource))


def midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def day_after(day: date) -> datetime:
    return midnight(day + timedelta(days=1))
