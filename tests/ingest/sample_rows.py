"""Expected sample rows written the way a reader checks them against a vendor file."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl

from ingest.schema import SAMPLES

Row = tuple[str, str, str, int, float, str]  # metric, start, end (UTC ISO), offset, value, unit
COLUMNS = ("metric", "start", "end", "utc_offset_min", "value", "unit")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def rows_of(frame: pl.DataFrame) -> list[Row]:
    """The frame's rows as (metric, start, end, offset, value, unit), sorted, times in UTC ISO."""
    out = [
        (m, s.strftime("%Y-%m-%dT%H:%M:%S"), e.strftime("%Y-%m-%dT%H:%M:%S"), o, round(v, 3), u)
        for m, s, e, o, v, u in frame.select(COLUMNS).iter_rows()
    ]
    return sorted(out)


def frame_of(
    rows: list[Row], *, source: str, patient_id: str = "p1", device: str | None = None
) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "patient_id": [patient_id] * len(rows),
            "source": [source] * len(rows),
            "device": [device] * len(rows),
            "metric": [r[0] for r in rows],
            "start": [at(r[1]) for r in rows],
            "end": [at(r[2]) for r in rows],
            "utc_offset_min": [r[3] for r in rows],
            "value": [float(r[4]) for r in rows],
            "unit": [r[5] for r in rows],
        },
        schema=SAMPLES,
    )
