"""The vendor's own sleep totals win over totals rebuilt from timed records.

Fitbit (``minutesAsleep`` per ``dateOfSleep``), Garmin (stage seconds per ``calendarDate``) and
Oura (``total_sleep_duration`` per ``day``) state how long each session was asleep and which
date it belongs to; parsers pass that on as ``sleep_reported`` samples (``ingest.schema``).
Rebuilding the total from the hypnogram differs from the vendor's by a few minutes (how short
wakes are counted), and merging sessions into periods can move a nap to another date. So, per
patient and local date:

* the date's **reported total** is the sum of the reported sessions ending on it (one recorder:
  the one with the largest sum, so two devices never add up); sessions of one recorder that
  overlap (the same sleep in two files of one export) count once, the longest kept;
* asleep intervals inside a reported session are accounted for by it, wherever the period
  rules placed them; intervals outside every reported session (another device, a log without a
  total) still add their minutes to the date they were placed on;
* ``sleep_total_min`` = reported total + those other minutes; ``sleep_main_min`` is the longest
  reported session; a date whose sleep is all accounted for on another date has no sleep;
* onset, midpoint and in-bed time still come from the timed records: they refine timing, not
  totals. Efficiency is recomputed from the new total.
"""

from __future__ import annotations

import polars as pl

from ingest.local_time import in_minutes, local_date

SLEEP_COLUMNS = (
    "sleep_total_min",
    "sleep_main_min",
    "sleep_onset_min",
    "sleep_midpoint_min",
    "sleep_efficiency",
    "sleep_periods",
    "sleep_source",
    "utc_offset_min",
)


def _sessions(samples: pl.DataFrame) -> pl.DataFrame:
    """Reported sessions, one per sleep: of a recorder's sessions that overlap, the longest."""
    reports = (
        samples.filter(pl.col("metric") == "sleep_reported")
        .with_columns(recorder=pl.col("source") + "/" + pl.col("device").fill_null(""))
        .sort("patient_id", "recorder", "start", "end")
    )
    prev_end = pl.col("end").cum_max().shift(1).over("patient_id", "recorder")
    return (
        reports.with_columns(
            cluster=(prev_end.is_null() | (pl.col("start") >= prev_end))
            .cum_sum()
            .over("patient_id", "recorder")
        )
        .sort("value", "end", descending=True)
        .unique(["patient_id", "recorder", "cluster"], keep="first")
        .with_columns(date=local_date(pl.col("end"), pl.col("utc_offset_min")))
    )


def _reported_dates(sessions: pl.DataFrame) -> pl.DataFrame:
    per_recorder = sessions.group_by("patient_id", "date", "recorder").agg(
        pl.col("value").sum().alias("reported_total"),
        pl.col("value").max().alias("reported_main"),
        pl.len().cast(pl.Int32).alias("reported_n"),
        pl.col("source").first().alias("reported_source"),
        pl.col("utc_offset_min").sort_by("end").last().alias("reported_offset"),
    )
    return (
        per_recorder.sort("reported_total", "recorder")
        .group_by("patient_id", "date")
        .last()
        .drop("recorder")
    )


def _intervals_outside(intervals: pl.DataFrame, sessions: pl.DataFrame) -> pl.DataFrame:
    """Per date: whether any interval lies inside a reported session, and the asleep minutes
    (union) of the intervals that lie outside every one."""
    spans = sessions.select(
        "patient_id", pl.col("start").alias("s_start"), pl.col("end").alias("s_end")
    ).sort("s_start")
    matched = (
        intervals.select("patient_id", "date", "start", "end")
        .sort("start")
        .join_asof(
            spans,
            left_on="start",
            right_on="s_start",
            by="patient_id",
            strategy="backward",
            check_sortedness=False,
        )
        .with_columns(inside=pl.col("s_end").is_not_null() & (pl.col("s_end") > pl.col("start")))
    )
    outside = matched.filter(~pl.col("inside")).sort("patient_id", "date", "start")
    prev_end = pl.col("end").cum_max().shift(1).over("patient_id", "date")
    segments = (
        outside.with_columns(
            seg=(prev_end.is_null() | (pl.col("start") > prev_end))
            .cum_sum()
            .over("patient_id", "date")
        )
        .group_by("patient_id", "date", "seg")
        .agg(pl.col("start").min(), pl.col("end").max())
    )
    other = segments.group_by("patient_id", "date").agg(
        in_minutes(pl.col("end") - pl.col("start")).sum().alias("other_min")
    )
    touched = matched.group_by("patient_id", "date").agg(pl.col("inside").any())
    return touched.join(other, on=["patient_id", "date"], how="left")


def with_vendor_totals(
    sleep: pl.DataFrame, intervals: pl.DataFrame, samples: pl.DataFrame
) -> pl.DataFrame:
    """``sleep`` (one row per patient and date with sleep, the NIGHTS sleep columns and
    ``in_bed_min``) with the vendor's totals applied as the module's docstring says."""
    sessions = _sessions(samples)
    if sessions.is_empty():
        return sleep
    reported = _reported_dates(sessions)
    placed = _intervals_outside(intervals, sessions)
    keys = ["patient_id", "date"]
    frame = sleep.join(reported, on=keys, how="full", coalesce=True).join(
        placed, on=keys, how="left"
    )
    has_report = pl.col("reported_total").is_not_null()
    touched = has_report | pl.col("inside").fill_null(False)
    total = pl.col("reported_total").fill_null(0.0) + pl.col("other_min").fill_null(0.0)
    gone = touched & ~has_report & (pl.col("other_min").fill_null(0.0) == 0)
    frame = frame.with_columns(
        sleep_total_min=pl.when(touched).then(total).otherwise("sleep_total_min"),
        sleep_main_min=pl.when(has_report)
        .then(pl.max_horizontal("reported_main", "other_min"))
        .otherwise("sleep_main_min"),
        sleep_periods=pl.when(has_report).then("reported_n").otherwise("sleep_periods"),
        sleep_source=pl.coalesce("sleep_source", "reported_source"),
        utc_offset_min=pl.coalesce("utc_offset_min", "reported_offset"),
    ).with_columns(sleep_efficiency=pl.col("sleep_total_min") / pl.col("in_bed_min"))
    frame = frame.with_columns(
        pl.when(~gone).then(pl.col(name)).alias(name) for name in SLEEP_COLUMNS
    )
    return frame.filter(pl.col("sleep_total_min").is_not_null()).select(sleep.columns)
