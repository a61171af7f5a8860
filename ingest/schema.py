"""The frame contracts that every other part of phenowatch relies on (see docs/architecture.md).

Three kinds of frame leave ingest/: samples (long format, one row per vendor record),
nights (one row per patient per local date) and PHQ-9 entries. Each has a declared schema
here, and `validate` checks a frame against it, reporting every bad column at once.

Conventions for samples, written down once:

* ``start``/``end`` are UTC-aware; ``utc_offset_min`` is the local offset at ``start``.
* Sleep is interval records, value = minutes. ``sleep_asleep`` is asleep of unknown stage;
  ``sleep_core``, ``sleep_deep`` and ``sleep_rem`` are asleep too (stage known). A night's asleep
  time is the union of all four. ``sleep_in_bed`` and ``sleep_awake`` are never asleep.
* ``sleep_reported`` is the vendor's own total for one sleep session (Fitbit ``minutesAsleep``,
  Garmin's stage seconds, Oura ``total_sleep_duration``, minutes): ``start``/``end`` span the
  session, which belongs to the local date of its end (the vendor's ``dateOfSleep``, ``day``,
  ``calendarDate``). It is not an interval of sleep: the nights builder takes the night's total
  from it and its timing from the interval records.
* A vendor's per-day figure (Fitbit's daily RMSSD, a resting heart rate of the day, daily steps)
  is a *daily value*: ``start`` is local midnight of its day and ``end`` is exactly 24 hours later.
  Timed samples (an Apple Watch HRV reading, a heart-rate sample) have their own start/end.
* ``source`` is the vendor family (``apple_health``, ``fitbit``, ``oura``, ``garmin``);
  ``device`` is the recording device as the vendor names it, or null.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import polars as pl

from ingest.errors import SchemaError

UTC_DT = pl.Datetime("us", "UTC")
#: a patient id: 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit (it
#: names a cohort's patient folder and appears in URLs)
PATIENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")

SAMPLE_METRICS = frozenset(
    {
        "sleep_asleep",
        "sleep_in_bed",
        "sleep_awake",
        "sleep_core",
        "sleep_deep",
        "sleep_rem",
        "sleep_reported",
        "hrv_sdnn",
        "hrv_rmssd",
        "heart_rate",
        "resting_heart_rate",
        "steps",
    }
)
ASLEEP_METRICS = frozenset({"sleep_asleep", "sleep_core", "sleep_deep", "sleep_rem"})
SOURCES = ("apple_health", "fitbit", "oura", "garmin")

SAMPLES: dict[str, pl.DataType] = {
    "patient_id": pl.String(),
    "source": pl.String(),
    "device": pl.String(),
    "metric": pl.String(),
    "start": UTC_DT,
    "end": UTC_DT,
    "utc_offset_min": pl.Int32(),
    "value": pl.Float64(),
    "unit": pl.String(),
}

NIGHTS: dict[str, pl.DataType] = {
    "patient_id": pl.String(),
    "date": pl.Date(),
    "sleep_total_min": pl.Float64(),
    "sleep_main_min": pl.Float64(),
    "sleep_onset_min": pl.Float64(),
    "sleep_midpoint_min": pl.Float64(),
    "sleep_efficiency": pl.Float64(),
    "sleep_periods": pl.Int32(),
    "sleep_source": pl.String(),
    "hrv_sdnn_ms": pl.Float64(),
    "hrv_rmssd_ms": pl.Float64(),
    "resting_hr_bpm": pl.Float64(),
    "steps": pl.Float64(),
    "utc_offset_min": pl.Int32(),
    # coverage: a missing night is missing (False + nulls above), never zero
    "has_sleep": pl.Boolean(),
    "has_hrv": pl.Boolean(),
    "has_resting_hr": pl.Boolean(),
    "has_steps": pl.Boolean(),
}

PHQ9_ITEMS = tuple(f"item_{i}" for i in range(1, 10))

PHQ9: dict[str, pl.DataType] = {
    "patient_id": pl.String(),
    "answered_at": UTC_DT,
    **{item: pl.Int8() for item in PHQ9_ITEMS},
    "total": pl.Int8(),
    "difficulty": pl.Int8(),
    # "phq9", or "phq8" (no item 9: item_9 is null and the total is out of 24)
    "instrument": pl.String(),
    "source": pl.String(),
    # the UTC offset (minutes east) the answer was given with: its local date is the day the
    # answer belongs to (detect.phq9_rules.answered_on); null when the answer named no clock
    # time (a bare date, NHANES), and then its day is the date of ``answered_at``
    "utc_offset_min": pl.Int32(),
}


def empty(schema: Mapping[str, pl.DataType]) -> pl.DataFrame:
    return pl.DataFrame(schema=dict(schema))


def validate(frame: pl.DataFrame, schema: Mapping[str, pl.DataType], what: str) -> pl.DataFrame:
    """Return ``frame`` with its columns in schema order, or raise SchemaError naming every
    missing, unexpected or wrongly typed column at once."""
    actual = frame.schema
    if list(actual.items()) == list(schema.items()):
        return frame  # the usual case: nothing to check or move
    problems: list[str] = []
    for name, dtype in schema.items():
        if name not in actual:
            problems.append(f"missing column {name!r} ({dtype})")
        elif actual[name] != dtype:
            problems.append(f"column {name!r} is {actual[name]}, expected {dtype}")
    extra = [c for c in actual if c not in schema]
    if extra:
        problems.append(f"unexpected columns {extra}")
    if problems:
        raise SchemaError(what, "; ".join(problems))
    return frame.select(list(schema))
