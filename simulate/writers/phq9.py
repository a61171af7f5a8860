"""PHQ-9 answers in phenowatch's documented formats: ``phq9.csv`` (``answered_at``, ``item_1``
… ``item_9``, ``difficulty``, ``total``) or ``phq9.json`` (a list of objects with ``items``),
``answered_at`` in ISO 8601 with the patient's local offset on that day."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import polars as pl

from ingest.schema import PHQ9_ITEMS
from simulate.writers.records import local_iso


def _local_stamps(entries: pl.DataFrame, offsets: pl.DataFrame) -> list[str]:
    """``answered_at`` in local time with its offset: the entry's own (``utc_offset_min``), else
    from ``offsets`` (date, utc_offset_min: the offset at local noon of each date; answers are
    given in the daytime)."""
    by_date: dict[date, int] = dict(
        zip(offsets["date"].to_list(), offsets["utc_offset_min"].to_list(), strict=True)
    )
    stamps = []
    own = entries.get_column("utc_offset_min", default=pl.repeat(None, entries.height, eager=True))
    for moment, given in zip(entries["answered_at"], own, strict=True):
        if given is not None:
            stamps.append(local_iso(moment, int(given)))
            continue
        offset = by_date.get(moment.date(), 0)
        # the UTC date may be the local day before or after: settle on the local date's offset
        local_day = (moment + timedelta(minutes=offset)).date()
        stamps.append(local_iso(moment, by_date.get(local_day, offset)))
    return stamps


def write(folder: Path, entries: pl.DataFrame, offsets: pl.DataFrame, *, as_json: bool) -> Path:
    """Write one patient's PHQ-9 ``entries`` (PHQ9 schema) into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    stamps = _local_stamps(entries, offsets)
    rows = entries.select(*PHQ9_ITEMS, "difficulty", "total").to_dicts()
    if as_json:
        path = folder / "phq9.json"
        records = [
            {
                "answered_at": stamp,
                "items": [row[item] for item in PHQ9_ITEMS],
                "difficulty": row["difficulty"],
                "total": row["total"],
                "instrument": "phq9",
            }
            for stamp, row in zip(stamps, rows, strict=True)
        ]
        path.write_text(json.dumps(records, indent=1))
        return path
    path = folder / "phq9.csv"
    header = ",".join(["answered_at", *PHQ9_ITEMS, "difficulty", "total"])
    lines = [
        ",".join([stamp, *(str(row[c]) for c in (*PHQ9_ITEMS, "difficulty", "total"))])
        for stamp, row in zip(stamps, rows, strict=True)
    ]
    path.write_text("\n".join([header, *lines]) + "\n")
    return path
