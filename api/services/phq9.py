"""PHQ-9 entries: stored whole or not at all, judged at once on submission."""

from __future__ import annotations

import importlib
from datetime import UTC, datetime
from typing import Any

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.services.alerts import open_alert
from api.services.patients import mark_for_detection
from api.services.tokens import Principal
from api.store import Alert, Phq9Entry
from ingest.schema import PHQ9


def store_phq9(
    session: Session, *, patient_id: str, entries: pl.DataFrame, now: datetime | None = None
) -> pl.DataFrame:
    """Stores the entries not stored before (same patient and answer time) and returns them.
    Entries without an answer time (NHANES tables record none) cannot be placed and are left."""
    now = now or datetime.now(UTC)
    frame = (
        entries.filter(pl.col("answered_at").is_not_null())
        .with_columns(pl.lit(patient_id).alias("patient_id"))
        .select(list(PHQ9))
        .unique(subset=["answered_at"], keep="last", maintain_order=True)
        .sort("answered_at")
    )
    if frame.height == 0:
        return frame
    known = set(
        session.scalars(
            select(Phq9Entry.answered_at).where(
                Phq9Entry.patient_id == patient_id,
                Phq9Entry.answered_at.in_(frame["answered_at"].to_list()),
            )
        )
    )
    new = frame.filter(~pl.col("answered_at").is_in(list(known))) if known else frame
    session.add_all(Phq9Entry(**row, created_at=now) for row in new.to_dicts())
    session.flush()
    return new


def load_phq9(session: Session, *, patient_ids: list[str] | None = None) -> pl.DataFrame:
    table = Phq9Entry.__table__
    query = select(*[table.c[name] for name in PHQ9]).order_by(
        Phq9Entry.patient_id, Phq9Entry.answered_at
    )
    if patient_ids is not None:
        query = query.where(Phq9Entry.patient_id.in_(patient_ids))
    return pl.DataFrame(session.execute(query).all(), schema=dict(PHQ9), orient="row")


def submit_phq9(
    session: Session,
    *,
    patient_id: str,
    entries: pl.DataFrame,
    actor: Principal | str,
    now: datetime | None = None,
    config: Any = None,
) -> list[Alert]:
    """Stores the entries and judges each new one against the patient's earlier answers at
    once (item 9 above zero is an urgent safety alert); returns the alerts opened.

    ``actor`` is who submitted (kept for the caller's audit entry); PHQ-9 values are never
    logged."""
    del actor  # the submission is audited by the caller; alerts record the detector
    now = now or datetime.now(UTC)
    history = load_phq9(session, patient_ids=[patient_id])
    new = store_phq9(session, patient_id=patient_id, entries=entries, now=now)
    if new.height == 0:
        return []
    mark_for_detection(session, patient_id=patient_id, now=now)
    detect = importlib.import_module("detect")
    judge = detect.phq9_submission_signals
    config = config if config is not None else detect.DetectConfig()
    opened: list[Alert] = []
    for index in range(new.height):
        entry = new.slice(index, 1)
        for signal in judge(entry, history, config):
            alert = open_alert(session, signal=signal, now=now)
            if alert is not None:
                opened.append(alert)
        history = pl.concat([history, entry])
    return opened
