"""Signals as detect/ returned them, alerts with a life cycle, and every alert's history."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from api.store.base import Base
from detect.signals import Kind, Severity

ALERT_STATUSES = ("open", "acknowledged", "resolved")
#: statuses in which an alert still blocks a second alert of the same patient and kind
ACTIVE_STATUSES = ("open", "acknowledged")
EVENT_KINDS = (
    "opened",
    "acknowledged",
    "resolved",
    "escalated",
    "refired",
    "assigned",
    "unassigned",
)
#: the events that are firings of the alert (each links its own signal)
FIRING_EVENTS = ("opened", "refired")

_ACTIVE = text("status IN ('open', 'acknowledged')")


class SignalRecord(Base):
    """Every signal detect/ returned, kept whether or not it opened an alert."""

    __tablename__ = "signals"
    __table_args__ = (Index("ix_signals_patient_fired", "patient_id", "fired_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    kind: Mapped[Kind] = mapped_column(String(40))
    severity: Mapped[Severity] = mapped_column(String(20))
    fired_on: Mapped[date]
    window_start: Mapped[date]
    window_end: Mapped[date]
    explanation: Mapped[str] = mapped_column(Text)
    detector: Mapped[str] = mapped_column(String(80))
    detector_version: Mapped[str] = mapped_column(String(40))
    changes: Mapped[dict[str, Any]]
    alert_id: Mapped[int | None] = mapped_column(
        ForeignKey("alerts.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime]

    @property
    def metrics(self) -> list[str]:
        return [change["metric"] for change in self.changes.get("changes", [])]


class Alert(Base):
    """An alert tells one story: its fired_on, window, evidence and explanation are those of
    the signal that opened it. Later firings are events in its history (``AlertEvent``), each
    with its own signal; only ``last_fired_on`` (and a severity that grew) follow them."""

    __tablename__ = "alerts"
    __table_args__ = (
        # one active alert per patient and kind, on both backends
        Index(
            "uq_alerts_active_patient_kind",
            "patient_id",
            "kind",
            unique=True,
            postgresql_where=_ACTIVE,
            sqlite_where=_ACTIVE,
        ),
        Index("ix_alerts_status_severity", "status", "severity"),
        # a newest-first page of one status walks this backwards instead of sorting
        Index("ix_alerts_status_id", "status", "id"),
        Index("ix_alerts_patient_fired", "patient_id", "fired_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    kind: Mapped[Kind] = mapped_column(String(40))
    severity: Mapped[Severity] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))
    #: the signal's metric changes and window, as JSON
    evidence: Mapped[dict[str, Any]]
    explanation: Mapped[str] = mapped_column(Text)
    detector: Mapped[str] = mapped_column(String(80))
    detector_version: Mapped[str] = mapped_column(String(40))
    fired_on: Mapped[date]
    window_start: Mapped[date]
    window_end: Mapped[date]
    #: the last day a signal of this kind fired again while the alert was active
    last_fired_on: Mapped[date]
    opened_at: Mapped[datetime]
    acknowledged_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    escalated_at: Mapped[datetime | None]
    #: the coordinator who took the alert on (None: nobody yet)
    assignee_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )

    events: Mapped[list[AlertEvent]] = relationship(
        back_populates="alert", order_by="AlertEvent.id", cascade="all, delete-orphan"
    )


class AlertEvent(Base):
    """One step of an alert's history. Each firing ("opened", "refired") links the stored
    signal it came from, with that signal's own day, window, metrics and sentence."""

    __tablename__ = "alert_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), index=True)
    event: Mapped[str] = mapped_column(String(20))
    signal_id: Mapped[int | None] = mapped_column(
        ForeignKey("signals.id", ondelete="SET NULL"), index=True
    )
    #: "system", "scheduler", or "user:<id>" / "patient:<id>"
    actor: Mapped[str] = mapped_column(String(100))
    note: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime]

    alert: Mapped[Alert] = relationship(back_populates="events")
    signal: Mapped[SignalRecord | None] = relationship()
