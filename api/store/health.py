"""The nights table (ingest.schema.NIGHTS) and PHQ-9 entries (ingest.schema.PHQ9)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, SmallInteger, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from api.store.base import Base


class Night(Base):
    """One row per patient per local date; a missing measurement is NULL, never zero."""

    __tablename__ = "nights"

    patient_id: Mapped[str] = mapped_column(
        ForeignKey("patients.id", ondelete="CASCADE"), primary_key=True
    )
    date: Mapped[date] = mapped_column(primary_key=True)
    sleep_total_min: Mapped[float | None]
    sleep_main_min: Mapped[float | None]
    sleep_onset_min: Mapped[float | None]
    sleep_midpoint_min: Mapped[float | None]
    sleep_efficiency: Mapped[float | None]
    sleep_periods: Mapped[int | None]
    sleep_source: Mapped[str | None] = mapped_column(String(40))
    hrv_sdnn_ms: Mapped[float | None]
    hrv_rmssd_ms: Mapped[float | None]
    resting_hr_bpm: Mapped[float | None]
    steps: Mapped[float | None]
    utc_offset_min: Mapped[int | None]
    has_sleep: Mapped[bool]
    has_hrv: Mapped[bool]
    has_resting_hr: Mapped[bool]
    has_steps: Mapped[bool]
    updated_at: Mapped[datetime]


class Phq9Entry(Base):
    __tablename__ = "phq9_entries"
    __table_args__ = (
        UniqueConstraint("patient_id", "answered_at", name="uq_phq9_entries_patient_answered"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    answered_at: Mapped[datetime]
    item_1: Mapped[int | None] = mapped_column(SmallInteger)
    item_2: Mapped[int | None] = mapped_column(SmallInteger)
    item_3: Mapped[int | None] = mapped_column(SmallInteger)
    item_4: Mapped[int | None] = mapped_column(SmallInteger)
    item_5: Mapped[int | None] = mapped_column(SmallInteger)
    item_6: Mapped[int | None] = mapped_column(SmallInteger)
    item_7: Mapped[int | None] = mapped_column(SmallInteger)
    item_8: Mapped[int | None] = mapped_column(SmallInteger)
    #: null for a PHQ-8
    item_9: Mapped[int | None] = mapped_column(SmallInteger)
    total: Mapped[int] = mapped_column(SmallInteger)
    difficulty: Mapped[int | None] = mapped_column(SmallInteger)
    instrument: Mapped[str] = mapped_column(String(10))
    source: Mapped[str] = mapped_column(String(40))
    #: the UTC offset (minutes east) the answer was given with: its local date is the day it
    #: counts on (detect.phq9_rules.answered_on); null when it named none (then UTC)
    utc_offset_min: Mapped[int | None]
    created_at: Mapped[datetime]


class Phq9Submission(Base):
    """What one PHQ-9 submission was answered, kept so that the same answers sent again (a
    retry, or the same ``Idempotency-Key``) get the same response and tell nobody twice."""

    __tablename__ = "phq9_submissions"
    __table_args__ = (
        UniqueConstraint("patient_id", "idempotency_key", name="uq_phq9_submissions_key"),
        Index("ix_phq9_submissions_digest", "patient_id", "digest"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    #: sha256 of the answers (answer times, items, difficulty, instrument), whatever the format
    digest: Mapped[str] = mapped_column(String(64))
    #: the response body given, alerts included (a patient is shown it without them)
    response: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
