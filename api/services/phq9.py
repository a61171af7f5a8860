"""PHQ-9 entries: stored whole or not at all, judged at once on submission."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import polars as pl
from sqlalchemy import (
    ColumnElement,
    String,
    and_,
    bindparam,
    func,
    insert,
    or_,
    select,
    type_coerce,
    union_all,
    update,
)
from sqlalchemy.orm import Session

from api.services.alerts import Firing, fire
from api.services.tokens import Principal
from api.store import Alert, Patient, Phq9Entry
from api.unit_of_work import UnitOfWork
from detect import DEFAULT, DetectConfig
from detect.phq9_rules import score_entries, signals_from_scored
from ingest.schema import PHQ9

#: the column of ``submit_phq9_many``'s frame that says when each entry was submitted
SUBMITTED_AT = "submitted_at"
KEY = ["patient_id", "answered_at"]


def store_phq9(
    session: Session, *, patient_id: str, entries: pl.DataFrame, now: datetime
) -> pl.DataFrame:
    """Stores the entries not stored before (same patient and answer time) and returns them.
    Entries without an answer time (NHANES tables record none) cannot be placed and are left."""
    frame = _submission(entries.with_columns(pl.lit(patient_id).alias("patient_id")), now)
    return _store_new(session, frame).select(list(PHQ9))


def phq9_window_start(first: datetime, config: DetectConfig) -> datetime:
    """The earliest answer time the PHQ-9 rules (detect.phq9_rules) read when they judge
    entries answered at or after ``first``: the recent level is the median of the entries of
    the ``recent_days`` before each one. (The remission state can date from any time before;
    ``load_phq9`` adds the entry it comes from.)"""
    return first - timedelta(days=config.recent_days)


def load_phq9(
    session: Session,
    *,
    patient_ids: list[str] | None = None,
    since: datetime | None = None,
    config: DetectConfig = DEFAULT,
) -> pl.DataFrame:
    """Stored entries as a PHQ9 frame, sorted by patient and answer time.

    With ``since``, only the entries answered then or later, plus each patient's last entry
    before it that set their remission state (a total below ``remission_below`` or at least
    ``relapse_total``): with those the PHQ-9 rules judge any entry from
    ``since + recent_days`` on exactly as with the whole history."""
    table = Phq9Entry.__table__
    columns: list[Any] = [table.c[name] for name in PHQ9]
    as_text = session.get_bind().dialect.name == "sqlite"
    if as_text:
        # SQLite keeps the time as ISO text: polars parses the column at once, where the
        # driver would build a Python datetime per row (the nightly run reads every patient's)
        columns[list(PHQ9).index("answered_at")] = type_coerce(table.c.answered_at, String).label(
            "answered_at"
        )
    chosen: list[ColumnElement[bool]] = []
    if patient_ids is not None:
        chosen.append(Phq9Entry.patient_id.in_(patient_ids))
    if since is None:
        query: Any = select(*columns).where(*chosen)
    else:
        total = Phq9Entry.total
        last_state = (
            select(Phq9Entry.patient_id, func.max(Phq9Entry.answered_at).label("answered_at"))
            .where(
                *chosen,
                Phq9Entry.answered_at < since,
                or_(total < config.remission_below, total >= config.relapse_total),
            )
            .group_by(Phq9Entry.patient_id)
            .subquery()
        )
        query = union_all(
            select(*columns).where(*chosen, Phq9Entry.answered_at >= since),
            select(*columns).join(
                last_state,
                and_(
                    Phq9Entry.patient_id == last_state.c.patient_id,
                    Phq9Entry.answered_at == last_state.c.answered_at,
                ),
            ),
        )
    if not as_text:
        rows = session.connection().execute(query).all()
        return pl.DataFrame(rows, schema=dict(PHQ9), orient="row").sort(KEY)
    result = session.connection().execute(query)
    try:
        raw = result.cursor.fetchall()  # text, integers and strings: nothing to convert
    finally:
        result.close()
    text = dict(PHQ9) | {"answered_at": pl.String()}
    frame = pl.DataFrame(raw, schema=text, orient="row").with_columns(
        pl.col("answered_at")
        .str.to_datetime("%Y-%m-%d %H:%M:%S%.f", time_unit="us")
        .dt.replace_time_zone("UTC")
    )
    return frame.sort(KEY)


def submit_phq9(
    work: UnitOfWork,
    *,
    patient_id: str,
    entries: pl.DataFrame,
    actor: Principal | str,
    now: datetime,
    config: DetectConfig = DEFAULT,
) -> list[Alert]:
    """Stores the entries and judges each new one against the patient's earlier answers at
    once (item 9 above zero is an urgent safety alert); returns the alerts opened.

    ``actor`` is who submitted (kept for the caller's audit entry); PHQ-9 values are never
    logged."""
    del actor  # the submission is audited by the caller; alerts record the detector
    frame = entries.with_columns(
        pl.lit(patient_id).alias("patient_id"), pl.lit(now).alias(SUBMITTED_AT)
    )
    return submit_phq9_many(work, entries=frame, config=config)


def submit_phq9_many(
    work: UnitOfWork, *, entries: pl.DataFrame, config: DetectConfig = DEFAULT
) -> list[Alert]:
    """``submit_phq9`` for many submissions at once, each entry with its own ``patient_id``
    and ``submitted_at``; the same entries stored and the same alerts opened, in the same order
    (by submission time, patient, answer time), as one ``submit_phq9`` call per submission.

    Each patient's history is read once, however many entries they submitted."""
    return [f.alert for f in judge_new_entries(work, entries=entries, config=config) if f.opened]


def judge_new_entries(
    work: UnitOfWork, *, entries: pl.DataFrame, config: DetectConfig = DEFAULT
) -> list[Firing]:
    """Stores the entries not stored before and judges each against the answers before it;
    returns the firings, in submission order. Each new answer that trips a rule is a firing of
    its own: it opens an alert or, while one of its kind is active, fires it again (an urgent
    one is announced again), so an item-9 answer always reaches the care team."""
    session = work.session
    new = _store_new(session, _submission(entries, None))
    if new.height == 0:
        return []
    _mark_for_detection(session, new)
    history = load_phq9(
        session,
        patient_ids=new["patient_id"].unique().sort().to_list(),
        since=phq9_window_start(new["answered_at"].min(), config),  # type: ignore[arg-type]
        config=config,
    )
    # every new entry scored against the entries before it, as submit_phq9 judged it
    flagged = (
        score_entries(history, config)
        .join(new.select(*KEY, SUBMITTED_AT), on=KEY, how="inner")
        .filter(pl.col("safety") | pl.col("relapse_after_remission") | pl.col("reliable_rise"))
        .sort(SUBMITTED_AT, "patient_id", "answered_at")
    )
    firings: list[Firing] = []
    # one step per flagged entry: few, and each fires at its own submission time
    for index in range(flagged.height):
        entry = flagged.slice(index, 1)
        for signal in signals_from_scored(entry, config):
            firing = fire(work, signal=signal, now=entry[SUBMITTED_AT][0], new_answer=True)
            if firing is not None:
                firings.append(firing)
    return firings


def _submission(entries: pl.DataFrame, now: datetime | None) -> pl.DataFrame:
    """The placeable entries (with an answer time), one per patient and answer time (the last
    one given), in submission order."""
    frame = entries.filter(pl.col("answered_at").is_not_null())
    if now is not None:
        frame = frame.with_columns(pl.lit(now).alias(SUBMITTED_AT))
    return (
        frame.select(*PHQ9, pl.col(SUBMITTED_AT).cast(pl.Datetime("us", "UTC")))
        .unique(subset=KEY, keep="last", maintain_order=True)
        .sort(SUBMITTED_AT, "patient_id", "answered_at")
    )


def _store_new(session: Session, frame: pl.DataFrame) -> pl.DataFrame:
    """Inserts the rows of ``frame`` not stored before, created at their submission time, in
    one executemany; returns them."""
    if frame.height == 0:
        return frame
    times = frame["answered_at"]
    stored = session.connection().execute(
        select(Phq9Entry.patient_id, Phq9Entry.answered_at).where(
            Phq9Entry.patient_id.in_(frame["patient_id"].unique().to_list()),
            Phq9Entry.answered_at.between(times.min(), times.max()),
        )
    )
    known = pl.DataFrame(stored.all(), schema={k: PHQ9[k] for k in KEY}, orient="row")
    new = frame.join(known, on=KEY, how="anti", maintain_order="left")
    if new.height:
        rows = new.rename({SUBMITTED_AT: "created_at"}).to_dicts()
        session.execute(insert(Phq9Entry), rows)
    return new


def _mark_for_detection(session: Session, new: pl.DataFrame) -> None:
    """``mark_for_detection`` of every patient with a new entry, at their first submission (an
    existing mark is older and stays): one UPDATE executed for every patient at once."""
    first = new.group_by("patient_id").agg(pl.col(SUBMITTED_AT).min()).sort("patient_id")
    due = Patient.detection_due_at
    session.connection().execute(
        update(Patient)
        .where(Patient.id == bindparam("patient"), due.is_(None))
        .values(detection_due_at=bindparam("at", type_=due.type)),
        [{"patient": pid, "at": at} for pid, at in first.iter_rows()],
    )
    # Core statements bypass the session: a patient it holds reads the mark afresh
    for pid in first["patient_id"]:
        held = session.identity_map.get(session.identity_key(Patient, pid))
        if held is not None:
            session.expire(held, ["detection_due_at"])
