"""A care team's calendar notes: shifts most of the team's patients showed at once."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from api.store.base import Base


class CalendarNote(Base):
    """One measure's shift shared by most of a team's patients (a holiday, a clock change), as
    the nightly run found it (``detect.calendar_note``): one note per run of nights, updated
    each night the shift still holds. It alerts no patient; the team's view shows it once."""

    __tablename__ = "calendar_notes"
    __table_args__ = (Index("ix_calendar_notes_team_last", "team_id", "last_day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("care_teams.id", ondelete="CASCADE"))
    metric: Mapped[str] = mapped_column(String(40))
    #: the team's median shift on the last night, in ``unit`` (signed)
    shift: Mapped[float]
    unit: Mapped[str] = mapped_column(String(8))
    people: Mapped[int]  # patients who moved that way by at least the smallest change
    patients: Mapped[int]  # patients with that night and a reference
    first_day: Mapped[date]  # the first night of the shift
    last_day: Mapped[date]  # the last night on which it still held
    explanation: Mapped[str] = mapped_column(Text)
    detector_version: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
