"""A patient's PHQ-9 submission through the API: checked, stored whole, judged at once, and
answered the same way if it is sent again.

- Answer times must be plausible: not more than ``FUTURE_TOLERANCE`` after the server's clock
  (a phone's clock may run a little fast) and not before ``EARLIEST_ANSWER`` (1990-01-01: the
  PHQ-9 was published in 1999, so an earlier date is a device's reset clock or a typo).
- An answer time already stored with other answers is a conflict (409) naming the stored entry:
  the stored answers are not silently kept over the new ones, nor replaced.
- The same answers sent again (a retry after a lost response, or the same ``Idempotency-Key``)
  are a replay: the response of the first submission, and nobody is told twice; also when the
  second arrives while the first is still being stored (the patient's row is locked).
- Every answer with item 9 above zero shows the patient the safety message, whatever the state
  of an earlier alert; the care team is told by a firing of the safety alert (``fire``).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.services.errors import Conflict, InvalidInput
from api.services.phq9 import KEY, SUBMITTED_AT, judge_new_entries
from api.store import Patient, Phq9Entry, Phq9Submission
from api.unit_of_work import UnitOfWork
from ingest.schema import PHQ9_ITEMS

FUTURE_TOLERANCE = timedelta(minutes=5)
EARLIEST_ANSWER = datetime(1990, 1, 1, tzinfo=UTC)
SAFETY_MESSAGE = (
    "Your care team has been told and will contact you. If you are in danger now, "
    "call your local emergency number."
)
#: what makes two answers the same answers (the file format they came in does not)
ANSWER_COLUMNS = (*PHQ9_ITEMS, "total", "difficulty", "instrument")


@dataclass(frozen=True)
class Receipt:
    """The response body (with the alerts, which only coordinators are shown) and whether it
    is the replay of an earlier submission."""

    body: dict[str, Any]
    replayed: bool

    def shown_to(self, role: str) -> dict[str, Any]:
        if role == "coordinator":
            return dict(self.body)
        return {key: value for key, value in self.body.items() if key != "alerts"}


def submit_answers(
    work: UnitOfWork,
    *,
    patient_id: str,
    entries: pl.DataFrame,
    now: datetime,
    idempotency_key: str | None = None,
) -> Receipt:
    """Checks, stores and judges one submission of ``entries`` (a PHQ9 frame, every entry
    with its ``answered_at``); nothing is stored when any entry is refused."""
    session = work.session
    entries = _one_per_time(entries.with_columns(pl.lit(patient_id).alias("patient_id")))
    check_answer_times(entries, now=now)
    digest = _digest(entries)
    # one submission of a patient at a time: the same answers sent twice at once (two taps, a
    # retry while the first is still being stored) wait here, then find the first one stored
    # and get its answer, instead of both inserting (PostgreSQL; SQLite's writes take its one
    # write lock at BEGIN, see api.unit_of_work)
    session.execute(select(Patient.id).where(Patient.id == patient_id).with_for_update())
    if idempotency_key is not None:
        earlier = session.scalar(
            select(Phq9Submission).where(
                Phq9Submission.patient_id == patient_id,
                Phq9Submission.idempotency_key == idempotency_key,
            )
        )
        if earlier is not None:
            if earlier.digest != digest:
                raise Conflict(
                    f"Idempotency-Key {idempotency_key!r} was used at "
                    f"{_iso(earlier.created_at)} for other answers; use a new key"
                )
            return Receipt(body=dict(earlier.response), replayed=True)
    new = _new_or_identical(session, patient_id=patient_id, entries=entries)
    if new.height == 0:
        earlier = session.scalar(
            select(Phq9Submission)
            .where(Phq9Submission.patient_id == patient_id, Phq9Submission.digest == digest)
            .order_by(Phq9Submission.id)
            .limit(1)
        )
        body = dict(earlier.response) if earlier is not None else _body(patient_id, entries, [])
        return Receipt(body=body, replayed=True)
    firings = judge_new_entries(work, entries=new.with_columns(pl.lit(now).alias(SUBMITTED_AT)))
    alerts = [
        {
            "id": f.alert.id,
            "kind": f.alert.kind,
            "severity": f.alert.severity,
            "event": "opened" if f.opened else "refired",
        }
        for f in firings
    ]
    body = _body(patient_id, entries, alerts)
    session.add(
        Phq9Submission(
            patient_id=patient_id,
            idempotency_key=idempotency_key,
            digest=digest,
            response=body,
            created_at=now,
        )
    )
    session.flush()
    return Receipt(body=body, replayed=False)


def check_answer_times(entries: pl.DataFrame, *, now: datetime) -> None:
    """Refuses answer times after ``now`` + ``FUTURE_TOLERANCE`` or before
    ``EARLIEST_ANSWER`` (422 naming ``answered_at``)."""
    times = entries["answered_at"]
    latest, earliest = times.max(), times.min()
    if isinstance(latest, datetime) and latest > now + FUTURE_TOLERANCE:
        raise InvalidInput(
            f"answered_at {_iso(latest)} is in the future (the server's time is {_iso(now)})",
            field="answered_at",
        )
    if isinstance(earliest, datetime) and earliest < EARLIEST_ANSWER:
        raise InvalidInput(
            f"answered_at {_iso(earliest)} is before {EARLIEST_ANSWER:%Y-%m-%d}: "
            "not a plausible time for a PHQ-9 answer",
            field="answered_at",
        )


def _one_per_time(entries: pl.DataFrame) -> pl.DataFrame:
    """The submission's entries, one per answer time; two different answers given for one
    time in the same submission are refused."""
    distinct = entries.unique(subset=[*KEY, *ANSWER_COLUMNS], maintain_order=True)
    clash = distinct.filter(pl.col("answered_at").is_duplicated())
    if clash.height:
        raise InvalidInput(
            f"answered_at {_iso(clash['answered_at'][0])} is given twice with different "
            "answers in this submission",
            field="answered_at",
        )
    return distinct


def _new_or_identical(session: Session, *, patient_id: str, entries: pl.DataFrame) -> pl.DataFrame:
    """The entries not stored yet; raises Conflict when one is stored with other answers."""
    stored = session.scalars(
        select(Phq9Entry).where(
            Phq9Entry.patient_id == patient_id,
            Phq9Entry.answered_at.in_(entries["answered_at"].to_list()),
        )
    ).all()
    by_time = {row.answered_at: row for row in stored}
    for entry in entries.iter_rows(named=True):
        row = by_time.get(entry["answered_at"])
        if row is not None and any(getattr(row, c) != entry[c] for c in ANSWER_COLUMNS):
            raise Conflict(
                f"the PHQ-9 answered at {_iso(row.answered_at)} is already stored (entry "
                f"{row.id}, received {_iso(row.created_at)}) with other answers; it is not "
                "replaced: correct it with the care team"
            )
    return entries.filter(~pl.col("answered_at").is_in(list(by_time)))


def _body(patient_id: str, entries: pl.DataFrame, alerts: list[dict[str, Any]]) -> dict[str, Any]:
    body: dict[str, Any] = {"patient_id": patient_id, "received": entries.height, "alerts": alerts}
    item_9 = entries.filter(pl.col("instrument") == "phq9")["item_9"].fill_null(0)
    if (item_9 > 0).any():
        body["safety"] = SAFETY_MESSAGE
    return body


def _digest(entries: pl.DataFrame) -> str:
    rows = entries.sort("answered_at").select("answered_at", *ANSWER_COLUMNS).rows()
    text = json.dumps([[_iso(r[0]), *r[1:]] for r in rows], separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
