"""Helpers shared by the Fitbit, Oura and Garmin parsers: reading a JSON member with errors that
name the file, checked field access on vendor records, timestamp parsing and a builder that
turns collected rows into a SAMPLES frame.

Vendor summary files hold tens to a few thousand records a year, so they are walked record by
record in Python (clearer error messages: the record index is known); big per-sample files
(Fitbit's heart_rate) are parsed with polars instead.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import polars as pl

from ingest.archive import Member
from ingest.errors import InvalidValueError, MalformedFileError
from ingest.formats import ParseOptions
from ingest.schema import SAMPLES

DAY = timedelta(days=1)


def named(siblings: Iterable[Member], pattern: re.Pattern[str]) -> tuple[Member, ...]:
    """The members of an upload whose file name matches ``pattern``: the vendor's own names,
    checked before any member is opened (a Takeout holds thousands of files)."""
    return tuple(member for member in siblings if pattern.search(member.name))


def read_bytes(member: Member, options: ParseOptions) -> bytes:
    with member.open() as fh:
        data = fh.read()
    if options.progress is not None:
        options.progress(len(data))
    return data


def load_json(member: Member, options: ParseOptions) -> Any:
    """The member's JSON document; truncated or broken JSON is a MalformedFileError."""
    return decode_json(member.display, read_bytes(member, options))


def decode_json(file: str, data: bytes) -> Any:
    try:
        return json.loads(data)
    except UnicodeDecodeError as exc:
        raise MalformedFileError(file, f"not UTF-8 text ({exc.reason})") from exc
    except json.JSONDecodeError as exc:
        raise MalformedFileError(
            file,
            f"not valid JSON, the file may be truncated ({exc.msg})",
            record=f"line {exc.lineno} column {exc.colno}",
        ) from exc


def json_head_is(head: bytes, opener: bytes) -> bool:
    """Whether the first non-blank byte of ``head`` (after a UTF-8 BOM) is ``opener``."""
    return head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == opener


@dataclass(frozen=True)
class RecordReader:
    """Checked access to the fields of one vendor record, naming file, record and field."""

    file: str
    where: str

    def mapping(self, value: Any) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise MalformedFileError(
                self.file, f"expected an object, found {type(value).__name__}", record=self.where
            )
        return value

    def require(self, record: Mapping[str, Any], name: str) -> Any:
        value = record.get(name)
        if value is None:
            raise MalformedFileError(self.file, f"missing field {name!r}", record=self.where)
        return value

    def optional_number(self, record: Mapping[str, Any], name: str) -> float | None:
        value = record.get(name)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise InvalidValueError(
                self.file, f"field {name!r} is {value!r}, expected a number", record=self.where
            )
        return float(value)

    def number(self, record: Mapping[str, Any], name: str) -> float:
        self.require(record, name)
        return self.optional_number(record, name) or 0.0

    def optional_text(self, record: Mapping[str, Any], name: str) -> str | None:
        value = record.get(name)
        if value is not None and not isinstance(value, str):
            raise InvalidValueError(
                self.file, f"field {name!r} is {value!r}, expected text", record=self.where
            )
        return value

    def text(self, record: Mapping[str, Any], name: str) -> str:
        self.require(record, name)
        return self.optional_text(record, name) or ""

    def optional_timestamp(self, record: Mapping[str, Any], name: str) -> datetime | None:
        """An ISO 8601 timestamp; naive ones are returned naive (the caller knows their zone)."""
        value = self.optional_text(record, name)
        if value is None:
            return None
        try:
            return datetime.fromisoformat(value)
        except ValueError as exc:
            raise InvalidValueError(
                self.file, f"field {name!r} is {value!r}, not a timestamp", record=self.where
            ) from exc

    def timestamp(self, record: Mapping[str, Any], name: str) -> datetime:
        self.require(record, name)
        moment = self.optional_timestamp(record, name)
        return moment if moment is not None else datetime.min

    def day(self, record: Mapping[str, Any], name: str) -> date:
        value = self.text(record, name)
        try:
            return date.fromisoformat(value)
        except ValueError as exc:
            raise InvalidValueError(
                self.file, f"field {name!r} is {value!r}, not a YYYY-MM-DD date", record=self.where
            ) from exc


def utc(moment: datetime, offset_min: int = 0) -> datetime:
    """An aware datetime in UTC; a naive one is read as local time at ``offset_min``."""
    if moment.tzinfo is None:
        return (moment - timedelta(minutes=offset_min)).replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def offset_minutes(moment: datetime) -> int:
    delta = moment.utcoffset()
    return 0 if delta is None else round(delta.total_seconds() / 60)


def local_midnight_utc(day: date, offset_min: int) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC) - timedelta(minutes=offset_min)


@dataclass
class SampleRows:
    """Collects sample rows column by column; ``frame`` returns them in the SAMPLES schema."""

    source: str
    metric: list[str] = field(default_factory=list)
    start: list[datetime] = field(default_factory=list)
    end: list[datetime] = field(default_factory=list)
    offset: list[int] = field(default_factory=list)
    value: list[float] = field(default_factory=list)
    unit: list[str] = field(default_factory=list)
    device: list[str | None] = field(default_factory=list)

    def add(
        self,
        metric: str,
        start: datetime,
        end: datetime,
        offset_min: int,
        value: float,
        unit: str,
        device: str | None = None,
    ) -> None:
        self.metric.append(metric)
        self.start.append(start)
        self.end.append(end)
        self.offset.append(offset_min)
        self.value.append(value)
        self.unit.append(unit)
        self.device.append(device)

    def daily(
        self,
        metric: str,
        day_start: datetime,
        offset_min: int,
        value: float,
        unit: str,
        device: str | None = None,
    ) -> None:
        """A daily value: ``day_start`` is local midnight (in UTC), the end 24 hours later."""
        self.add(metric, day_start, day_start + DAY, offset_min, value, unit, device)

    def reported(
        self,
        start: datetime,
        end: datetime,
        offset_min: int,
        asleep_min: float,
        device: str | None = None,
    ) -> None:
        """The vendor's own asleep total of one session (``ingest.schema``: sleep_reported)."""
        self.add("sleep_reported", start, end, offset_min, asleep_min, "min", device)

    def stage_totals(
        self,
        start: datetime,
        end: datetime,
        offset_min: int,
        asleep: list[tuple[str, float]],
        awake_min: float,
        device: str | None = None,
    ) -> None:
        """A sleep window known only by its stage totals (minutes), laid out for the nights
        builder, which counts the union of asleep intervals: the asleep stages back to back, the
        first ones from ``start`` and the last one ending at ``end``, the awake time between
        them. Lengths, onset and wake time are the vendor's; where each stage fell inside the
        window is not (the vendor does not say). A single asleep block is split in two halves
        around the awake time, so onset and wake time stay exact."""
        blocks = [(metric, minutes) for metric, minutes in asleep if minutes > 0]
        if len(blocks) == 1:
            metric, minutes = blocks[0]
            blocks = [(metric, minutes / 2)] * 2
        cursor = start
        for metric, minutes in blocks[:-1]:
            until = cursor + timedelta(minutes=minutes)
            self.add(metric, cursor, until, offset_min, minutes, "min", device)
            cursor = until
        if blocks:
            metric, minutes = blocks[-1]
            self.add(
                metric, end - timedelta(minutes=minutes), end, offset_min, minutes, "min", device
            )
        if awake_min > 0:
            awake_end = max(cursor, end - timedelta(minutes=blocks[-1][1] if blocks else 0))
            self.add("sleep_awake", cursor, awake_end, offset_min, awake_min, "min", device)

    def frame(self, options: ParseOptions) -> pl.DataFrame:
        frame = pl.DataFrame(
            {
                "patient_id": [options.patient_id] * len(self.metric),
                "source": [self.source] * len(self.metric),
                "device": self.device,
                "metric": self.metric,
                "start": instants(self.start),
                "end": instants(self.end),
                "utc_offset_min": self.offset,
                "value": self.value,
                "unit": self.unit,
            },
            schema=SAMPLES,
        )
        if options.metrics is not None:
            frame = frame.filter(pl.col("metric").is_in(sorted(options.metrics)))
        return frame

    def local_frame(self, options: ParseOptions) -> pl.DataFrame:
        """``frame`` of rows whose start and end were added as naive local times at their
        offset: moved to UTC as a whole column (each would be moved alike, ``utc``)."""
        local = pl.Datetime("us")
        frame = pl.DataFrame(
            {
                "patient_id": [options.patient_id] * len(self.metric),
                "source": [self.source] * len(self.metric),
                "device": self.device,
                "metric": self.metric,
                "start": self.start,
                "end": self.end,
                "utc_offset_min": self.offset,
                "value": self.value,
                "unit": self.unit,
            },
            schema={**SAMPLES, "start": local, "end": local},
        ).with_columns(start=_local_to_utc("start"), end=_local_to_utc("end"))
        if options.metrics is not None:
            frame = frame.filter(pl.col("metric").is_in(sorted(options.metrics)))
        return frame


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def instants(moments: list[datetime]) -> pl.Series:
    """Aware datetimes as a UTC column, built from their microseconds since the epoch (exact):
    polars takes a list of aware datetimes one Python call at a time, several times slower."""
    try:
        micros = [(moment - _EPOCH) // _MICROSECOND for moment in moments]
    except TypeError:  # a naive one among them: polars reads it as UTC
        return pl.Series(moments, dtype=SAMPLES["start"])
    return pl.Series(micros, dtype=pl.Int64).cast(SAMPLES["start"])


def _local_to_utc(name: str) -> pl.Expr:
    return (pl.col(name) - pl.duration(minutes=pl.col("utc_offset_min"))).dt.replace_time_zone(
        "UTC"
    )


def to_samples(frame: pl.DataFrame, options: ParseOptions, source: str) -> pl.DataFrame:
    """A frame with ``metric, start, end, utc_offset_min, value, unit`` (and optionally
    ``device``) as SAMPLES rows for ``options.patient_id``, keeping the wanted metrics."""
    if options.metrics is not None:
        frame = frame.filter(pl.col("metric").is_in(sorted(options.metrics)))
    device = pl.col("device") if "device" in frame.columns else pl.lit(None)
    return frame.select(
        pl.lit(options.patient_id).alias("patient_id"),
        pl.lit(source).alias("source"),
        device.cast(pl.String).alias("device"),
        pl.col("metric").cast(pl.String),
        pl.col("start").cast(SAMPLES["start"]),
        pl.col("end").cast(SAMPLES["end"]),
        pl.col("utc_offset_min").cast(pl.Int32),
        pl.col("value").cast(pl.Float64),
        pl.col("unit").cast(pl.String),
    )
