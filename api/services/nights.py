"""The nights table: upserted from ingest.build_nights frames, read back as NIGHTS frames."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

import polars as pl
from sqlalchemy import ColumnElement, Select, String, func, or_, select, type_coerce
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from api.store import Night
from ingest.schema import NIGHTS

VALUE_COLUMNS = [c for c in NIGHTS if c not in ("patient_id", "date") and not c.startswith("has_")]
COVERAGE_COLUMNS = [c for c in NIGHTS if c.startswith("has_")]
#: parameter sets per executemany call
BATCH = 5000


def store_nights(
    session: Session, *, patient_id: str | None, nights: pl.DataFrame, now: datetime
) -> int:
    """Upserts ``nights`` (the NIGHTS columns; patient_id is forced to ``patient_id``, or kept
    as each row has it when ``patient_id`` is None, for a bulk load of many patients such as a
    replayed day) and returns how many patient-nights were written (new or updated).

    One row per patient and date, ever: a later upload fills what was missing and replaces what
    it measured again (a value it lacks keeps the stored one; coverage flags only grow)."""
    if nights.height == 0:
        return 0
    frame = (
        (
            nights
            if patient_id is None
            else nights.with_columns(pl.lit(patient_id).alias("patient_id"))
        )
        .select(list(NIGHTS))
        .unique(subset=["patient_id", "date"], keep="last", maintain_order=True)
    )
    rows = frame.with_columns(pl.lit(now).alias("updated_at")).to_dicts()
    table = Night.__table__
    statement = _insert_for(session)(table)
    excluded = statement.excluded
    updates: dict[str, Any] = {
        name: func.coalesce(excluded[name], table.c[name]) for name in VALUE_COLUMNS
    }
    updates |= {name: or_(excluded[name], table.c[name]) for name in COVERAGE_COLUMNS}
    updates["updated_at"] = excluded.updated_at
    upsert = statement.on_conflict_do_update(index_elements=["patient_id", "date"], set_=updates)
    # one cached statement, executed for many parameter sets (the driver's executemany)
    for start in range(0, len(rows), BATCH):
        session.execute(upsert, rows[start : start + BATCH])
    return frame.height


def load_nights(
    session: Session,
    *,
    patient_ids: Iterable[str] | None = None,
    start: date | None = None,
    end: date | None = None,
    columns: Sequence[str] | None = None,
    where: ColumnElement[bool] | None = None,
) -> pl.DataFrame:
    """Stored nights as a NIGHTS frame (or only ``columns`` of it), sorted by patient and date;
    ``where``: a further condition on the rows."""
    conditions: list[ColumnElement[bool]] = [] if where is None else [where]
    if patient_ids is not None:
        conditions.append(Night.patient_id.in_(list(patient_ids)))
    if start is not None:
        conditions.append(Night.date >= start)
    if end is not None:
        conditions.append(Night.date <= end)
    names = list(NIGHTS) if columns is None else list(columns)
    unknown = [name for name in names if name not in NIGHTS]
    if unknown:
        raise ValueError(f"nights have no columns {unknown}")
    schema = {name: NIGHTS[name] for name in names}
    selected: list[Any] = [Night.__table__.c[name] for name in names]
    if "date" in schema and session.get_bind().dialect.name == "sqlite":
        # SQLite keeps the date as ISO text; polars parses the whole column at once, where the
        # driver would build a Python date per row (the detection job reads ~200,000 a day)
        selected[names.index("date")] = type_coerce(Night.date, String).label("date")
        schema["date"] = pl.String()
    query = select(*selected).where(*conditions).order_by(Night.patient_id, Night.date)
    rows = _fetch_rows(session, query)
    frame = pl.DataFrame(rows, schema=schema, orient="row")
    if schema.get("date") == pl.String:
        frame = frame.with_columns(pl.col("date").str.to_date("%Y-%m-%d"))
    return frame


def _fetch_rows(session: Session, query: Select[Any]) -> Sequence[Any]:
    """The query's rows as tuples, run as Core on the session's connection (no ORM bookkeeping
    per row). On SQLite, when no column needs converting (the detection job's columns: text
    and floats, the date read as text) they come straight from the driver's cursor, without a
    result row built around each (a third of the time for the detection job's 200,000 rows)."""
    connection = session.connection()
    dialect = connection.dialect
    result = connection.execute(query)
    if dialect.name != "sqlite" or any(
        column.type.dialect_impl(dialect).result_processor(dialect, None) is not None
        for column in query.selected_columns
    ):
        return result.all()
    try:
        rows: Sequence[Any] = result.cursor.fetchall()
    finally:
        result.close()
    return rows


def _insert_for(session: Session) -> Any:
    name = session.get_bind().dialect.name
    if name == "postgresql":
        return postgresql.insert
    if name == "sqlite":
        return sqlite.insert
    raise NotImplementedError(f"store_nights supports PostgreSQL and SQLite, not {name}")
