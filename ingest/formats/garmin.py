"""Garmin Connect data export (the GDPR "DI_CONNECT" folders).

* ``DI-Connect-Wellness/*_sleepData.json``: a list of nights. ``sleepStartTimestampGMT`` and
  ``sleepEndTimestampGMT`` are UTC written without a zone suffix; ``calendarDate`` is the wake
  date; ``deepSleepSeconds``, ``lightSleepSeconds``, ``remSleepSeconds`` and ``awakeSleepSeconds``
  are stage totals without timing. Each night gives ``sleep_in_bed`` for the sleep window, and its
  stages (deep → ``sleep_deep``, light → ``sleep_core``, REM → ``sleep_rem``, awake →
  ``sleep_awake``) laid out inside the window by ``SampleRows.stage_totals``: minutes, onset and
  wake time are Garmin's, the clock time of each stage inside the window is not. A night without
  stage totals gives ``sleep_asleep`` = window minus awake time. Records without a sleep window
  (days the watch measured no sleep) and placeholder objects without ``calendarDate`` (real
  exports hold ``{"sleepWindowConfirmationType": "UNCONFIRMED", "retro": false}``) are skipped
  and counted.
* ``DI-Connect-Aggregator/UDSFile_*.json``: one record per day with ``totalSteps`` and
  ``restingHeartRate`` (bpm), emitted as daily values. ``wellnessStartTimeLocal`` and
  ``wellnessStartTimeGmt`` are the same instant (local midnight) in local time and UTC, which
  gives that day's offset.

Local offset of sleep: sleepData carries no local times. When the same upload holds UDS files
(``UDSFile_*.json``),
a night takes the offset of the UDS day whose local midnight is nearest before its start
(within two days); otherwise it is 0. Every row depends only on its own record (and those UDS
days), so two overlapping exports give identical rows for the same night and ``load`` keeps one.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl

from ingest.archive import Member
from ingest.errors import MalformedFileError
from ingest.formats import Format, ParseOptions
from ingest.formats.vendor_records import (
    RecordReader,
    SampleRows,
    json_head_is,
    load_json,
    local_midnight_utc,
    named,
    utc,
)

SOURCE = "garmin"
# -- the format's facts (the simulator's writer takes them from here) ---------------------------
SLEEP_DATA_SUFFIX = "_sleepData.json"
UDS_PREFIX = "UDSFile_"
#: how Garmin writes a time, GMT or local, without a zone (``2023-08-15T22:40:00.0``)
TIME_WRITTEN = "%Y-%m-%dT%H:%M:%S.0"
SLEEP_START, SLEEP_END = "sleepStartTimestampGMT", "sleepEndTimestampGMT"
CALENDAR_DATE = "calendarDate"
#: a UDS day's start in local time and in GMT, whose difference is the day's offset
DAY_START_LOCAL, DAY_START_GMT = "wellnessStartTimeLocal", "wellnessStartTimeGmt"
STEPS, RESTING_HEART_RATE, WORN = "totalSteps", "restingHeartRate", "includesWellnessData"
STAGES = (
    ("deepSleepSeconds", "sleep_deep"),
    ("lightSleepSeconds", "sleep_core"),
    ("remSleepSeconds", "sleep_rem"),
    ("awakeSleepSeconds", "sleep_awake"),
)
OFFSET_REACH = timedelta(days=2)
MAX_OFFSET = 24 * 60  # sorts after every real offset of the same instant
UDS_NAME = re.compile(rf"^{UDS_PREFIX}.*\.json$")


def _records(member: Member, options: ParseOptions) -> list[Any]:
    document = load_json(member, options)
    if not isinstance(document, list):
        raise MalformedFileError(member.display, "expected a JSON list of daily records")
    return document


# -- sleepData -------------------------------------------------------------------------------


def sniff_sleep(path: str, head: bytes) -> bool:
    return json_head_is(head, b"[") and (
        f'"{SLEEP_START}"'.encode() in head
        or (path.endswith(SLEEP_DATA_SUFFIX) and f'"{CALENDAR_DATE}"'.encode() in head)
    )


def parse_sleep(member: Member, options: ParseOptions) -> pl.DataFrame:
    rows = SampleRows(SOURCE)
    offsets = options.once("garmin_uds_offsets", lambda: _uds_offsets(options.siblings, options))
    for index, item in enumerate(_records(member, options)):
        read = RecordReader(member.display, f"record {index}")
        record = read.mapping(item)
        start = _gmt(read, record, SLEEP_START)
        end = _gmt(read, record, SLEEP_END)
        if record.get(CALENDAR_DATE) is None:
            options.skips.skip(
                member.display,
                read.where,
                "a placeholder without calendarDate or sleep times"
                if start is None and end is None
                else "a night without calendarDate",
            )
            continue
        read.day(record, CALENDAR_DATE)
        if start is None and end is None:
            options.skips.skip(member.display, read.where, "a day without a sleep window")
            continue
        if start is None or end is None:
            missing = SLEEP_START if start is None else SLEEP_END
            raise MalformedFileError(
                member.display, f"missing field {missing!r}", record=read.where
            )
        start, end = utc(start), utc(end)
        offset = _offset_at(offsets, start)
        rows.add("sleep_in_bed", start, end, offset, (end - start).total_seconds() / 60, "min")
        seconds = {metric: read.optional_number(record, field) or 0.0 for field, metric in STAGES}
        awake = seconds.pop("sleep_awake")
        if not any(seconds.values()):
            seconds = {"sleep_asleep": (end - start).total_seconds() - awake}
        asleep = [(metric, value / 60) for metric, value in seconds.items()]
        rows.stage_totals(start, end, offset, asleep, awake / 60)
        rows.reported(start, end, offset, sum(minutes for _, minutes in asleep))
    return rows.frame(options)


def _gmt(read: RecordReader, record: Mapping[str, Any], name: str) -> datetime | None:
    """A GMT time written ``2023-08-15T22:40:00.0``, or as epoch milliseconds (as Garmin's
    wellness API writes it)."""
    value = record.get(name)
    if isinstance(value, int) and not isinstance(value, bool):
        return datetime.fromtimestamp(value / 1000, UTC)
    return read.optional_timestamp(record, name)


def _uds_offsets(siblings: Iterable[Member], options: ParseOptions) -> list[tuple[datetime, int]]:
    """(local midnight in UTC, offset) of every UDS day in the upload, sorted."""
    pairs: list[tuple[datetime, int]] = []
    quiet = ParseOptions(patient_id=options.patient_id)  # progress counts each file once
    for member in named(siblings, UDS_NAME):
        if not sniff_uds(member.path, member.head()):
            continue
        for index, item in enumerate(_records(member, quiet)):
            read = RecordReader(member.display, f"record {index}")
            day_start = _uds_day_start(read, read.mapping(item))
            if day_start is not None:
                pairs.append(day_start)
    return sorted(set(pairs))


def _offset_at(offsets: list[tuple[datetime, int]], moment: datetime) -> int:
    """The offset of the latest UDS day starting at or before ``moment``, within reach."""
    i = bisect_right(offsets, (moment, MAX_OFFSET)) - 1
    if i >= 0 and moment - offsets[i][0] <= OFFSET_REACH:
        return offsets[i][1]
    return 0


# -- UDSFile ---------------------------------------------------------------------------------


def sniff_uds(path: str, head: bytes) -> bool:
    return json_head_is(head, b"[") and (
        f'"{DAY_START_GMT}"'.encode() in head
        or (
            path.rsplit("/", 1)[-1].startswith(UDS_PREFIX) and f'"{CALENDAR_DATE}"'.encode() in head
        )
    )


def _uds_day_start(read: RecordReader, record: Mapping[str, Any]) -> tuple[datetime, int] | None:
    local = read.optional_timestamp(record, DAY_START_LOCAL)
    gmt = read.optional_timestamp(record, DAY_START_GMT)
    if local is None or gmt is None:
        return None
    offset = round((local - gmt).total_seconds() / 60)
    return utc(gmt), offset


def parse_uds(member: Member, options: ParseOptions) -> pl.DataFrame:
    rows = SampleRows(SOURCE)
    for index, item in enumerate(_records(member, options)):
        read = RecordReader(member.display, f"record {index}")
        record = read.mapping(item)
        day = read.day(record, CALENDAR_DATE)
        known = _uds_day_start(read, record)
        # without the local/GMT pair the offset is unknown: local midnight is taken as UTC
        day_start, offset = known if known else (local_midnight_utc(day, 0), 0)
        steps = read.optional_number(record, STEPS)
        worn = record.get(WORN) is not False
        if steps is not None and worn:
            rows.daily("steps", day_start, offset, steps, "count")
        resting = read.optional_number(record, RESTING_HEART_RATE)
        if resting:  # null or 0 on days the watch was not worn
            rows.daily("resting_heart_rate", day_start, offset, resting, "bpm")
    return rows.frame(options)


FORMATS: tuple[Format, ...] = (
    Format("garmin_sleep_data", "samples", sniff_sleep, parse_sleep),
    Format("garmin_uds", "samples", sniff_uds, parse_uds),
)
