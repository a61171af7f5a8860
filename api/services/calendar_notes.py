"""Calendar notes: the nightly run's note for a care team when most of its patients shift at
once (``detect.calendar_note``), and the team-scoped read of them.

The passive detector takes such a shift out before it judges each patient, so it alerts no
one; the note tells the team once what happened. One note per measure and run of nights:
the night after, a shift that still holds updates the same note.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta

import polars as pl
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from api.services.detection import BATCH, DetectionInputs
from api.services.errors import Forbidden
from api.services.nights import load_nights
from api.services.teams import check_team
from api.services.tokens import Principal
from api.store import CalendarNote, Membership, Patient
from detect import DEFAULT, DetectConfig
from detect.calendar import calendar_lead
from detect.calendar_note import RUN_NIGHTS, CalendarShift, common_shifts, moved
from detect.cube import needed_columns

#: how long a team's view keeps showing a note after the last night its shift held
SHOWN_FOR_DAYS = 14


def note_calendar(
    session: Session,
    *,
    day: date,
    now: datetime,
    config: DetectConfig = DEFAULT,
    inputs: DetectionInputs | None = None,
) -> list[CalendarNote]:
    """The nightly run's calendar notes of ``day``, for every team: stores a note for each
    measure most of a team's patients shifted together (or extends the note of the night
    before); returns the notes written. ``inputs``: where the nights are read (default: the
    database)."""
    teams: dict[int, list[str]] = {}
    for team_id, patient_id in session.execute(
        select(Patient.team_id, Patient.id).order_by(Patient.team_id, Patient.id)
    ):
        teams.setdefault(team_id, []).append(patient_id)
    written: list[CalendarNote] = []
    for team_id, ids in teams.items():
        for shift in team_shifts(session, ids, day=day, config=config, inputs=inputs):
            written.append(_store(session, team_id, shift, now=now, config=config))
    return written


def team_shifts(
    session: Session,
    patient_ids: Sequence[str],
    *,
    day: date,
    config: DetectConfig = DEFAULT,
    inputs: DetectionInputs | None = None,
) -> list[CalendarShift]:
    """The team's shifts on ``day``: measured on every k-th patient (at most
    ``common_max_patients``, as the detector's median), counted over all of them in batches."""
    if len(patient_ids) < config.common_min_patients:
        return []

    def nights(ids: list[str], days: int) -> pl.DataFrame:
        if inputs is not None:
            return inputs(session, patient_ids=ids, day=day, config=config)[0]
        start = day - timedelta(days=days)
        columns = needed_columns(config)
        return load_nights(session, patient_ids=ids, start=start, end=day, columns=columns)

    step = -(-len(patient_ids) // config.common_max_patients)
    sample = list(patient_ids[::step])
    found = common_shifts(nights(sample, calendar_lead(config) + RUN_NIGHTS), day, config)
    if not found:
        return []
    counts = [[0, 0] for _ in found]
    for lo in range(0, len(patient_ids), BATCH):
        part = nights(list(patient_ids[lo : lo + BATCH]), calendar_lead(config))
        for count, shift in zip(counts, found, strict=True):
            people, patients = moved(part, shift, config)
            count[0] += people
            count[1] += patients
    return [
        shift.counted(people, patients)
        for shift, (people, patients) in zip(found, counts, strict=True)
        if 2 * people >= patients  # most of the team, not most of the sample alone
    ]


def _store(
    session: Session, team_id: int, shift: CalendarShift, *, now: datetime, config: DetectConfig
) -> CalendarNote:
    """The team's note of this shift: the one of the night before when the shift held then
    (same measure, same way), else a new one."""
    note = session.scalar(
        select(CalendarNote)
        .where(
            CalendarNote.team_id == team_id,
            CalendarNote.metric == shift.metric,
            CalendarNote.last_day >= shift.day - timedelta(days=1),
            CalendarNote.last_day <= shift.day,
        )
        .order_by(CalendarNote.last_day.desc(), CalendarNote.id.desc())
        .limit(1)
    )
    if note is None or (note.shift > 0) != (shift.shift > 0):
        note = CalendarNote(
            team_id=team_id,
            metric=shift.metric,
            first_day=shift.since,
            detector_version=config.version,
            created_at=now,
        )
        session.add(note)
    note.shift = shift.shift
    note.unit = shift.unit
    note.people = shift.people
    note.patients = shift.patients
    note.last_day = shift.day
    note.explanation = shift.sentence
    note.updated_at = now
    session.flush()
    return note


def team_calendar_notes(
    session: Session, *, principal: Principal, team_id: int, today: date
) -> list[CalendarNote]:
    """The team's notes shown on its view: those whose shift held within the last
    ``SHOWN_FOR_DAYS`` days, newest first. Only the team's coordinators read them; any other
    caller is told there is no such team."""
    if principal.role != "coordinator" or principal.user_id is None:
        raise Forbidden("only a care team's coordinators read its calendar notes")
    check_team(session, principal=principal, team_id=team_id)
    return list(session.scalars(_shown(today).where(CalendarNote.team_id == team_id)))


def visible_calendar_notes(
    session: Session, *, principal: Principal, today: date
) -> list[CalendarNote]:
    """The notes the inbox shows: those of every team the coordinator belongs to."""
    if principal.role != "coordinator" or principal.user_id is None:
        return []
    mine = _shown(today).join(Membership, Membership.team_id == CalendarNote.team_id)
    return list(session.scalars(mine.where(Membership.user_id == principal.user_id)))


def _shown(today: date) -> Select[CalendarNote]:
    """Notes whose shift held within the last ``SHOWN_FOR_DAYS`` days, newest first."""
    return (
        select(CalendarNote)
        .where(CalendarNote.last_day >= today - timedelta(days=SHOWN_FOR_DAYS))
        .order_by(CalendarNote.last_day.desc(), CalendarNote.id.desc())
    )
