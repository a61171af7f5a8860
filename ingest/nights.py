"""Samples in, one row per patient per local date out (the NIGHTS contract of ingest/schema.py).

The rules, written down once:

* **Which date a night belongs to.** Asleep intervals (``sleep_asleep``, ``sleep_core``,
  ``sleep_deep``, ``sleep_rem``) are merged into *periods*: a new period starts when an interval
  begins more than ``PERIOD_GAP_MIN`` (90) minutes after every earlier interval has ended, so a
  wake-up of an hour in the night stays inside the night, while an afternoon nap is its own period.
  A period belongs to the local calendar date on which it ENDS. The local offset at the end is the
  offset of the patient's latest sample that started at or before that end (usually a stage
  record just before waking), so a night across a daylight-saving change or a flight lands on the
  date the patient woke up on.
* **The vendor's totals win** where the vendor states them (``sleep_reported``): see
  ``ingest.reported_sleep``; everything below still gives the timing and the rest.
* **Asleep minutes** are the length of the union of asleep intervals: overlapping records (two
  devices, a stage record inside an "asleep" record) are never counted twice. In-bed and awake
  records are never asleep. ``sleep_total_min`` sums every period ending on the date, naps
  included; ``sleep_main_min`` is the longest period (the later one on a tie).
* **One source rule per night.** Sleep is recorded by *recorders* (a source and a device). When
  several recorders have periods ending on the same date, those with sleep-stage data that night
  win over those without (a dedicated wearable beats a phone's estimate); recorders of equal rank
  are merged as a union. The intervals kept for every night are then merged once more across
  nights, so a record never counts on two dates. ``sleep_source`` names the sources used, sorted
  and joined with ``+``.
* **Onset and midpoint** of the main period are local clock minutes from local noon of the
  previous day (23:00 is 660, 01:30 is 810). The onset uses the offset at the onset; the midpoint
  is the onset plus half of the period's elapsed length.
* **Efficiency** is asleep minutes / in-bed minutes, only when the night's sources recorded
  in-bed time overlapping its sleep. In-bed time is the union of those in-bed records and the
  asleep intervals, so efficiency never exceeds 1.
* **HRV** (SDNN and RMSSD kept apart): the mean of timed samples overlapping the main period,
  else the mean of the daily values for that date (a daily value starts at local midnight and lasts
  exactly 24 hours, see ``ingest.schema``).
* **Resting heart rate**: the mean of the ``resting_heart_rate`` values (daily or timed) whose
  local start falls on the date.
* **Steps** of a local date: timed records are summed per recorder within each local clock hour
  (of the record's start), and the hour takes the largest recorder's count, so a phone and a watch
  that both counted the same walk count it once while the phone's morning and the watch's evening
  both count. Daily values are summed per recorder and the largest taken. The day's count is the
  larger of the two, so a daily total beside its own intervals is never added to them.
* **Coverage.** Every patient gets every date from their first to their last date with any of the
  above; a date without data of a kind has nulls there and its ``has_*`` flag False, never zeros.
  ``utc_offset_min`` is the offset at the main period's end, else that of the day's last sample.
* **Input.** Exact duplicate records count once; records ending before they start, and asleep
  records of no length, are ignored; the order of the records never matters.
* **Memory.** The work is done a block at a time (``BLOCK_ROWS`` samples): the figures of a
  date from blocks of whole local dates, sleep from blocks cut where nobody's sleep records come
  within ``PERIOD_GAP_MIN`` of the cut and the dates on either side differ. Only the samples
  themselves and one block's working data are held at once, and the result is the same as in
  one block (a date whose sleep still lands in two blocks sends sleep back to one block).
"""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

import polars as pl

from ingest.duplicates import without_exact_duplicates
from ingest.local_time import in_minutes, local_clock, local_date
from ingest.reported_sleep import SLEEP_COLUMNS, with_vendor_totals
from ingest.schema import ASLEEP_METRICS, NIGHTS, SAMPLES, empty, validate

PERIOD_GAP_MIN = 90
STAGE_METRICS = frozenset({"sleep_core", "sleep_deep", "sleep_rem"})
HRV_METRICS = {"hrv_sdnn": "hrv_sdnn_ms", "hrv_rmssd": "hrv_rmssd_ms"}
#: what build_nights reads; pass it as ``metrics`` to ``ingest.load`` (raw heart rate is not used)
NIGHTS_METRICS = ASLEEP_METRICS | {
    "sleep_reported",
    "sleep_in_bed",
    "sleep_awake",
    "hrv_sdnn",
    "hrv_rmssd",
    "resting_heart_rate",
    "steps",
}

#: how many samples the builder works on at once: a block of whole local dates for the figures
#: of a date, a block of whole sleeps for sleep. Years of records then need the working memory
#: of one block, not of all of them; the nights are the same for any block size.
BLOCK_ROWS = 20_000

_DAY = timedelta(hours=24)
#: set by build_nights on every sample whose metric is one of sleep
_SLEEP_ROW = pl.col("sleep_row")
#: who recorded a sleep record: a source and a device
RECORDER = pl.col("source") + "/" + pl.col("device").fill_null("")


def build_nights(samples: pl.DataFrame, *, block_rows: int = BLOCK_ROWS) -> pl.DataFrame:
    """One row per patient per local date, exactly the ``ingest.schema.NIGHTS`` schema.

    ``samples`` must have the ``ingest.schema.SAMPLES`` schema (SchemaError otherwise).
    ``block_rows`` is how many samples each step works on at once (see the module's docstring);
    the nights are the same whatever it is."""
    samples = without_exact_duplicates(validate(samples, SAMPLES, "samples"))
    backwards = pl.col("end") < pl.col("start")
    if samples.select(backwards.any()).item():
        samples = samples.filter(~backwards)
    if samples.is_empty():
        return empty(NIGHTS)
    if samples.select((pl.col("start") < pl.col("start").shift(1)).any()).item():
        samples = samples.sort("start")
    samples = samples.with_columns(
        local_date=local_date(pl.col("start"), pl.col("utc_offset_min")),
        sleep_row=pl.col("metric").str.starts_with("sleep_"),
    )
    offsets = _offset_changes(samples, block_rows)
    sleep, periods = _sleep_by_blocks(samples, offsets, block_rows)
    steps, day_offsets = _days_by_blocks(samples, block_rows)
    parts = [sleep, _hrv(samples, periods), _resting_hr(samples), steps, day_offsets]
    keys = pl.concat([p.select("patient_id", "date") for p in parts])
    frame = _date_range(keys)
    for part in parts:
        frame = frame.join(part, on=["patient_id", "date"], how="left")
    frame = frame.with_columns(
        utc_offset_min=pl.coalesce("utc_offset_min", "day_offset_min").cast(pl.Int32),
        sleep_periods=pl.col("sleep_periods").cast(pl.Int32),
        has_sleep=pl.col("sleep_total_min").is_not_null(),
        has_hrv=pl.col("hrv_sdnn_ms").is_not_null() | pl.col("hrv_rmssd_ms").is_not_null(),
        has_resting_hr=pl.col("resting_hr_bpm").is_not_null(),
        has_steps=pl.col("steps").is_not_null(),
    )
    return validate(frame.sort("patient_id", "date").select(list(NIGHTS)), NIGHTS, "nights")


def _time_slices(starts: pl.Series, block_rows: int) -> list[tuple[int, int]]:
    """Row ranges of about ``block_rows`` rows of a start-sorted frame, never splitting rows
    that start at the same instant (so each patient's rows stay in order across slices)."""
    slices, lo, n = [], 0, len(starts)
    while lo < n:
        hi = lo + block_rows
        if hi < n:
            at = starts[hi]
            hi = int(starts.search_sorted(at, side="left"))
            if hi <= lo:
                hi = int(starts.search_sorted(at, side="right"))
        hi = min(hi, n)
        slices.append((lo, hi))
        lo = hi
    return slices


def _offset_changes(samples: pl.DataFrame, block_rows: int) -> pl.DataFrame:
    """Each patient's samples (start, offset) where the offset changes from the sample before
    (ties broken on the offset itself, so that the order of the records never matters): the
    latest row at or before any moment has the offset of the latest sample at or before it, and
    a decade of records becomes a few hundred rows. Worked out one slice of time at a time; a
    slice's first row is kept, then dropped again if it changes nothing."""
    changed = pl.col("utc_offset_min") != pl.col("utc_offset_min").shift(1).over("patient_id")
    pieces = [
        samples.slice(lo, hi - lo)
        .select("patient_id", "start", "utc_offset_min")
        .sort("patient_id", "start", "utc_offset_min")
        .filter(changed.fill_null(True))
        for lo, hi in _time_slices(samples["start"], block_rows)
    ]
    offsets = pl.concat(pieces).sort("patient_id", "start", "utc_offset_min")
    return offsets.filter(changed.fill_null(True))


def _cluster(frame: pl.DataFrame, by: list[str]) -> pl.DataFrame:
    """Label each interval with its union segment (``seg``) and its period (``period``) within
    ``by``: a new segment starts after a gap of any length, a new period after a gap longer than
    PERIOD_GAP_MIN, both measured from the running maximum of earlier ends."""
    frame = frame.sort([*by, "start", "end"])
    prev_end = pl.col("end").cum_max().shift(1).over(by)
    gap = pl.lit(timedelta(minutes=PERIOD_GAP_MIN))
    return frame.with_columns(
        seg=(prev_end.is_null() | (pl.col("start") > prev_end)).cum_sum().over(by),
        period=(prev_end.is_null() | (pl.col("start") > prev_end + gap)).cum_sum().over(by),
    )


def _periods(labelled: pl.DataFrame, by: list[str]) -> pl.DataFrame:
    """Periods of clustered intervals: first start, last end, asleep minutes of the union, the
    offset at the first start, and whether any stage data was recorded in them."""
    segments = labelled.group_by([*by, "period", "seg"]).agg(
        pl.col("start").min(),
        pl.col("end").max(),
        pl.col("utc_offset_min").sort_by("start", "utc_offset_min").first(),
        pl.col("metric").is_in(list(STAGE_METRICS)).any().alias("staged"),
    )
    return segments.group_by([*by, "period"]).agg(
        pl.col("utc_offset_min")
        .sort_by("start", "utc_offset_min")
        .first()
        .alias("start_offset_min"),
        pl.col("start").min(),
        pl.col("end").max(),
        in_minutes(pl.col("end") - pl.col("start")).sum().alias("asleep_min"),
        pl.col("staged").any(),
    )


def _end_dates(periods: pl.DataFrame, offsets: pl.DataFrame) -> pl.DataFrame:
    """Add the offset at each period's end and the local date of that end."""
    with_offset = (
        periods.sort("end")
        .join_asof(
            offsets.rename({"start": "offset_at", "utc_offset_min": "end_offset_min"}),
            left_on="end",
            right_on="offset_at",
            by="patient_id",
            strategy="backward",
            check_sortedness=False,
        )
        .drop("offset_at")
    )
    return with_offset.with_columns(
        date=local_date(pl.col("end"), pl.col("end_offset_min")),
    )


def _sleep_by_blocks(
    samples: pl.DataFrame, offsets: pl.DataFrame, block_rows: int
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The sleep columns of every night with sleep, and every night's periods.

    Worked out one block of sleep records at a time. Blocks are cut only where no sleep record
    of anyone comes within PERIOD_GAP_MIN of the cut, so no period, reported session or in-bed
    match ever spans two blocks; and if a date still has sleep in two blocks (a nap after a
    cut), everything is worked out again in one block. The answer is the same either way."""
    spans = samples.lazy().filter(_SLEEP_ROW).select("patient_id", "start", "end").collect()
    cuts = _sleep_cuts(spans, offsets, block_rows)
    if cuts:
        bounds = [None, *cuts, None]
        done = [
            _sleep_block(samples.filter(_SLEEP_ROW & _starting(lo, hi)), offsets)
            for lo, hi in itertools.pairwise(bounds)
        ]
        dates = pl.concat([d for _, _, d in done])
        if not dates.is_duplicated().any():
            return _stacked([s for s, _, _ in done]), _stacked([p for _, p, _ in done])
    sleep, periods, _ = _sleep_block(samples.filter(_SLEEP_ROW), offsets)
    return sleep, periods


def _starting(lo: datetime | None, hi: datetime | None) -> pl.Expr:
    """Rows starting at or after ``lo`` and before ``hi`` (None: no bound)."""
    after = pl.lit(True) if lo is None else pl.col("start") >= lo
    return after if hi is None else after & (pl.col("start") < hi)


def _stacked(frames: list[pl.DataFrame]) -> pl.DataFrame:
    """Blocks' results one under the other (a block whose column is all null, or has only
    reported sleep, may hold it in another number type)."""
    return pl.concat(frames, how="vertical_relaxed")


def _sleep_block(
    rows: pl.DataFrame, offsets: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Sleep columns and periods of the sleep records ``rows``, and every (patient, date) they
    touched (the dates of periods before and after choosing recorders, and of reported
    sessions)."""
    intervals, periods, dated = _sleep(rows, offsets)
    sleep = with_vendor_totals(_sleep_features(intervals, periods, rows), intervals, rows)
    reported = rows.filter(pl.col("metric") == "sleep_reported").select(
        "patient_id", date=local_date(pl.col("end"), pl.col("utc_offset_min"))
    )
    touched = pl.concat([dated.select("patient_id", "date"), reported]).unique()
    periods = periods.select("patient_id", "date", "start", "end", "asleep_min")
    return sleep, periods, touched


def _sleep_cuts(spans: pl.DataFrame, offsets: pl.DataFrame, block_rows: int) -> list[datetime]:
    """Where to cut the (start-sorted) sleep records ``spans`` into blocks of about
    ``block_rows``: at the start of a record that comes more than PERIOD_GAP_MIN after the end
    of everyone's sleep records before it, and whose sleep ends on a later local date than all
    the sleep before it."""
    if spans.height <= block_rows:
        return []
    gap = pl.lit(timedelta(minutes=PERIOD_GAP_MIN))
    after_gap = pl.col("start") > pl.col("end").cum_max().shift(1) + gap
    pooled = (
        spans.with_row_index("row")
        .with_columns(pooled=after_gap.fill_null(True).cum_sum())
        .group_by("pooled")
        .agg(
            pl.col("row").first(),
            pl.col("start").first(),
            pl.col("patient_id").sort_by("end").last(),
            pl.col("end").max(),
        )
    )
    dated = _end_dates(pooled, offsets).sort("row")
    later = pl.col("date") > pl.col("date").cum_max().shift(1)
    cuts, last = [], 0
    for row, start in dated.filter(later.fill_null(False)).select("row", "start").rows():
        if row - last >= block_rows:
            cuts.append(start)
            last = row
    return cuts


def _days_by_blocks(samples: pl.DataFrame, block_rows: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Steps and the offset of each day's last sample, worked out for a block of whole local
    dates at a time (every figure is one of a date, so the blocks change nothing)."""
    awake = ~_SLEEP_ROW
    days = samples.lazy().filter(awake).group_by("local_date").len().collect()
    blocks = (
        days.sort("local_date")
        .group_by(((pl.col("len").cum_sum() - 1) // block_rows).alias("block"))
        .agg(pl.col("local_date").min().alias("first"), pl.col("local_date").max().alias("last"))
        .sort("block")
    )
    steps, day_offsets = [], []
    for first, last in blocks.select("first", "last").rows():
        block = samples.filter(awake & pl.col("local_date").is_between(first, last))
        steps.append(_steps(block))
        day_offsets.append(_day_offsets(block))
    if not steps:
        none = samples.filter(awake)
        return _steps(none), _day_offsets(none)
    return _stacked(steps), _stacked(day_offsets)


def _sleep(
    samples: pl.DataFrame, offsets: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """The asleep intervals kept for each night (with their date), every night's periods, and
    the periods of each recorder before recorders were chosen (with their dates)."""
    asleep = samples.filter(
        pl.col("metric").is_in(list(ASLEEP_METRICS)) & (pl.col("end") > pl.col("start"))
    ).with_columns(recorder=RECORDER)
    by_recorder = ["patient_id", "recorder"]
    labelled = _cluster(asleep, by_recorder)
    dated = _end_dates(_periods(labelled, by_recorder), offsets)
    night_rank = dated.group_by("patient_id", "date", "recorder").agg(pl.col("staged").any())
    best = pl.col("staged").max().over("patient_id", "date")
    chosen = night_rank.filter(pl.col("staged") == best)
    intervals = labelled.join(
        dated.select(*by_recorder, "period", "date"), on=[*by_recorder, "period"]
    ).join(chosen.select("patient_id", "date", "recorder"), on=["patient_id", "date", "recorder"])
    # merged again per patient: records of recorders chosen for different dates may overlap
    intervals = _cluster(intervals.drop("seg", "period", "date"), ["patient_id"])
    periods = _end_dates(_periods(intervals, ["patient_id"]), offsets)
    intervals = intervals.join(
        periods.select("patient_id", "period", "date"), on=["patient_id", "period"]
    )
    return intervals, periods, dated


def _sleep_features(
    intervals: pl.DataFrame, periods: pl.DataFrame, samples: pl.DataFrame
) -> pl.DataFrame:
    by_night = ["patient_id", "date"]
    sources = intervals.group_by(by_night).agg(
        pl.col("source").unique().sort().str.join("+").alias("sleep_source")
    )
    main = (
        periods.sort("asleep_min", "end", "start")
        .group_by(by_night)
        .agg(
            pl.col("asleep_min").sum().alias("sleep_total_min"),
            pl.len().alias("sleep_periods"),
            pl.col("asleep_min").last().alias("sleep_main_min"),
            pl.col("start").last().alias("main_start"),
            pl.col("end").last().alias("main_end"),
            pl.col("start_offset_min").last(),
            pl.col("end_offset_min").last().alias("utc_offset_min"),
        )
    )
    noon_before = pl.col("date").cast(pl.Datetime("us")) - pl.duration(hours=12)
    onset = in_minutes(local_clock(pl.col("main_start"), pl.col("start_offset_min")) - noon_before)
    main = main.with_columns(sleep_onset_min=onset).with_columns(
        sleep_midpoint_min=pl.col("sleep_onset_min")
        + in_minutes(pl.col("main_end") - pl.col("main_start")) / 2
    )
    in_bed = _in_bed_minutes(intervals, periods, samples, sources)
    return (
        main.join(sources, on=by_night)
        .join(in_bed, on=by_night, how="left")
        .with_columns(sleep_efficiency=pl.col("sleep_total_min") / pl.col("in_bed_min"))
        .select(*by_night, *SLEEP_COLUMNS, "in_bed_min")
    )


def _in_bed_minutes(
    intervals: pl.DataFrame, periods: pl.DataFrame, samples: pl.DataFrame, sources: pl.DataFrame
) -> pl.DataFrame:
    """Union of the night's in-bed records (from its chosen sources) and its asleep intervals.

    Each in-bed record is matched to the period with the latest start before the record ends,
    and kept if the two overlap."""
    in_bed = samples.filter(pl.col("metric") == "sleep_in_bed").select(
        "patient_id", "source", "start", "end"
    )
    matched = (
        in_bed.sort("end")
        .join_asof(
            periods.select(
                "patient_id",
                "date",
                pl.col("start").alias("period_start"),
                pl.col("end").alias("period_end"),
            ).sort("period_start"),
            left_on="end",
            right_on="period_start",
            by="patient_id",
            strategy="backward",
            check_sortedness=False,
        )
        .filter(pl.col("period_end") > pl.col("start"))
        .join(
            sources.with_columns(pl.col("sleep_source").str.split("+").alias("source")).explode(
                "source"
            ),
            on=["patient_id", "date", "source"],
        )
        .select("patient_id", "date", "start", "end")
    )
    both = pl.concat([matched, intervals.select("patient_id", "date", "start", "end")])
    segments = (
        _cluster(both, ["patient_id", "date"])
        .group_by("patient_id", "date", "seg")
        .agg(pl.col("start").min(), pl.col("end").max())
    )
    minutes = segments.group_by("patient_id", "date").agg(
        in_minutes(pl.col("end") - pl.col("start")).sum().alias("in_bed_min")
    )
    return minutes.join(matched.select("patient_id", "date").unique(), on=["patient_id", "date"])


def _is_daily() -> pl.Expr:
    return (pl.col("end") - pl.col("start")) == pl.lit(_DAY)


def _hrv(samples: pl.DataFrame, periods: pl.DataFrame) -> pl.DataFrame:
    hrv = samples.filter(pl.col("metric").is_in(list(HRV_METRICS)))
    mains = (
        periods.sort("asleep_min", "end", "start")
        .group_by("patient_id", "date")
        .agg(pl.col("start").last().alias("main_start"), pl.col("end").last().alias("main_end"))
        .sort("main_start")
    )
    timed = (
        hrv.filter(~_is_daily())
        .sort("end")
        .join_asof(
            mains,
            left_on="end",
            right_on="main_start",
            by="patient_id",
            strategy="backward",
            check_sortedness=False,
        )
        .filter(pl.col("start") <= pl.col("main_end"))  # overlaps the main period
        .group_by("patient_id", "date", "metric")
        .agg(pl.col("value").mean().alias("night"))
    )
    daily = (
        hrv.filter(_is_daily())
        .group_by("patient_id", pl.col("local_date").alias("date"), "metric")
        .agg(pl.col("value").mean().alias("daily"))
    )
    both = timed.join(daily, on=["patient_id", "date", "metric"], how="full", coalesce=True)
    wide = both.with_columns(value=pl.coalesce("night", "daily")).pivot(
        on="metric", index=["patient_id", "date"], values="value"
    )
    return wide.select(
        "patient_id",
        "date",
        *(
            (pl.col(metric) if metric in wide.columns else pl.lit(None, pl.Float64)).alias(name)
            for metric, name in HRV_METRICS.items()
        ),
    )


def _resting_hr(samples: pl.DataFrame) -> pl.DataFrame:
    return (
        samples.filter(pl.col("metric") == "resting_heart_rate")
        .group_by("patient_id", pl.col("local_date").alias("date"))
        .agg(pl.col("value").mean().alias("resting_hr_bpm"))
    )


def _steps(samples: pl.DataFrame) -> pl.DataFrame:
    # the recorder is (source, device) as two keys: no string per record for a decade of steps
    steps = samples.filter(pl.col("metric") == "steps").select(
        "patient_id", "local_date", "source", "device", "start", "end", "utc_offset_min", "value"
    )
    by_day = [pl.col("patient_id"), pl.col("local_date").alias("date")]
    daily = (
        steps.filter(_is_daily())
        .group_by(*by_day, "source", "device")
        .agg(pl.col("value").sum())
        .group_by("patient_id", "date")
        .agg(pl.col("value").max().alias("daily"))
    )
    hour = local_clock(pl.col("start"), pl.col("utc_offset_min")).dt.truncate("1h").alias("hour")
    timed = (
        steps.filter(~_is_daily())
        .group_by(*by_day, hour, "source", "device")
        .agg(pl.col("value").sum())
        .group_by("patient_id", "date", "hour")
        .agg(pl.col("value").max())
        .group_by("patient_id", "date")
        .agg(pl.col("value").sum().alias("timed"))
    )
    return daily.join(timed, on=["patient_id", "date"], how="full", coalesce=True).select(
        "patient_id", "date", pl.max_horizontal("daily", "timed").alias("steps")
    )


def _day_offsets(samples: pl.DataFrame) -> pl.DataFrame:
    """The offset of each day's last non-sleep sample, for days without a main sleep."""
    return (
        samples.filter(~pl.col("metric").str.starts_with("sleep_"))
        .select("patient_id", "local_date", "start", "utc_offset_min")
        .sort("start", "utc_offset_min")
        .group_by("patient_id", pl.col("local_date").alias("date"))
        .agg(pl.col("utc_offset_min").last().alias("day_offset_min"))
    )


def _date_range(keys: pl.DataFrame) -> pl.DataFrame:
    """Every date from each patient's first to last."""
    spans = keys.group_by("patient_id").agg(
        pl.col("date").min().alias("first"), pl.col("date").max().alias("last")
    )
    return (
        spans.select("patient_id", pl.date_ranges("first", "last").alias("date"))
        .explode("date")
        .sort("patient_id", "date")
    )
