"""Care teams, coordinators, patients, and who may see which patient."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, Select, exists, select, true
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.services.errors import Conflict, InvalidInput, NotFound
from api.services.tokens import Principal
from api.store import CareTeam, Membership, Patient, User
from api.store.people import USER_ROLES
from ingest.schema import PATIENT_ID


def create_team(session: Session, *, name: str, now: datetime) -> CareTeam:
    if not name.strip():
        raise InvalidInput("a team needs a name", field="name")
    team = CareTeam(name=name.strip(), created_at=now)
    _insert(session, team, f"a team named {name!r} already exists")
    return team


def create_user(session: Session, *, email: str, name: str, role: str, now: datetime) -> User:
    if role not in USER_ROLES:
        raise InvalidInput(f"role must be one of {USER_ROLES}", field="role")
    if "@" not in email:
        raise InvalidInput("not an e-mail address", field="email")
    user = User(email=email.strip().lower(), name=name, role=role, created_at=now)
    _insert(session, user, f"a user with e-mail {email!r} already exists")
    return user


def add_member(session: Session, *, user_id: int, team_id: int, now: datetime) -> Membership:
    if session.get(User, user_id) is None:
        raise NotFound(f"no user {user_id}")
    if session.get(CareTeam, team_id) is None:
        raise NotFound(f"no team {team_id}")
    found = session.get(Membership, (user_id, team_id))
    if found is not None:
        return found
    membership = Membership(user_id=user_id, team_id=team_id, created_at=now)
    session.add(membership)
    session.flush()
    return membership


def create_patient(session: Session, *, patient_id: str, team_id: int, now: datetime) -> Patient:
    if not PATIENT_ID.match(patient_id):
        raise InvalidInput(
            "a patient id is 1-64 letters, digits, '.', '_' or '-' (no names or other PHI)",
            field="patient_id",
        )
    if session.get(CareTeam, team_id) is None:
        raise NotFound(f"no team {team_id}")
    patient = Patient(id=patient_id, team_id=team_id, created_at=now)
    _insert(session, patient, f"patient {patient_id!r} already exists")
    return patient


def ensure_patient(session: Session, *, patient_id: str, team_name: str, now: datetime) -> Patient:
    """The patient, created (with its team) when absent; used by replay and `ingest`."""
    patient = session.get(Patient, patient_id)
    if patient is not None:
        return patient
    team = session.scalar(select(CareTeam).where(CareTeam.name == team_name))
    if team is None:
        team = create_team(session, name=team_name, now=now)
    return create_patient(session, patient_id=patient_id, team_id=team.id, now=now)


def visible_patients(principal: Principal) -> ColumnElement[bool]:
    """A condition on ``Patient`` that holds for exactly the patients the caller may see.

    Patients see themselves, coordinators the patients of their teams, admins no patient data
    (they manage the service, not care)."""
    if principal.role == "patient" and principal.patient_id is not None:
        return Patient.id == principal.patient_id
    if principal.role == "coordinator" and principal.user_id is not None:
        return exists().where(
            Membership.user_id == principal.user_id, Membership.team_id == Patient.team_id
        )
    if principal.role == "system":
        return true()
    return Patient.id.is_(None)  # matches nothing


def visible_patient_ids(principal: Principal) -> Select[str]:
    return select(Patient.id).where(visible_patients(principal))


def get_visible_patient(session: Session, *, principal: Principal, patient_id: str) -> Patient:
    """The patient, or NotFound, alike whether it is absent or belongs to someone else."""
    patient = session.scalar(
        select(Patient).where(Patient.id == patient_id, visible_patients(principal))
    )
    if patient is None:
        raise NotFound(f"no patient {patient_id!r}")
    return patient


def mark_for_detection(session: Session, *, patient_id: str, now: datetime) -> None:
    patient = session.get(Patient, patient_id)
    if patient is not None and patient.detection_due_at is None:
        patient.detection_due_at = now


def _insert(session: Session, row: object, conflict: str) -> None:
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError as error:
        raise Conflict(conflict) from error
