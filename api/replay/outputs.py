"""What a replay leaves in OUT: alerts.jsonl, nights.csv and report.html, read back from the
database the replay wrote, so they show what the service stored."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.alert_shape import alert_shape
from api.report.model import ALERTS
from api.services.nights import load_nights
from api.store import Alert

#: the fields of one alerts.jsonl line, in this order
ALERT_FIELDS = tuple(ALERTS)
#: SQLite binds at most 32,766 parameters; stay far below
CHUNK = 5000
#: patients per query when the stored nights are read back: a year of nights is read as Python
#: rows before it becomes a frame (about 0.6 kB a night), so a chunk's rows stay a few tens
#: of MB where 2,000 patients at once held 0.5 GB
NIGHTS_CHUNK = 200


def stored_alerts(
    session: Session, *, patient_ids: Sequence[str], first: date, last: date
) -> pl.DataFrame:
    """The alerts of these patients that fired in [first, last], as an ALERTS frame, sorted
    by fired_on, patient_id, kind and severity."""
    rows: list[tuple[object, ...]] = []
    ids = list(patient_ids)
    for lo in range(0, len(ids), CHUNK):
        found = session.scalars(
            select(Alert).where(
                Alert.patient_id.in_(ids[lo : lo + CHUNK]), Alert.fired_on.between(first, last)
            )
        )
        rows += [tuple(alert_shape(a, fields=ALERT_FIELDS).values()) for a in found]
    frame = pl.DataFrame(rows, schema=ALERTS, orient="row")
    return frame.sort("fired_on", "patient_id", "kind", "severity", "window_start")


def stored_nights(session: Session, *, patient_ids: Sequence[str], last: date) -> pl.DataFrame:
    ids = list(patient_ids)
    frames = [
        load_nights(session, patient_ids=ids[lo : lo + NIGHTS_CHUNK], end=last)
        for lo in range(0, len(ids), NIGHTS_CHUNK)
    ]
    return pl.concat(frames).sort("patient_id", "date") if frames else load_nights(session)


def write_alerts_jsonl(path: Path, alerts: pl.DataFrame) -> Path:
    """One JSON object a line, keys in ALERT_FIELDS order, dates as ISO strings."""
    with path.open("w", encoding="utf-8", newline="\n") as out:
        for row in alerts.select(ALERT_FIELDS).iter_rows(named=True):
            for key in ("fired_on", "window_start", "window_end"):
                row[key] = row[key].isoformat()
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    return path


def read_alerts_jsonl(path: Path) -> pl.DataFrame:
    """alerts.jsonl back as an ALERTS frame (for the report, tests and notebooks)."""
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    if not lines:
        return pl.DataFrame(schema=ALERTS)
    frame = pl.DataFrame(lines)
    dates = [pl.col(c).str.to_date() for c in ("fired_on", "window_start", "window_end")]
    return frame.with_columns(dates).select(
        pl.col(name).cast(dtype) for name, dtype in ALERTS.items()
    )


def write_nights_csv(path: Path, nights: pl.DataFrame) -> Path:
    nights.write_csv(path)
    return path
