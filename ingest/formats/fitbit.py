"""Fitbit exports: the legacy data export and Fitbit's part of a Google Takeout.

Recognised files (by content, plus the file names Fitbit gives its same-shaped JSON series; the
date in a name may carry Takeout's duplicate counter, as in ``steps-2020-07-(10).json``, and
never bounds the records inside):

* ``sleep-*.json``, ``UserSleeps_*.csv``: see ``fitbit_sleep``.
* ``Heart Rate Variability/*.csv``, ``daily_heart_rate_variability.csv``, ``sleep_score.csv``:
  see ``fitbit_takeout_csv``.
* ``resting_heart_rate-*.json``: one record per day, ``value.date`` in MM/DD/YY and
  ``value.value`` in bpm → daily ``resting_heart_rate``. Days without a measurement are written
  with ``date: null`` and ``value: 0`` (or, in some copies, a date and no value): they are not
  data, give no row and are counted as skipped.
* ``steps-*.json``: per-minute counts, ``value`` written as a string, timestamps in UTC (the
  file named for a day starts at that day's local midnight, e.g. ``07/06/20 14:08`` in a file
  named 07-07 for a user at UTC+10). They are summed per quarter hour into timed ``steps``
  samples of 15 minutes: files split at local midnight and every offset in use is a multiple of
  15 minutes, so no quarter is split across files, and the nights builder sums the quarters of
  each local date.
* ``heart_rate-*.json``: ``value.bpm`` per timestamp (UTC) → ``heart_rate`` samples of zero
  length. These files are large (one a day, a reading every few seconds): they are read with
  polars in one pass, and skipped without reading when ``heart_rate`` is not wanted.

Offsets of every file without one: see ``fitbit_offsets``. ``device`` is null: the legacy files
do not name the tracker.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import polars as pl

from ingest.archive import Member
from ingest.errors import InvalidValueError, MalformedFileError
from ingest.formats import Format, ParseOptions, fitbit_sleep, fitbit_takeout_csv
from ingest.formats.fitbit_offsets import is_user_sleeps, offset_table, offsets_at
from ingest.formats.vendor_records import (
    RecordReader,
    decode_json,
    json_head_is,
    named,
    read_bytes,
    to_samples,
)
from ingest.schema import SAMPLES, empty

SOURCE = "fitbit"
#: how Fitbit writes a day (``value.date`` of a resting heart rate) and a time (``dateTime``)
US_DATE = "%m/%d/%y"
US_TIME = f"{US_DATE} %H:%M:%S"
STEP_BUCKET = "15m"
ISO_TIME = "%Y-%m-%d %H:%M:%S"
#: ``steps-2020-07-07.json`` as Fitbit names it, ``steps.json`` as merged research copies do
STEPS_NAME = re.compile(r"^steps(-\d{4}-\d{2}-.*)?\.json$")
STEPS_PREFIX = "steps-"
#: ``resting_heart_rate-2020-03-09.json`` as Fitbit names it (the batch reads these by name)
RESTING_NAME = re.compile(r"^resting_heart_rate(-\d{4}-\d{2}-.*)?\.json$")
#: the value object of a resting-heart-rate day: ``{"date": ..., "value": ..., "error": ...}``
RESTING_VALUE = re.compile(rb'"value"\s*:\s*\{\s*"date"\s*:')
Sniff = Callable[[str, bytes], bool]


def _is_series(head: bytes) -> bool:
    return json_head_is(head, b"[") and b'"dateTime"' in head


def sniff_resting_heart_rate(path: str, head: bytes) -> bool:
    """By content: whatever the file is called (``resting_heart_rate-2020-03-09.json`` in
    Fitbit's export, ``resting_heart_rate.json`` in merged research copies)."""
    return _is_series(head) and RESTING_VALUE.search(head) is not None


def sniff_steps(path: str, head: bytes) -> bool:
    """Per-minute series of calories, distance and steps have one shape (a count written as a
    string): the file name says which one it is."""
    name = path.rsplit("/", 1)[-1]
    return bool(STEPS_NAME.match(name)) and _is_series(head) and b'"bpm"' not in head


def sniff_heart_rate(path: str, head: bytes) -> bool:
    return json_head_is(head, b"[") and b'"dateTime"' in head and b'"bpm"' in head


def _read_series(
    member: Member, options: ParseOptions, schema: dict[str, pl.DataType]
) -> pl.DataFrame:
    """A JSON list of records read by polars in one pass. When polars refuses the file, the
    records are walked in Python to name the broken line, or the record and field."""
    data = read_bytes(member, options)
    try:
        frame = pl.read_json(io.BytesIO(data), schema=schema)
    except pl.exceptions.PolarsError as exc:
        _explain(member, decode_json(member.display, data), schema)
        raise MalformedFileError(member.display, f"not a list of Fitbit records ({exc})") from exc
    if not any(column.has_nulls() for column in frame.iter_columns()):
        return frame
    missing = frame.with_row_index("record").filter(pl.any_horizontal(pl.all().is_null()))
    if missing.height:
        row = missing.row(0, named=True)
        field = next(k for k, v in row.items() if v is None)
        raise MalformedFileError(
            member.display, f"missing field {field!r}", record=f"record {row['record']}"
        )
    return frame


def _explain(member: Member, document: Any, schema: dict[str, pl.DataType]) -> None:
    """Raise the error that names the first record polars could not read."""
    if not isinstance(document, list):
        raise MalformedFileError(member.display, "expected a JSON list of records")
    for index, item in enumerate(document):
        read = RecordReader(member.display, f"record {index}")
        record = read.mapping(item)
        read.text(record, "dateTime")
        value = schema["value"]
        if isinstance(value, pl.Struct):
            inner = read.mapping(read.require(record, "value"))
            for field in value.fields:
                RecordReader(member.display, read.where).optional_number(inner, field.name)
        elif not isinstance(record.get("value"), (str, int, float)):
            raise InvalidValueError(
                member.display, f"field 'value' is {record.get('value')!r}", record=read.where
            )


def _times(frame: pl.DataFrame, member: Member) -> pl.Series:
    """``dateTime`` as Fitbit writes it (``MM/DD/YY HH:MM:SS``) or as research copies rewrite
    it (``YYYY-MM-DD HH:MM:SS``)."""
    text = frame["dateTime"]
    parsed = text.str.strptime(pl.Datetime("us"), US_TIME, strict=False)
    if parsed.has_nulls():
        parsed = parsed.fill_null(text.str.strptime(pl.Datetime("us"), ISO_TIME, strict=False))
    if not parsed.has_nulls():
        return parsed
    bad = parsed.is_null().arg_true()
    if len(bad):
        raise InvalidValueError(
            member.display,
            f"field 'dateTime' is {text[bad[0]]!r}, not MM/DD/YY HH:MM:SS or YYYY-MM-DD HH:MM:SS",
            record=f"record {bad[0]}",
        )
    return parsed


def _numbers(values: pl.Series, name: str, member: Member) -> pl.Series:
    parsed = values.cast(pl.Float64, strict=False)
    bad = (values.is_not_null() & parsed.is_null()).arg_true()
    if len(bad):
        raise InvalidValueError(
            member.display,
            f"field {name!r} is {values[bad[0]]!r}, expected a number",
            record=f"record {bad[0]}",
        )
    return parsed


def _with_offsets(frame: pl.DataFrame, options: ParseOptions, *, local: bool) -> pl.DataFrame:
    """``moment`` (naive) → ``start`` (UTC) and ``utc_offset_min``."""
    offsets = offsets_at(frame["moment"], offset_table(options), local=local)
    frame = frame.with_columns(utc_offset_min=offsets)
    start = pl.col("moment")
    if local:
        start = start - pl.duration(minutes=pl.col("utc_offset_min"))
    return frame.with_columns(start=start.dt.replace_time_zone("UTC"))


RESTING_SCHEMA: dict[str, pl.DataType] = {
    "dateTime": pl.String(),
    "value": pl.Struct({"date": pl.String, "value": pl.Float64, "error": pl.Float64}),
}
STEPS_SCHEMA: dict[str, pl.DataType] = {"dateTime": pl.String(), "value": pl.String()}
RESTING_PLACEHOLDER = "a day without a measurement (no date, or a value of 0 or none)"
#: such a day: Fitbit writes ``date: null, value: 0``; a dated day without a value is one too
_RESTING_PLACEHOLDER = pl.col("date").is_null() | pl.col("value").is_null() | (pl.col("value") <= 0)


def parse_resting_heart_rate(member: Member, options: ParseOptions) -> pl.DataFrame:
    batch = options.once("fitbit_resting_heart_rate", lambda: _resting_batch(options))
    if member.display in batch:
        return _from_batch(batch[member.display], member, options)
    frame = _read_series(member, options, RESTING_SCHEMA)
    frame = frame.with_row_index("record").unnest("value")
    empty_days = frame.filter(_RESTING_PLACEHOLDER)
    if empty_days.height:
        options.skips.skip(
            member.display,
            f"record {empty_days['record'][0]} ({empty_days['dateTime'][0]})",
            RESTING_PLACEHOLDER,
            empty_days.height,
        )
    frame = frame.filter(~_RESTING_PLACEHOLDER)
    day = _resting_days(frame["date"])
    bad = day.is_null().arg_true()
    if len(bad):
        raise InvalidValueError(
            member.display,
            f"field 'date' is {frame['date'][bad[0]]!r}, not MM/DD/YY",
            record=f"record {frame['record'][bad[0]]}",
        )
    frame = frame.with_columns(moment=day.cast(pl.Datetime("us")))
    frame = _with_offsets(frame, options, local=True).with_columns(
        end=pl.col("start") + timedelta(days=1),
        metric=pl.lit("resting_heart_rate"),
        unit=pl.lit("bpm"),
    )
    return to_samples(frame, options, SOURCE)


def _resting_days(dates: pl.Series) -> pl.Series:
    """``value.date`` as dates: MM/DD/YY as Fitbit writes it, else ISO as research copies do;
    null where it is neither."""
    day = dates.str.strptime(pl.Date, US_DATE, strict=False)
    if day.has_nulls():
        day = day.fill_null(dates.str.strptime(pl.Date, "%Y-%m-%d", strict=False))
    return day


def parse_steps(member: Member, options: ParseOptions) -> pl.DataFrame:
    batch = options.once("fitbit_steps", lambda: _steps_batch(options))
    if member.display in batch:
        return _from_batch(batch[member.display], member, options)
    frame = _read_series(member, options, STEPS_SCHEMA)
    frame = frame.select(
        moment=_times(frame, member).dt.truncate(STEP_BUCKET),
        value=_numbers(frame["value"], "value", member),
    )
    quarters = frame.group_by("moment").agg(pl.col("value").sum()).sort("moment")
    quarters = _with_offsets(quarters, options, local=False).with_columns(
        end=pl.col("start") + timedelta(minutes=15), metric=pl.lit("steps"), unit=pl.lit("count")
    )
    return to_samples(quarters, options, SOURCE)


def parse_heart_rate(member: Member, options: ParseOptions) -> pl.DataFrame:
    if not options.wants("heart_rate"):
        return empty(SAMPLES)
    value = pl.Struct({"bpm": pl.Float64, "confidence": pl.Float64})
    frame = _read_series(member, options, {"dateTime": pl.String(), "value": value})
    frame = frame.select(moment=_times(frame, member), value=pl.col("value").struct["bpm"])
    frame = _with_offsets(frame.filter(pl.col("value") > 0), options, local=False)
    frame = frame.with_columns(end=pl.col("start"), metric=pl.lit("heart_rate"), unit=pl.lit("bpm"))
    return to_samples(frame, options, SOURCE)


# -- every file of a kind at once -------------------------------------------------------------
# A year of Fitbit's export is a dozen monthly files of each daily series, and the frame work
# on one costs about the same as on all of them: the files an upload names as Fitbit does
# (``resting_heart_rate-*.json``, ``steps-*.json``) are read once as one frame, and each file's
# rows are handed out when the file is parsed. The rows are the same as file by file: every
# step works row by row or within one file. Whenever a file is not plainly sound (a broken
# record, a field missing, a value to name), nothing is handed out and each file is read on
# its own, which names the file and record as always.


@dataclass(frozen=True)
class _Part:
    """One file's rows out of its kind's frame, its bytes (for ``progress``) and the records
    it skips (first record, count)."""

    samples: pl.DataFrame
    size: int
    skipped: tuple[str, int] | None = None


def _from_batch(part: _Part, member: Member, options: ParseOptions) -> pl.DataFrame:
    if options.progress is not None:
        options.progress(part.size)
    if part.skipped is not None:
        record, count = part.skipped
        options.skips.skip(member.display, record, RESTING_PLACEHOLDER, count)
    return part.samples


def _series_batch(
    options: ParseOptions, name: re.Pattern[str], sniff: Sniff, schema: dict[str, pl.DataType]
) -> tuple[list[Member], list[int], pl.DataFrame] | None:
    """The upload's files so named that ``sniff`` reads, their sizes, and their records as one
    frame with ``file`` (the file's place) and ``record`` (the record's place in it); None
    when there are fewer than two or one is not plainly sound."""
    members = [m for m in named(options.siblings, name) if sniff(m.path, m.head())]
    if len(members) < 2:
        return None
    sizes, frames = [], []
    quiet = ParseOptions()  # each file's bytes are counted when it is parsed
    for member in members:
        data = read_bytes(member, quiet)
        sizes.append(len(data))
        frames.append(pl.read_json(io.BytesIO(data), schema=schema))
    frame = pl.concat(frames)
    if any(column.has_nulls() for column in frame.iter_columns()):
        return None  # a missing field: named file by file
    place = [i for i, part in enumerate(frames) for _ in range(part.height)]
    frame = frame.with_columns(file=pl.Series(place, dtype=pl.Int64)).with_columns(
        record=pl.int_range(pl.len()).over("file")
    )
    return members, sizes, frame


def _parts(
    members: list[Member],
    sizes: list[int],
    frame: pl.DataFrame,
    options: ParseOptions,
    skipped: dict[int, tuple[str, int]] | None = None,
) -> dict[str, _Part]:
    by_file = frame.partition_by("file", as_dict=True, maintain_order=True)
    return {
        member.display: _Part(
            to_samples(by_file.get((i,), frame.clear()), options, SOURCE),
            sizes[i],
            (skipped or {}).get(i),
        )
        for i, member in enumerate(members)
    }


def _resting_batch(options: ParseOptions) -> dict[str, _Part]:
    try:
        read = _series_batch(options, RESTING_NAME, sniff_resting_heart_rate, RESTING_SCHEMA)
        if read is None:
            return {}
        members, sizes, frame = read
        frame = frame.unnest("value")
        empty_days = (
            frame.filter(_RESTING_PLACEHOLDER)
            .group_by("file", maintain_order=True)
            .agg(pl.col("record").first(), pl.col("dateTime").first(), pl.len())
        )
        skipped = {
            file: (f"record {record} ({moment})", count)
            for file, record, moment, count in empty_days.iter_rows()
        }
        frame = frame.filter(~_RESTING_PLACEHOLDER)
        day = _resting_days(frame["date"])
        if day.has_nulls():
            return {}
        frame = _with_offsets(
            frame.with_columns(moment=day.cast(pl.Datetime("us"))), options, local=True
        )
        frame = frame.with_columns(
            end=pl.col("start") + timedelta(days=1),
            metric=pl.lit("resting_heart_rate"),
            unit=pl.lit("bpm"),
        )
        return _parts(members, sizes, frame, options, skipped)
    except Exception:  # read again file by file, which names what is wrong
        return {}


def _steps_batch(options: ParseOptions) -> dict[str, _Part]:
    try:
        read = _series_batch(options, STEPS_NAME, sniff_steps, STEPS_SCHEMA)
        if read is None:
            return {}
        members, sizes, frame = read
        text = frame["dateTime"]
        moment = text.str.strptime(pl.Datetime("us"), US_TIME, strict=False)
        if moment.has_nulls():
            moment = moment.fill_null(text.str.strptime(pl.Datetime("us"), ISO_TIME, strict=False))
        value = frame["value"].cast(pl.Float64, strict=False)
        # whole counts only: a sum of them is exact in any order
        if moment.has_nulls() or value.has_nulls() or (value % 1 != 0).any():
            return {}
        frame = frame.select("file", moment=moment.dt.truncate(STEP_BUCKET), value=value)
        quarters = (
            frame.group_by("file", "moment").agg(pl.col("value").sum()).sort("file", "moment")
        )
        quarters = _with_offsets(quarters, options, local=False).with_columns(
            end=pl.col("start") + timedelta(minutes=15),
            metric=pl.lit("steps"),
            unit=pl.lit("count"),
        )
        return _parts(members, sizes, quarters, options)
    except Exception:  # read again file by file, which names what is wrong
        return {}


def _csv(check: Callable[[bytes], bool]) -> Sniff:
    def sniff(path: str, head: bytes) -> bool:
        return path.lower().endswith(".csv") and check(head)

    return sniff


def _sniff_sleep_json(path: str, head: bytes) -> bool:
    return fitbit_sleep.is_sleep_json(head)


FORMATS: tuple[Format, ...] = (
    Format("fitbit_sleep_json", "samples", _sniff_sleep_json, fitbit_sleep.parse_sleep_json),
    Format("fitbit_user_sleeps", "samples", _csv(is_user_sleeps), fitbit_sleep.parse_user_sleeps),
    Format(
        "fitbit_hrv_summary",
        "samples",
        _csv(fitbit_takeout_csv.is_hrv_summary),
        fitbit_takeout_csv.parse_hrv_summary,
    ),
    Format(
        "fitbit_hrv_details",
        "samples",
        _csv(fitbit_takeout_csv.is_hrv_details),
        fitbit_takeout_csv.parse_hrv_details,
    ),
    Format(
        "fitbit_daily_hrv",
        "samples",
        _csv(fitbit_takeout_csv.is_google_daily_hrv),
        fitbit_takeout_csv.parse_google_daily_hrv,
    ),
    Format(
        "fitbit_sleep_score",
        "samples",
        _csv(fitbit_takeout_csv.is_sleep_score),
        fitbit_takeout_csv.parse_sleep_score,
    ),
    Format(
        "fitbit_resting_heart_rate",
        "samples",
        sniff_resting_heart_rate,
        parse_resting_heart_rate,
    ),
    Format("fitbit_steps", "samples", sniff_steps, parse_steps),
    Format("fitbit_heart_rate", "samples", sniff_heart_rate, parse_heart_rate),
)
