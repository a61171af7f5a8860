"""Webhook endpoints of care teams, the outbox of deliveries, and every delivery attempt.

A ``Delivery`` is written in the same transaction as the alert change it reports (the
transactional outbox), so an event is never lost and never sent for a change that rolled back.
Its ``message_id`` is the Standard Webhooks ``webhook-id``: the same on every retry, so a
receiver drops duplicates by it.
"""

from __future__ import annotations

import enum
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import JSON, Enum, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from api.store.base import Base

EVENT_TYPES = (
    "alert.opened",
    "alert.refired",
    "alert.acknowledged",
    "alert.resolved",
    "alert.escalated",
)


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"  # dead: every attempt allowed was made and none succeeded


class WebhookEndpoint(Base):
    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(
        ForeignKey("care_teams.id", ondelete="CASCADE"), index=True
    )
    url: Mapped[str] = mapped_column(String(2048))
    # Shown once, when the endpoint is registered; kept to sign every delivery, encrypted
    # ("fernet:...", api.webhooks.secret_box)
    secret: Mapped[str] = mapped_column(String(512))
    event_types: Mapped[list[str]] = mapped_column(JSON)
    description: Mapped[str] = mapped_column(String(200), default="")
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]
    #: set while the endpoint fails: when one waiting delivery is tried early, to learn at once
    #: that it is back (its whole backlog is then sent, urgent first)
    next_probe_at: Mapped[datetime | None]

    deliveries: Mapped[list[Delivery]] = relationship(
        back_populates="endpoint", cascade="all, delete-orphan", passive_deletes=True
    )

    def __repr__(self) -> str:  # never the secret, nor a query string that may hold a token
        host = urlsplit(self.url).hostname if self.url else None
        return f"WebhookEndpoint(id={self.id!r}, team_id={self.team_id!r}, host={host!r})"

    def subscribes_to(self, event_type: str) -> bool:
        return event_type in self.event_types


class Delivery(Base):
    """One event for one endpoint: the outbox row, retried until delivered or dead."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    endpoint_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), index=True
    )
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), index=True)
    event_type: Mapped[str] = mapped_column(String(40))
    message_id: Mapped[str] = mapped_column(String(40), unique=True)
    # The exact JSON text that is signed and sent, identical on every retry.
    payload: Mapped[str] = mapped_column(Text)
    status: Mapped[DeliveryStatus] = mapped_column(
        Enum(
            DeliveryStatus,
            native_enum=False,
            length=16,
            values_callable=lambda e: [m.value for m in e],
        ),
        default=DeliveryStatus.PENDING,
    )
    #: an urgent alert's event: sent before the others of a backlog
    urgent: Mapped[bool] = mapped_column(default=False)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None]
    # Set while a worker holds the delivery, so no other worker sends it at the same time.
    claim_token: Mapped[str | None] = mapped_column(String(32))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]

    endpoint: Mapped[WebhookEndpoint] = relationship(back_populates="deliveries")
    attempt_log: Mapped[list[DeliveryAttempt]] = relationship(
        back_populates="delivery",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="DeliveryAttempt.id",
    )


class DeliveryAttempt(Base):
    """Every attempt, kept: when, what the receiver answered (or the error), how long it took."""

    __tablename__ = "webhook_delivery_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), index=True
    )
    attempted_at: Mapped[datetime]
    status_code: Mapped[int | None]
    error: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[float]

    delivery: Mapped[Delivery] = relationship(back_populates="attempt_log")

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300
