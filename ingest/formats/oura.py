"""Oura: API v2 JSON and the account ("membership hub") export's CSV files.

API v2 JSON, as separate endpoint files (``{"data": [...], "next_token": ...}``) or as one dump
keyed by endpoint (``{"sleep": {"data": [...]}, "daily_activity": {...}, ...}``):

* ``sleep``: sleep periods. ``type`` is ``long_sleep``, ``sleep`` or ``late_nap`` (kept: naps
  count), ``rest`` (a rest period, not sleep) or ``deleted`` (both skipped). Each period gives
  ``sleep_in_bed`` for ``bedtime_start``–``bedtime_end`` (ISO times with offsets; the offset
  of ``bedtime_start`` is ``utc_offset_min``), and the 5-minute hypnogram ``sleep_phase_5_min``
  (from ``bedtime_start``: 1 deep → ``sleep_deep``, 2 light → ``sleep_core``, 3 REM →
  ``sleep_rem``, 4 awake → ``sleep_awake``) as runs of one stage, the last cut at
  ``bedtime_end``. Without a hypnogram the stage durations are laid out by
  ``SampleRows.stage_totals``. ``average_heart_rate`` is a ``heart_rate`` sample over the
  period. For ``long_sleep`` periods only (Oura's own choice for its daily figures):
  ``average_hrv`` (Oura's RMSSD) is a daily ``hrv_rmssd`` and ``lowest_heart_rate`` a daily
  ``resting_heart_rate`` (Oura's definition) of ``day``, the wake date.
* ``daily_activity``: ``steps`` of ``day`` as a daily value (local midnight from the offset of
  its ``timestamp``). A day of 0 steps is a day the ring was not worn: no row.
* ``daily_sleep`` and ``daily_readiness``: scores only, recognised and not emitted. The
  readiness contributor ``resting_heart_rate`` is a 0-100 score, never a heart rate.

The account export ("App Data" folder) holds the same fields as semicolon-separated CSV files,
one per endpoint (``sleepmodel.csv``, ``dailyactivity.csv``, ``dailysleep.csv``,
``dailyreadiness.csv``), with JSON written unquoted into some cells. Its rows go through the
same rules; errors name the line. ``device`` is null: neither names the ring.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta
from itertools import groupby
from typing import Any

import polars as pl

from ingest.archive import Member
from ingest.errors import InvalidValueError, MalformedFileError
from ingest.formats import Format, ParseOptions
from ingest.formats.vendor_csv import header_of, read_text_csv
from ingest.formats.vendor_records import (
    RecordReader,
    SampleRows,
    json_head_is,
    load_json,
    local_midnight_utc,
    offset_minutes,
    utc,
)

SOURCE = "oura"
#: a night's main sleep (the only type whose HRV and lowest heart rate are the night's), a nap
MAIN_SLEEP, NAP = "long_sleep", "late_nap"
SLEEP_TYPES = frozenset({MAIN_SLEEP, "sleep", NAP})
NOT_SLEEP_TYPES = frozenset({"rest", "deleted"})
#: ``sleep_phase_5_min``: one digit per epoch of ``EPOCH`` from ``bedtime_start``
PHASES = {"1": "sleep_deep", "2": "sleep_core", "3": "sleep_rem", "4": "sleep_awake"}
EPOCH = timedelta(minutes=5)
ENDPOINTS = ("sleep", "daily_activity", "daily_sleep", "daily_readiness")
NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
#: CSV columns that look like numbers but are text (a hypnogram of digits)
TEXT_COLUMNS = frozenset({"sleep_phase_5_min", "movement_30_sec", "class_5_min", "id", "day"})


def _endpoint_of(records: list[Any]) -> str | None:
    """The endpoint a file of records came from, by the fields its records carry."""
    keys = {key for record in records if isinstance(record, Mapping) for key in record}
    if "bedtime_start" in keys:
        return "sleep"
    if "steps" in keys or "class_5_min" in keys:
        return "daily_activity"
    return None  # daily_sleep, daily_readiness and other score-only endpoints


def _sleep_period(rows: SampleRows, read: RecordReader, record: Mapping[str, Any]) -> None:
    kind = read.text(record, "type")
    if kind in NOT_SLEEP_TYPES:
        return
    if kind not in SLEEP_TYPES:
        raise InvalidValueError(
            read.file, f"field 'type' is {kind!r}, not an Oura sleep type", record=read.where
        )
    day = read.day(record, "day")
    start, end = _aware(read, record, "bedtime_start"), _aware(read, record, "bedtime_end")
    offset, end_offset = offset_minutes(start), offset_minutes(end)
    start, end = utc(start), utc(end)
    rows.add("sleep_in_bed", start, end, offset, (end - start).total_seconds() / 60, "min")
    phases = read.optional_text(record, "sleep_phase_5_min")
    if phases:
        add_hypnogram(rows, read, phases, start, end, offset)
    else:
        stages = [
            (metric, (read.optional_number(record, field) or 0.0) / 60)
            for field, metric in (
                ("deep_sleep_duration", "sleep_deep"),
                ("light_sleep_duration", "sleep_core"),
                ("rem_sleep_duration", "sleep_rem"),
            )
        ]
        if not any(minutes for _, minutes in stages):
            stages = [
                ("sleep_asleep", (read.optional_number(record, "total_sleep_duration") or 0.0) / 60)
            ]
        awake = (read.optional_number(record, "awake_time") or 0.0) / 60
        rows.stage_totals(start, end, offset, stages, awake)
    total = read.optional_number(record, "total_sleep_duration")
    if total is not None:
        rows.reported(start, end, offset, total / 60)
    average_hr = read.optional_number(record, "average_heart_rate")
    if average_hr:
        rows.add("heart_rate", start, end, offset, average_hr, "bpm")
    if kind == MAIN_SLEEP:
        midnight = local_midnight_utc(day, end_offset)
        hrv = read.optional_number(record, "average_hrv")
        if hrv:
            rows.daily("hrv_rmssd", midnight, end_offset, hrv, "ms")
        lowest = read.optional_number(record, "lowest_heart_rate")
        if lowest:
            rows.daily("resting_heart_rate", midnight, end_offset, lowest, "bpm")


def _aware(read: RecordReader, record: Mapping[str, Any], name: str) -> datetime:
    moment = read.timestamp(record, name)
    if moment.tzinfo is None:
        raise InvalidValueError(
            read.file, f"field {name!r} has no UTC offset ({record[name]!r})", record=read.where
        )
    return moment


def add_hypnogram(
    rows: SampleRows, read: RecordReader, phases: str, start: datetime, end: datetime, offset: int
) -> None:
    """Runs of one stage; a loop over at most a few hundred 5-minute epochs of one period."""
    unknown = set(phases) - PHASES.keys()
    if unknown:
        raise InvalidValueError(
            read.file,
            f"field 'sleep_phase_5_min' has {sorted(unknown)}, expected only 1-4",
            record=read.where,
        )
    epoch = 0
    for phase, run in groupby(phases):
        count = len(list(run))
        run_start = start + epoch * EPOCH
        run_end = min(run_start + count * EPOCH, end)
        epoch += count
        if run_end > run_start:
            minutes = (run_end - run_start).total_seconds() / 60
            rows.add(PHASES[phase], run_start, run_end, offset, minutes, "min")


def _daily_activity(rows: SampleRows, read: RecordReader, record: Mapping[str, Any]) -> None:
    day = read.day(record, "day")
    steps = read.number(record, "steps")
    stamp = read.optional_timestamp(record, "timestamp")
    offset = offset_minutes(stamp) if stamp is not None else 0
    if steps:
        rows.daily("steps", local_midnight_utc(day, offset), offset, steps, "count")


def _read_records(
    rows: SampleRows, file: str, endpoint: str | None, records: Iterator[tuple[str, Any]]
) -> None:
    handler = {"sleep": _sleep_period, "daily_activity": _daily_activity}.get(endpoint or "")
    if handler is None:
        return
    for where, item in records:
        read = RecordReader(file, where)
        handler(rows, read, read.mapping(item))


# -- API v2 JSON -----------------------------------------------------------------------------


def sniff_api_json(path: str, head: bytes) -> bool:
    if not json_head_is(head, b"{") or b'"data"' not in head or b'"day"' not in head:
        return False
    markers = (b'"bedtime_start"', b'"class_5_min"', b'"temperature_deviation"', b'"contributors"')
    return any(marker in head for marker in markers)


def parse_api_json(member: Member, options: ParseOptions) -> pl.DataFrame:
    document = load_json(member, options)
    if not isinstance(document, Mapping):
        raise MalformedFileError(member.display, "expected a JSON object")
    if "data" in document:
        collections: list[tuple[str, str | None, Any]] = [("data", None, document["data"])]
    else:
        collections = [(key, key, document[key]) for key in ENDPOINTS if key in document]
        if not collections:
            raise MalformedFileError(member.display, f"none of the Oura endpoints {ENDPOINTS}")
    rows = SampleRows(SOURCE)
    for label, endpoint, value in collections:
        records = value.get("data") if isinstance(value, Mapping) else value
        if not isinstance(records, list):
            raise MalformedFileError(member.display, f"{label!r} holds no list of records")
        named = ((f"{label} record {i}", item) for i, item in enumerate(records))
        _read_records(rows, member.display, endpoint or _endpoint_of(records), named)
    # API dumps fetched page by page repeat records (the public sample holds each day 3-6 times)
    return rows.frame(options).unique(maintain_order=True)


# -- account export CSV ----------------------------------------------------------------------


def _csv_endpoint(header: list[str]) -> str | None:
    if "bedtime_start" in header and "type" in header:
        return "sleep"
    if "steps" in header and "day" in header:
        return "daily_activity"
    if "day" in header and "contributors" in header and "score" in header:
        return "scores"
    return None


def sniff_export_csv(path: str, head: bytes) -> bool:
    return path.lower().endswith(".csv") and _csv_endpoint(header_of(head, ";")) is not None


def _cell(column: str, text: str | None) -> Any:
    """A CSV cell as the API would give it: numbers as numbers, JSON cells decoded."""
    if text is None or text == "":
        return None
    if column not in TEXT_COLUMNS and NUMBER.match(text):
        return float(text)
    if text[:1] in "{[":
        try:
            return json.loads(text)
        except ValueError:
            return text
    return text


def parse_export_csv(member: Member, options: ParseOptions) -> pl.DataFrame:
    endpoint = _csv_endpoint(header_of(member.head(4096), ";"))
    required = {"sleep": ["type", "day", "bedtime_start", "bedtime_end"]}.get(
        endpoint or "", ["day"]
    )
    frame = read_text_csv(member, options, required, separator=";", quote_char=None)
    columns = [c for c in frame.columns if c != "line"]
    # one dict per row: the rows then follow exactly the API's rules (a few thousand rows a year)
    records = (
        (f"line {row['line']}", {c: _cell(c, row[c]) for c in columns})
        for row in frame.iter_rows(named=True)
    )
    rows = SampleRows(SOURCE)
    _read_records(rows, member.display, endpoint, records)
    return rows.frame(options)


FORMATS: tuple[Format, ...] = (
    Format("oura_api_json", "samples", sniff_api_json, parse_api_json),
    Format("oura_export_csv", "samples", sniff_export_csv, parse_export_csv),
)
