"""Care teams, the people who work in them (coordinators and admins) and their patients."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from api.store.base import Base

USER_ROLES = ("coordinator", "admin")


class CareTeam(Base):
    __tablename__ = "care_teams"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime]


class User(Base):
    """A coordinator or an admin. Patients are not users: they hold patient tokens."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime]


class Membership(Base):
    __tablename__ = "team_memberships"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    team_id: Mapped[int] = mapped_column(
        ForeignKey("care_teams.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[datetime]


class Patient(Base):
    """A person in treatment, known by an opaque id (no name or other PHI is stored)."""

    __tablename__ = "patients"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("care_teams.id"), index=True)
    created_at: Mapped[datetime]
    #: set when new data arrived and detection has not looked at it yet
    detection_due_at: Mapped[datetime | None] = mapped_column(index=True)
