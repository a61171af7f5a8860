"""Fitbit's CSV files in a Google Takeout: heart rate variability and the sleep score.

* ``Heart Rate Variability/Daily Heart Rate Variability Summary - *.csv``: ``timestamp`` (naive
  local midnight of the day), ``rmssd``, ``nremhr``, ``entropy``. The day comes from the content,
  never the file name (Takeout's "(10)" suffix is a duplicate-name counter). → ``hrv_rmssd``
  daily values.
* ``Heart Rate Variability/Heart Rate Variability Details - *.csv``: 5-minute windows during
  sleep, ``timestamp`` (naive local, window start), ``rmssd``, ``coverage`` (share of the window
  with usable beats). → timed ``hrv_rmssd`` samples of 5 minutes; windows with coverage below
  ``MIN_COVERAGE`` or without a positive rmssd are dropped.
* ``Physical Activity_GoogleData/daily_heart_rate_variability.csv``: the Google-format daily
  figure, ``timestamp`` written ``2026-04-11T00:00:00Z``, whose ``Z`` names the day, not UTC
  midnight (it matches the day of the Summary file). Its value differs from the Summary file's
  for the same night, so it is used only for days no Summary file of the upload covers.
* ``Sleep Score/sleep_score.csv``: scores of each sleep log. Its ``timestamp`` carries a ``Z``
  but is the local wake time; nothing in it is a metric of the samples contract (its resting
  heart rate duplicates the daily resting heart rate), so it is recognised and gives no rows.

Offsets of the naive local times: see ``fitbit_offsets``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import timedelta

import polars as pl

from ingest.archive import Member
from ingest.formats import ParseOptions
from ingest.formats.fitbit_offsets import offset_table, offsets_at
from ingest.formats.vendor_csv import header_of, numbers, read_text_csv, require_cells, times
from ingest.formats.vendor_records import named, to_samples
from ingest.schema import SAMPLES, empty

SOURCE = "fitbit"
MIN_COVERAGE = 0.5
HRV_SUMMARY_PREFIX = "Daily Heart Rate Variability Summary"
HRV_SUMMARY_NAME = re.compile(rf"^{HRV_SUMMARY_PREFIX}.*\.csv$", re.IGNORECASE)
LOCAL_FORMAT = "%Y-%m-%dT%H:%M:%S"
HRV_SUMMARY = ["timestamp", "rmssd", "nremhr", "entropy"]
HRV_DETAILS = ["timestamp", "rmssd", "coverage", "low_frequency", "high_frequency"]
GOOGLE_HRV_VALUE = "average heart rate variability milliseconds"
SLEEP_SCORE = ["sleep_log_entry_id", "timestamp", "overall_score"]


def is_hrv_summary(head: bytes) -> bool:
    return header_of(head) == HRV_SUMMARY


def is_hrv_details(head: bytes) -> bool:
    return header_of(head) == HRV_DETAILS


def is_google_daily_hrv(head: bytes) -> bool:
    header = header_of(head)
    return header[:1] == ["timestamp"] and GOOGLE_HRV_VALUE in header


def is_sleep_score(head: bytes) -> bool:
    """Takeout writes ``sleep_log_entry_id`` first, PMData's copy ``timestamp`` first."""
    return sorted(header_of(head)[:3]) == sorted(SLEEP_SCORE)


def _local_samples(
    frame: pl.DataFrame, metric: str, length: timedelta, options: ParseOptions
) -> pl.DataFrame:
    """Rows of naive local ``local`` and ``value`` as samples lasting ``length``."""
    offsets = offsets_at(frame["local"], offset_table(options), local=True)
    local_to_utc = pl.col("local") - pl.duration(minutes=pl.col("utc_offset_min"))
    out = frame.with_columns(utc_offset_min=offsets).with_columns(
        start=local_to_utc.dt.replace_time_zone("UTC"), metric=pl.lit(metric), unit=pl.lit("ms")
    )
    return to_samples(out.with_columns(end=pl.col("start") + length), options, SOURCE)


def _read(member: Member, options: ParseOptions, columns: list[str]) -> pl.DataFrame:
    frame = read_text_csv(member, options, columns)
    require_cells(frame, columns[:2], member.display)
    return frame


def parse_hrv_summary(member: Member, options: ParseOptions) -> pl.DataFrame:
    frame = _read(member, options, HRV_SUMMARY)
    frame = frame.select(
        local=times(frame, "timestamp", LOCAL_FORMAT, member.display).dt.truncate("1d"),
        value=numbers(frame, "rmssd", member.display),
    ).filter(pl.col("value") > 0)
    return _local_samples(frame, "hrv_rmssd", timedelta(days=1), options)


def parse_hrv_details(member: Member, options: ParseOptions) -> pl.DataFrame:
    frame = _read(member, options, HRV_DETAILS)
    frame = frame.select(
        local=times(frame, "timestamp", LOCAL_FORMAT, member.display),
        value=numbers(frame, "rmssd", member.display),
        coverage=numbers(frame, "coverage", member.display),
    ).filter((pl.col("value") > 0) & (pl.col("coverage") >= MIN_COVERAGE))
    return _local_samples(frame.drop("coverage"), "hrv_rmssd", timedelta(minutes=5), options)


def _summary_days(siblings: Iterable[Member]) -> pl.Series:
    days = [pl.Series("day", [], dtype=pl.Date)]
    quiet = ParseOptions()
    for member in named(siblings, HRV_SUMMARY_NAME):
        if is_hrv_summary(member.head(4096)):
            frame = _read(member, quiet, HRV_SUMMARY)
            days.append(times(frame, "timestamp", LOCAL_FORMAT, member.display).dt.date())
    return pl.concat(days).alias("day")


def parse_google_daily_hrv(member: Member, options: ParseOptions) -> pl.DataFrame:
    frame = _read(member, options, ["timestamp", GOOGLE_HRV_VALUE])
    # the trailing Z names the day: read the wall clock, not the instant
    stamp = frame.with_columns(pl.col("timestamp").str.strip_chars().str.strip_suffix("Z"))
    frame = frame.select(
        local=times(stamp, "timestamp", LOCAL_FORMAT, member.display).dt.truncate("1d"),
        value=numbers(frame, GOOGLE_HRV_VALUE, member.display),
    ).filter(pl.col("value") > 0)
    covered = options.once(
        "fitbit_hrv_summary_days", lambda: _summary_days(options.siblings)
    ).implode()
    frame = frame.filter(~pl.col("local").dt.date().is_in(covered))
    return _local_samples(frame, "hrv_rmssd", timedelta(days=1), options)


def parse_sleep_score(member: Member, options: ParseOptions) -> pl.DataFrame:
    _read(member, options, SLEEP_SCORE)  # still checked: a broken file is reported
    return empty(SAMPLES)
