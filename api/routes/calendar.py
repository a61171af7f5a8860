"""A care team's calendar notes: shifts most of the team's patients showed at once (a holiday,
a clock change), which alert no patient and are told to the team once. The team's
coordinators only; any other caller is answered as if the team did not exist."""

from __future__ import annotations

from datetime import date, datetime

from fastapi import APIRouter
from pydantic import BaseModel, Field

from api.auth import Coordinator
from api.routes.schemas import Id
from api.services.calendar_notes import SHOWN_FOR_DAYS, team_calendar_notes
from api.store import CalendarNote

router = APIRouter(prefix="/v1/teams/{team_id}", tags=["calendar"])


class CalendarNoteOut(BaseModel):
    id: int
    team_id: int
    metric: str
    shift: float = Field(description="the team's median shift on the last night, in `unit`")
    unit: str = Field(description="min, bpm, or % of the usual level")
    people: int = Field(description="patients who moved that way by a change worth a call")
    patients: int = Field(description="patients with that night measured")
    first_day: date
    last_day: date = Field(description="the last night on which the shift still held")
    explanation: str
    detector_version: str
    updated_at: datetime

    @classmethod
    def of(cls, note: CalendarNote) -> CalendarNoteOut:
        return cls.model_validate(note, from_attributes=True)


class CalendarNoteList(BaseModel):
    items: list[CalendarNoteOut]


@router.get(
    "/calendar-notes",
    name="list_calendar_notes",
    summary="Your team's calendar notes",
    description="Shifts most of the team's patients showed at once, whose last night falls "
    f"within the last {SHOWN_FOR_DAYS} days, newest first. They alert no patient: each "
    "patient is judged on how they moved beyond them.",
)
def list_calendar_notes(team_id: Id, ctx: Coordinator) -> CalendarNoteList:
    notes = team_calendar_notes(
        ctx.session, principal=ctx.principal, team_id=team_id, today=ctx.now.date()
    )
    return CalendarNoteList(items=[CalendarNoteOut.of(note) for note in notes])
