"""Hand-built sample frames for the nights tests: one helper, local times with their offset."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import polars as pl

from ingest.schema import SAMPLES


def local(stamp: str, offset_min: int) -> datetime:
    """A naive local time string plus its UTC offset, as a UTC instant."""
    naive = datetime.fromisoformat(stamp)
    return naive.replace(tzinfo=timezone(timedelta(minutes=offset_min))).astimezone(UTC)


def sample(
    metric: str,
    start: str,
    end: str | None = None,
    *,
    offset: int = 60,
    end_offset: int | None = None,
    value: float | None = None,
    source: str = "oura",
    device: str | None = None,
    patient: str = "p1",
) -> dict[str, object]:
    """A sample between two local times (``end`` None: an instant, e.g. an HRV reading)."""
    begin = local(start, offset)
    finish = local(end, offset if end_offset is None else end_offset) if end else begin
    minutes = (finish - begin).total_seconds() / 60
    return {
        "patient_id": patient,
        "source": source,
        "device": device,
        "metric": metric,
        "start": begin,
        "end": finish,
        "utc_offset_min": offset,
        "value": minutes if value is None else value,
        "unit": "min" if metric.startswith("sleep") else "",
    }


def daily(metric: str, day: str, value: float, **kw: object) -> dict[str, object]:
    """A vendor's daily value: local midnight to 24 hours later."""
    start = datetime.fromisoformat(day)
    end = (start + timedelta(hours=24)).isoformat()
    return sample(metric, start.isoformat(), end, value=value, **kw)  # type: ignore[arg-type]


def frame(*rows: dict[str, object]) -> pl.DataFrame:
    return pl.DataFrame(list(rows), schema=SAMPLES)
