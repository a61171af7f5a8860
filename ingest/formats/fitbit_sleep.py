"""Fitbit sleep: the legacy ``Global Export Data/sleep-*.json`` logs and the Google-format
``Health Fitness Data_GoogleData/UserSleeps_*.csv`` sessions.

sleep-*.json is a list of sleep logs (any dates: the file name does not bound them), each with
naive local ``startTime``/``endTime`` and ``levels``:

* ``type: "stages"``: ``levels.data`` are back-to-back segments (``deep``, ``light``, ``rem``,
  ``wake``); ``levels.shortData`` are short wakes (under 3 minutes) that overlay them: where a
  short wake lies inside a light segment, that part is awake. The overlay reproduces the log's
  ``minutesAsleep`` (within rounding).
* ``type: "classic"`` (older trackers, naps): ``asleep``, ``restless`` and ``awake`` segments.
  Fitbit counts restless time as awake (``minutesAsleep`` is the ``asleep`` minutes alone, and
  ``minutesAwake`` includes restless), so restless and awake become ``sleep_awake``.

Each log gives ``sleep_in_bed`` for its span, and asleep segments as stage metrics (deep →
``sleep_deep``, light → ``sleep_core``, rem → ``sleep_rem``, classic asleep → ``sleep_asleep``),
wake/awake/restless as ``sleep_awake``; values are minutes. Naps (``mainSleep: false``) are kept
like any log: the nights builder decides the main sleep. A log without segments (some manual
logs) gives its ``minutesAsleep``/``minutesAwake`` laid out by ``SampleRows.stage_totals``.
Offsets: see ``fitbit_offsets``.

UserSleeps carries UTC times with offsets but only totals, and each night appears once per
sleep algorithm (``sleep_session_v1``, ``sleep_session_v2``), with different bounds. Rule against
double counting: of sessions that overlap each other, only the newest algorithm version is kept
(then the latest ``sleep_last_updated``); and a session overlapping (in local time) any log of
a ``sleep*.json`` file of the same upload is dropped: the JSON log, with its stages, wins; so is
a session ending on a day between the first and the last JSON log (the JSON is Fitbit's own list
of those days). Both give ``sleep_reported``: Fitbit's ``minutesAsleep`` of each log or session.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any, cast

import polars as pl

from ingest.archive import Member
from ingest.errors import MalformedFileError
from ingest.formats import ParseOptions
from ingest.formats.fitbit_offsets import offset_table, offsets_at, read_user_sleeps
from ingest.formats.vendor_csv import numbers
from ingest.formats.vendor_records import (
    RecordReader,
    SampleRows,
    json_head_is,
    load_json,
    named,
    utc,
)
from ingest.local_time import local_clock
from ingest.read_report import SkipLog

SOURCE = "fitbit"
LEVEL_METRICS = {
    "deep": "sleep_deep",
    "light": "sleep_core",
    "rem": "sleep_rem",
    "wake": "sleep_awake",
    "asleep": "sleep_asleep",
    "restless": "sleep_awake",
    "awake": "sleep_awake",
}
#: a log's naive local ``startTime``, ``endTime`` and segment ``dateTime``, as Fitbit writes them
LOG_TIME = "%Y-%m-%dT%H:%M:%S.000"
#: ``sleep-2024-01-10.json`` in Fitbit's export, ``sleep.json`` in merged research copies
SLEEP_JSON_NAME = re.compile(r"^sleep(-\d{4}-\d{2}-.*)?\.json$")
Segment = tuple[datetime, datetime, str]  # naive local start, end, metric
#: a sleep log read: start, end, its runs of one metric, Fitbit's asleep and awake minutes, and
#: whether every time in it is naive (local)
_Log = tuple[datetime, datetime, list[Segment], tuple[float | None, float], bool]


def is_sleep_json(head: bytes) -> bool:
    return json_head_is(head, b"[") and b'"logId"' in head and b'"dateOfSleep"' in head


def _segments(
    read: RecordReader, items: Any, name: str, skips: SkipLog | None = None
) -> list[Segment]:
    """The segments of ``levels.<name>``. A level Fitbit did not classify (``unknown``, written
    in the night the clocks change) is a gap in the hypnogram: skipped and counted, never sleep."""
    if not isinstance(items, list):
        raise MalformedFileError(read.file, f"levels.{name} is not a list", record=read.where)
    out = []
    for item in items:
        # a segment as Fitbit writes it, checked inline (a year holds tens of thousands); any
        # other goes the long way below, which names what is wrong with it
        if type(item) is dict:
            moment, length, level = item.get("dateTime"), item.get("seconds"), item.get("level")
            metric = LEVEL_METRICS.get(level) if type(level) is str else None
            if metric is not None and type(moment) is str and type(length) in (int, float):
                try:
                    start = datetime.fromisoformat(moment)
                except ValueError:
                    pass
                else:
                    end = start + timedelta(seconds=float(cast(float, length)))
                    out.append((start, end, metric))
                    continue
        segment = read.mapping(item)
        start = read.timestamp(segment, "dateTime")
        seconds = read.number(segment, "seconds")
        level = read.text(segment, "level")
        if level not in LEVEL_METRICS:
            if skips is not None:
                skips.skip(
                    read.file,
                    f"{read.where}, levels.{name} at {start.isoformat()}",
                    f"sleep level {level!r} is not a sleep stage: left as a gap in the night",
                )
            continue
        out.append((start, start + timedelta(seconds=seconds), LEVEL_METRICS[level]))
    return sorted(out)


def _covering(
    segments: list[Segment], starts: list[datetime], a: datetime, b: datetime
) -> str | None:
    i = bisect_right(starts, a) - 1
    if i >= 0 and segments[i][1] >= b:
        return segments[i][2]
    return None


def overlay(data: list[Segment], short_wakes: list[Segment]) -> list[Segment]:
    """``data`` with the ``short_wakes`` laid over it, merged into runs of one metric.

    A Python loop: a log has a few dozen segments, and cutting them at every boundary of the
    other list is clearer here than as frame operations."""
    cuts = sorted({t for s, e, _ in data + short_wakes for t in (s, e)})
    data_starts = [s for s, _, _ in data]
    wake_starts = [s for s, _, _ in short_wakes]
    runs: list[Segment] = []
    for a, b in pairwise(cuts):
        metric = _covering(short_wakes, wake_starts, a, b) or _covering(data, data_starts, a, b)
        if metric is None:
            continue  # a gap between segments
        if runs and runs[-1][1] == a and runs[-1][2] == metric:
            runs[-1] = (runs[-1][0], b, metric)
        else:
            runs.append((a, b, metric))
    return runs


def parse_sleep_json(member: Member, options: ParseOptions) -> pl.DataFrame:
    logs = load_json(member, options)
    if not isinstance(logs, list):
        raise MalformedFileError(member.display, "expected a JSON list of sleep logs")
    per_log: list[_Log] = []
    for index, item in enumerate(logs):
        read = RecordReader(member.display, f"record {index}")
        log = read.mapping(item)
        read = RecordReader(member.display, f"record {index} (logId {read.require(log, 'logId')})")
        start, end = read.timestamp(log, "startTime"), read.timestamp(log, "endTime")
        levels = read.mapping(read.require(log, "levels"))
        data = _segments(read, read.require(levels, "data"), "data", options.skips)
        wakes = _segments(read, levels.get("shortData") or [], "shortData", options.skips)
        totals = (
            read.optional_number(log, "minutesAsleep"),
            read.optional_number(log, "minutesAwake") or 0.0,
        )
        naive = start.tzinfo is None and end.tzinfo is None
        naive = naive and all(moment.tzinfo is None for moment, _, _ in data + wakes)
        per_log.append((start, end, overlay(data, wakes), totals, naive))
    starts = pl.Series([log[0] for log in per_log], dtype=pl.Datetime("us"))
    offsets = offsets_at(starts, offset_table(options), local=True).to_list()
    if all(naive for *_, naive in per_log):
        return _local_rows(per_log, offsets).local_frame(options)
    rows = SampleRows(SOURCE)
    for (start, end, runs, (asleep, awake), _), offset in zip(per_log, offsets, strict=True):
        utc_start, utc_end = utc(start, offset), utc(end, offset)
        rows.add("sleep_in_bed", utc_start, utc_end, offset, _minutes(start, end), "min")
        if asleep is not None:
            rows.reported(utc_start, utc_end, offset, asleep)
        if not runs:
            rows.stage_totals(utc_start, utc_end, offset, [("sleep_asleep", asleep or 0.0)], awake)
        for a, b, metric in runs:
            rows.add(metric, utc(a, offset), utc(b, offset), offset, _minutes(a, b), "min")
    return rows.frame(options)


def _local_rows(per_log: list[_Log], offsets: list[int]) -> SampleRows:
    """The rows of logs written in local time, in local time: the same rows as when each is
    moved to UTC on its own, moved all at once (a year of logs has tens of thousands)."""
    rows = SampleRows(SOURCE)
    add = rows.add
    for (start, end, runs, (asleep, awake), _), offset in zip(per_log, offsets, strict=True):
        add("sleep_in_bed", start, end, offset, _minutes(start, end), "min")
        if asleep is not None:
            rows.reported(start, end, offset, asleep)
        if not runs:
            rows.stage_totals(start, end, offset, [("sleep_asleep", asleep or 0.0)], awake)
        for a, b, metric in runs:
            add(metric, a, b, offset, (b - a).total_seconds() / 60, "min")
    return rows


def _minutes(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds() / 60


def json_log_spans(siblings: Iterable[Member]) -> pl.DataFrame:
    """Naive local ``start``/``end`` of every log in the upload's sleep-*.json files."""
    spans: list[tuple[datetime, datetime]] = []
    quiet = ParseOptions()
    for member in named(siblings, SLEEP_JSON_NAME):
        if not is_sleep_json(member.head()):
            continue
        logs = load_json(member, quiet)
        for index, item in enumerate(logs if isinstance(logs, list) else []):
            read = RecordReader(member.display, f"record {index}")
            log: Mapping[str, Any] = read.mapping(item)
            start, end = read.timestamp(log, "startTime"), read.timestamp(log, "endTime")
            spans.append((start, end))
    return pl.DataFrame(
        {"start": [s for s, _ in spans], "end": [e for _, e in spans]},
        schema={"start": pl.Datetime("us"), "end": pl.Datetime("us")},
    )


def _one_session_per_night(sessions: pl.DataFrame) -> pl.DataFrame:
    prev_end = pl.col("end").cum_max().shift(1)
    version = pl.col("algorithm_version").str.extract(r"(\d+)$").cast(pl.Int32, strict=False)
    return (
        sessions.sort("start")
        .with_columns(night=(prev_end.is_null() | (pl.col("start") >= prev_end)).cum_sum())
        .sort(version.fill_null(0), pl.col("sleep_last_updated"), descending=True, nulls_last=True)
        .unique("night", keep="first")
        .sort("start")
    )


def parse_user_sleeps(member: Member, options: ParseOptions) -> pl.DataFrame:
    sessions = read_user_sleeps(member, options)
    for column in ("algorithm_version", "sleep_last_updated"):
        if column not in sessions.columns:
            sessions = sessions.with_columns(pl.lit(None, pl.String).alias(column))
    sessions = sessions.with_columns(
        asleep=numbers(sessions, "minutes_asleep", member.display),
        awake=numbers(sessions, "minutes_awake", member.display),
    )
    kept = _one_session_per_night(sessions)
    logs = options.once("fitbit_json_log_spans", lambda: json_log_spans(options.siblings))
    if logs.height:
        local = kept.with_columns(
            ls=local_clock(pl.col("start"), "start_offset"),
            le=local_clock(pl.col("end"), "start_offset"),
        )
        logs = logs.rename({"start": "log_start", "end": "log_end"})
        overlaps = (pl.col("ls") < pl.col("log_end"), pl.col("le") > pl.col("log_start"))
        covered = local.join_where(logs, *overlaps)
        # the JSON logs are Fitbit's own list of the days they cover: a session of those days
        # that is not among them (a short classic session Fitbit later dropped) is not sleep
        days = logs["log_end"].dt.date()
        within = local.filter(pl.col("le").dt.date().is_between(days.min(), days.max()))
        kept = kept.filter(
            ~pl.col("line").is_in(covered["line"].implode())
            & ~pl.col("line").is_in(within["line"].implode())
        )
    rows = SampleRows(SOURCE)
    # one row of Python per night: the layout of totals is shared with the other vendors
    for start, end, offset, asleep, awake in kept.select(
        "start", "end", "start_offset", "asleep", "awake"
    ).iter_rows():
        rows.add("sleep_in_bed", start, end, offset, _minutes(start, end), "min")
        rows.stage_totals(start, end, offset, [("sleep_asleep", asleep)], awake)
        rows.reported(start, end, offset, asleep)
    return rows.frame(options)
