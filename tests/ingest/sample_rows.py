"""Expected sample rows written the way a reader checks them against a vendor file."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import polars as pl
from polars.testing import assert_frame_equal

from ingest.schema import NIGHTS, SAMPLES

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


def read_nights_csv(path: Path) -> pl.DataFrame:
    """An expected nights table written as CSV (floats to 4 decimals), in the NIGHTS schema."""
    return pl.read_csv(path, schema=NIGHTS)


def assert_nights_match(actual: pl.DataFrame, expected_csv: Path) -> None:
    expected = read_nights_csv(expected_csv)
    assert actual.columns == expected.columns
    assert_frame_equal(actual, expected, abs_tol=1e-4, check_exact=False)
