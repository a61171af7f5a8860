"""Apple Health: the ``export.xml`` inside ``export.zip`` (HealthKit Export Versions 3 to 14).

The XML is recognised by its content (a ``HealthData`` DOCTYPE or root), whatever the file is
called in the exporting phone's language; ``export_cda.xml`` and the other members of the zip
are left to the other formats or skipped. Files with a full DTD, with none, and fragments with
only the ``HealthData`` root all read the same way.

The file is streamed (lxml iterparse, each top-level element freed as soon as it is read), and
the samples are built in chunks from column lists, so memory follows the wanted records, not the
file. Asking only for the metrics nights need skips the per-second heart rate before lxml sees it
(``ingest.xmlsafe``: whole regions of records nobody asked for are recognised by a scan in C and
dropped, leaving their newlines so line numbers stay true), and HRV's beat lists with it. Read
as:

* ``HKCategoryTypeIdentifierSleepAnalysis``: every value across iOS versions (named or, in old
  exports, numeric) to ``sleep_in_bed``/``sleep_asleep``/``sleep_awake``/``sleep_core``/
  ``sleep_deep``/``sleep_rem``, value = minutes;
* ``HeartRateVariabilitySDNN`` (ms, its beat-level children ignored), ``HeartRate`` (bpm),
  ``StepCount`` (timed samples) and ``RestingHeartRate`` (bpm, Apple's figure of the day, so
  written as a daily value: local midnight to midnight, see ``ingest.schema``).

Dates such as ``2019-06-12 07:23:10 +0200`` are stored as UTC; ``utc_offset_min`` comes from that
offset, unless the record carries an ``HKTimeZone`` metadata entry, whose zone then decides
(exports write every date in the exporting phone's zone, not the zone the sample was taken in).
Exact duplicate records count once. Workouts, routes, correlations and activity summaries are
skipped. Known quirks of real exports are read, not refused: the broken DTD of iOS 16
(see ``ingest.xmlsafe``), attributes written twice, stray control characters.
"""

from __future__ import annotations

import functools
import re
import zoneinfo
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import polars as pl
from lxml import etree

from ingest import schema
from ingest.archive import Member
from ingest.errors import InvalidValueError, MalformedFileError
from ingest.formats import Format, ParseOptions
from ingest.xmlsafe import (
    GAP_TAG,
    PROLOG_LIMIT,
    ByteProgress,
    Prolog,
    SafeXmlStream,
    iterparse,
    malformed,
    read_prolog,
    syntax_error,
)

SOURCE = "apple_health"
SLEEP = "HKCategoryTypeIdentifierSleepAnalysis"
#: record type -> (metric, the unit Apple writes for it, the unit of the sample)
QUANTITIES: dict[str, tuple[str, str, str]] = {
    "HKQuantityTypeIdentifierHeartRateVariabilitySDNN": ("hrv_sdnn", "ms", "ms"),
    "HKQuantityTypeIdentifierHeartRate": ("heart_rate", "count/min", "bpm"),
    "HKQuantityTypeIdentifierRestingHeartRate": ("resting_heart_rate", "count/min", "bpm"),
    "HKQuantityTypeIdentifierStepCount": ("steps", "count", "count"),
}
#: HKCategoryValueSleepAnalysis, by name and by raw value (old exports wrote the number)
SLEEP_VALUES: dict[str, str] = {
    "HKCategoryValueSleepAnalysisInBed": "sleep_in_bed",
    "HKCategoryValueSleepAnalysisAsleep": "sleep_asleep",
    "HKCategoryValueSleepAnalysisAsleepUnspecified": "sleep_asleep",
    "HKCategoryValueSleepAnalysisAwake": "sleep_awake",
    "HKCategoryValueSleepAnalysisAsleepCore": "sleep_core",
    "HKCategoryValueSleepAnalysisAsleepDeep": "sleep_deep",
    "HKCategoryValueSleepAnalysisAsleepREM": "sleep_rem",
    "0": "sleep_in_bed",
    "1": "sleep_asleep",
    "2": "sleep_awake",
    "3": "sleep_core",
    "4": "sleep_deep",
    "5": "sleep_rem",
}
SLEEP_METRICS = frozenset(SLEEP_VALUES.values())
DAILY_METRICS = frozenset({"resting_heart_rate"})
#: children of HealthData; each is freed once read (Records inside a Correlation repeat
#: top-level ones, so only top-level Records are read)
TOP_LEVEL = (
    "Record",
    "Correlation",
    "Workout",
    "ActivitySummary",
    "ClinicalRecord",
    "Audiogram",
    "VisionPrescription",
    "ExportDate",
    "Me",
    GAP_TAG,  # freed as it comes, with the newlines of dropped records after it
)
CHUNK_RECORDS = 20_000
DATE_FORMATS = ("%Y-%m-%d %H:%M:%S %z", "%Y%m%d%H%M%S%z")  # the second before Export Version 3
COLUMNS = ("kind", "source_name", "device", "start", "end", "value", "unit", "zone", "line")

_HEALTHDATA = re.compile(
    rb"(?:\xef\xbb\xbf)?\s*(?:<\?.*?\?>\s*|<!--.*?-->\s*)*(?:<!DOCTYPE\s+HealthData\b|<HealthData\b)",
    re.DOTALL,
)


def sniff(path: str, head: bytes) -> bool:
    """An Apple Health export is XML whose DOCTYPE or document element is ``HealthData``."""
    return _HEALTHDATA.match(head) is not None


def parse(member: Member, options: ParseOptions) -> pl.DataFrame:
    prolog = read_prolog(member.head(PROLOG_LIMIT), member.display)
    if prolog.root != "HealthData":
        raise MalformedFileError(
            member.display, f"document element is <{prolog.root}>, not an Apple Health export"
        )
    wanted = _wanted_types(options)
    progress = ByteProgress(options.progress)
    # each chunk becomes a compact frame at once, so at most one chunk of Python strings lives
    try:
        frames = [
            _samples(chunk, options, member.display)
            for chunk in _read(member, prolog, wanted, progress, recover=False)
        ]
    except _AttributeWrittenTwice:
        # iOS 16.0 wrote some attributes twice: read again, keeping the first of each
        frames = [
            _samples(chunk, options, member.display)
            for chunk in _read(member, prolog, wanted, progress, recover=True)
        ]
    if not frames:
        return schema.empty(schema.SAMPLES)
    # no copy of the chunks: ingest.load counts exact duplicates once over every file
    return pl.concat(frames, rechunk=False)


FORMATS: tuple[Format, ...] = (Format("apple_health", "samples", sniff, parse),)


class _AttributeWrittenTwice(Exception):
    pass


def _wanted_types(options: ParseOptions) -> dict[str, str]:
    """Record type -> metric (or SLEEP, resolved from the value later) for the wanted metrics."""
    wanted = {kind: metric for kind, (metric, _, _) in QUANTITIES.items() if options.wants(metric)}
    if any(options.wants(metric) for metric in SLEEP_METRICS):
        wanted[SLEEP] = SLEEP
    return wanted


def _read(
    member: Member, prolog: Prolog, wanted: dict[str, str], progress: ByteProgress, *, recover: bool
) -> Iterator[dict[str, list[Any]]]:
    """Stream the file, yielding the wanted top-level records in chunks of column lists."""
    with member.open() as raw:
        stream = SafeXmlStream(raw, prolog, progress, keep_record_types=wanted)
        events = iterparse(stream, TOP_LEVEL, recover=recover)
        try:
            yield from _collect(events, wanted)
        except etree.XMLSyntaxError as exc:
            if (
                getattr(exc, "code", None) == etree.ErrorTypes.ERR_ATTRIBUTE_REDEFINED
                and not recover
            ):
                raise _AttributeWrittenTwice from exc
            log = events.error_log  # type: ignore[attr-defined]
            raise syntax_error(member.display, exc, log, stream.lines_read) from exc
        if recover:
            for entry in events.error_log:  # type: ignore[attr-defined]
                if entry.type != etree.ErrorTypes.ERR_ATTRIBUTE_REDEFINED:
                    raise malformed(member.display, entry.message, entry.line, stream.lines_read)


def _collect(
    events: Iterator[tuple[str, Any]], wanted: dict[str, str]
) -> Iterator[dict[str, list[Any]]]:
    # A Python loop per record is unavoidable here: this is the streaming parser itself. It does
    # as little as it can per record; every conversion happens on whole chunks in _samples.
    chunk: dict[str, list[Any]] = {name: [] for name in COLUMNS}
    kinds, sources, devices, starts, ends, values, units, zones, lines = chunk.values()
    for _, elem in events:
        parent = elem.getparent()
        if parent is None or parent.tag != "HealthData":
            continue  # a Record inside a Correlation: freed with it, read at top level
        kind = wanted.get(elem.get("type")) if elem.tag == "Record" else None
        if kind is not None:
            zone = None
            for child in elem:  # a few MetadataEntry children (HRV: one list of beats)
                if child.get("key") == "HKTimeZone":
                    zone = child.get("value")
                    break
            kinds.append(kind)
            sources.append(elem.get("sourceName"))
            devices.append(elem.get("device"))
            starts.append(elem.get("startDate"))
            ends.append(elem.get("endDate"))
            values.append(elem.get("value"))
            units.append(elem.get("unit"))
            zones.append(zone)
            lines.append(elem.sourceline)
        elem.clear(keep_tail=False)
        while elem.getprevious() is not None:
            del parent[0]
        if len(lines) >= CHUNK_RECORDS:
            yield chunk
            chunk = {name: [] for name in COLUMNS}
            kinds, sources, devices, starts, ends, values, units, zones, lines = chunk.values()
    if lines:
        yield chunk


_RAW_SCHEMA = {name: pl.String() for name in COLUMNS} | {"line": pl.Int64()}


def _samples(columns: dict[str, list[Any]], options: ParseOptions, display: str) -> pl.DataFrame:
    """One chunk of raw records to samples, vectorised."""
    raw = pl.DataFrame(columns, schema=_RAW_SCHEMA)
    raw = raw.with_columns(
        metric=pl.when(pl.col("kind") == SLEEP)
        .then(pl.col("value").replace_strict(SLEEP_VALUES, default=None))
        .otherwise(pl.col("kind")),
        start_utc=_utc(pl.col("start")),
        end_utc=_utc(pl.col("end")),
        number=pl.col("value").str.strip_chars().cast(pl.Float64, strict=False),
    )
    _check(raw, display)
    # sleep values added by a future iOS are not ours to guess: skipped, like unknown types
    raw = raw.filter(pl.col("metric").is_not_null())
    if options.metrics is not None:
        raw = raw.filter(pl.col("metric").is_in(sorted(options.metrics)))
    offset = _offset_minutes(raw)
    frame = raw.select(
        patient_id=pl.lit(options.patient_id, pl.String()),
        source=pl.lit(SOURCE, pl.String()),
        device=_device_name(),
        metric=pl.col("metric"),
        start=pl.col("start_utc"),
        end=pl.col("end_utc"),
        utc_offset_min=offset,
        value=pl.when(pl.col("kind") == SLEEP)
        .then((pl.col("end_utc") - pl.col("start_utc")).dt.total_microseconds() / 60_000_000)
        .otherwise(pl.col("number")),
        unit=pl.col("metric").replace_strict(
            _SAMPLE_UNITS, default="min", return_dtype=pl.String()
        ),
    )
    frame = _as_daily_values(frame).select(list(schema.SAMPLES))
    return _hourly_steps(frame) if options.hourly_steps else frame


def _hourly_steps(frame: pl.DataFrame) -> pl.DataFrame:
    """Step records summed per device, offset and local clock hour of their start; exact
    duplicates of this chunk (a record written twice, next to itself) counted once first."""
    steps = pl.col("metric") == "steps"
    offset = pl.duration(minutes=pl.col("utc_offset_min"))
    hour = (pl.col("start") + offset).dt.truncate("1h") - offset
    summed = (
        frame.filter(steps)
        .unique(maintain_order=True)
        .group_by(
            "patient_id",
            "source",
            "device",
            "metric",
            "utc_offset_min",
            "unit",
            hour,
            maintain_order=True,
        )
        .agg(pl.col("value").sum())
        .with_columns(end=pl.col("start") + pl.duration(hours=1))
    )
    return pl.concat([frame.filter(~steps), summed.select(list(schema.SAMPLES))])


_SAMPLE_UNITS = {metric: unit for metric, _, unit in QUANTITIES.values()}
_APPLE_UNITS = {metric: unit for metric, unit, _ in QUANTITIES.values()}
_RECORD_TYPES = {metric: kind for kind, (metric, _, _) in QUANTITIES.items()} | {SLEEP: SLEEP}


def _utc(text: pl.Expr) -> pl.Expr:
    text = text.str.strip_chars()
    return pl.coalesce(
        [
            text.str.to_datetime(f, time_zone="UTC", strict=False, time_unit="us")
            for f in DATE_FORMATS
        ]
    )


def _check(raw: pl.DataFrame, display: str) -> None:
    """Refuse the file at the first record that is not what Apple writes, naming its line."""
    problems = (
        (pl.col("start_utc").is_null(), "startDate", "start", "is not a date"),
        (pl.col("end_utc").is_null(), "endDate", "end", "is not a date"),
        (
            (pl.col("kind") != SLEEP) & pl.col("number").is_null(),
            "value",
            "value",
            "is not a number",
        ),
    )
    for condition, attribute, column, what in problems:
        bad = raw.filter(condition).head(1)
        if bad.height:
            raise MalformedFileError(
                display,
                f"{_RECORD_TYPES[bad['kind'][0]]} record: {attribute} {bad[column][0]!r} {what}",
                record=f"line {bad['line'][0]}",
            )
    wrong_unit = raw.filter(
        (pl.col("kind") != SLEEP)
        & (pl.col("unit") != pl.col("kind").replace_strict(_APPLE_UNITS, default=None))
    ).head(1)
    if wrong_unit.height:
        row = wrong_unit.row(0, named=True)
        raise InvalidValueError(
            display,
            f"{_RECORD_TYPES[row['kind']]} in unit {row['unit']!r}, "
            f"expected {_APPLE_UNITS[row['kind']]!r}",
            record=f"line {row['line']}",
        )


def _offset_minutes(raw: pl.DataFrame) -> pl.Expr:
    """The local offset at start: the record's HKTimeZone where it has one, else the date's."""
    tail = pl.col("start").str.strip_chars().str.slice(-5)
    written = (
        pl.when(tail.str.head(1) == "-").then(-1).otherwise(1)
        * (tail.str.slice(1, 2).cast(pl.Int32) * 60 + tail.str.slice(3, 2).cast(pl.Int32))
    ).cast(pl.Int32)
    offset = written
    # one expression per zone found in the chunk: a handful of zones, not one per row
    for zone in sorted(z for z in raw["zone"].drop_nulls().unique() if _known_zone(z)):
        local = pl.col("start_utc").dt.convert_time_zone(zone)
        in_zone = (local.dt.base_utc_offset() + local.dt.dst_offset()).dt.total_minutes()
        offset = pl.when(pl.col("zone") == zone).then(in_zone.cast(pl.Int32)).otherwise(offset)
    return offset


@functools.cache
def _known_zone(name: str) -> bool:
    """Known to the IANA database of both zoneinfo and polars; an unknown name (a typo, a zone
    retired since) leaves the date's own offset, the best there is."""
    try:
        zoneinfo.ZoneInfo(name)
        pl.Series([datetime(2020, 1, 1, tzinfo=UTC)]).dt.convert_time_zone(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, pl.exceptions.PolarsError):
        return False
    return True


def _device_name() -> pl.Expr:
    """``Apple Watch`` from ``<<HKDevice: 0x…>, name:Apple Watch, model:Watch, …>``; else the
    model; else the app or device that wrote the record (sourceName)."""
    field = {
        key: pl.col("device").str.extract(rf"\b{key}:([^,>]+)").str.strip_chars()
        for key in ("name", "model")
    }
    return pl.coalesce(field["name"], field["model"], pl.col("source_name").str.strip_chars())


def _as_daily_values(frame: pl.DataFrame) -> pl.DataFrame:
    """Apple's figures of the day (resting heart rate) span local midnight to midnight."""
    offset = pl.duration(minutes=pl.col("utc_offset_min"))
    midnight = (pl.col("start") + offset).dt.truncate("1d") - offset
    daily = pl.col("metric").is_in(sorted(DAILY_METRICS))
    return frame.with_columns(
        start=pl.when(daily).then(midnight).otherwise(pl.col("start")),
        end=pl.when(daily).then(midnight + pl.duration(days=1)).otherwise(pl.col("end")),
    )
