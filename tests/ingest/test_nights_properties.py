"""Properties of build_nights that must hold for any samples."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from ingest import build_nights
from ingest.schema import NIGHTS, SAMPLES

SLEEP = ["sleep_asleep", "sleep_core", "sleep_deep", "sleep_rem"]
OTHER = ["sleep_in_bed", "sleep_awake", "hrv_sdnn", "hrv_rmssd", "resting_heart_rate", "steps"]
T0 = datetime(2024, 3, 28, tzinfo=UTC)


@st.composite
def samples(draw: st.DrawFn, metrics: list[str], recorders: int = 3) -> pl.DataFrame:
    rows = []
    for _ in range(draw(st.integers(1, 25))):
        start = T0 + timedelta(minutes=draw(st.integers(0, 6 * 24 * 60)))
        duration = draw(st.sampled_from([0, 1440])) if draw(st.booleans()) else None
        minutes = draw(st.integers(0, 600)) if duration is None else duration
        recorder = draw(st.integers(0, recorders - 1))
        rows.append(
            {
                "patient_id": draw(st.sampled_from(["p1", "p2"])),
                "source": ["apple_health", "oura", "fitbit"][recorder],
                "device": [None, "Oura Ring", "Charge 6"][recorder],
                "metric": draw(st.sampled_from(metrics)),
                "start": start,
                "end": start + timedelta(minutes=minutes),
                "utc_offset_min": draw(st.sampled_from([-300, 0, 60, 120, 540])),
                "value": float(draw(st.integers(0, 2000))),
                "unit": "",
            }
        )
    return pl.DataFrame(rows, schema=SAMPLES)


def union_minutes(frame: pl.DataFrame) -> float:
    """Length of the union of asleep intervals, by a plain sweep (the reference answer)."""
    total, reach = 0.0, None
    for start, end in sorted(
        frame.filter(pl.col("metric").is_in(SLEEP)).select("start", "end").rows()
    ):
        if reach is None or start > reach:
            total += (end - start).total_seconds() / 60
            reach = end
        elif end > reach:
            total += (end - reach).total_seconds() / 60
            reach = end
    return total


@settings(max_examples=20, deadline=None)
@given(samples(SLEEP + OTHER))
def test_asleep_time_never_exceeds_the_union_of_the_intervals(frame: pl.DataFrame) -> None:
    nights = build_nights(frame)
    for patient, rows in frame.group_by("patient_id"):
        total = nights.filter(pl.col("patient_id") == patient[0])["sleep_total_min"].sum()
        assert total <= union_minutes(rows) + 1e-6


@settings(max_examples=20, deadline=None)
@given(samples(SLEEP + OTHER, recorders=1))
def test_with_one_recorder_every_asleep_minute_is_counted_exactly_once(frame: pl.DataFrame) -> None:
    nights = build_nights(frame)
    for patient, rows in frame.group_by("patient_id"):
        total = nights.filter(pl.col("patient_id") == patient[0])["sleep_total_min"].sum()
        assert abs(total - union_minutes(rows)) < 1e-6


@settings(max_examples=20, deadline=None)
@given(samples(SLEEP + OTHER), st.randoms(use_true_random=False), st.data())
def test_shuffling_or_duplicating_records_changes_nothing(
    frame: pl.DataFrame, rng: object, data: st.DataObject
) -> None:
    expected = build_nights(frame)
    order = data.draw(st.permutations(list(range(frame.height))))
    repeated = data.draw(st.lists(st.integers(0, frame.height - 1), max_size=10))
    changed = pl.concat([frame[order], frame[repeated]])
    assert_frame_equal(build_nights(changed), expected)


@settings(max_examples=20, deadline=None)
@given(samples(SLEEP + OTHER))
def test_every_night_row_keeps_the_contract(frame: pl.DataFrame) -> None:
    nights = build_nights(frame)
    assert nights.schema == pl.Schema(NIGHTS)
    assert nights.select("patient_id", "date").is_duplicated().sum() == 0
    for _, rows in nights.group_by("patient_id"):
        days = rows["date"].sort()
        assert (days.diff().drop_nulls() == timedelta(days=1)).all()  # no date is left out
    assert (nights["has_sleep"] == nights["sleep_total_min"].is_not_null()).all()
    assert (nights["has_steps"] == nights["steps"].is_not_null()).all()
    slept = nights.filter("has_sleep")
    assert (slept["sleep_main_min"] <= slept["sleep_total_min"] + 1e-9).all()
    assert (slept["sleep_periods"] >= 1).all()
    assert slept["sleep_efficiency"].drop_nulls().le(1 + 1e-9).all()


ZONES = ["Europe/Berlin", "America/New_York", "Australia/Sydney", "Asia/Kolkata"]
DST_WEEKS = [datetime(2024, 3, 7), datetime(2024, 3, 28), datetime(2024, 10, 24)]


@settings(max_examples=30, deadline=None)
@given(
    st.sampled_from(ZONES),
    st.sampled_from(DST_WEEKS),
    st.integers(0, 7 * 24 * 60),
    st.integers(30, 12 * 60),
    st.sampled_from(SLEEP),
)
def test_a_night_belongs_to_the_local_date_of_its_end_also_across_dst(
    zone_name: str, week: datetime, minute: int, length: int, metric: str
) -> None:
    zone = ZoneInfo(zone_name)
    start = (week + timedelta(minutes=minute)).replace(tzinfo=zone).astimezone(UTC)
    end = start + timedelta(minutes=length)
    rows = []
    chunk = start
    while chunk < end:  # stage records of up to 30 minutes, each with the offset at its start
        until = min(chunk + timedelta(minutes=30), end)
        offset = chunk.astimezone(zone).utcoffset()
        assert offset is not None
        rows.append(
            {
                "patient_id": "p1",
                "source": "apple_health",
                "device": "Apple Watch",
                "metric": metric,
                "start": chunk,
                "end": until,
                "utc_offset_min": int(offset.total_seconds() // 60),
                "value": (until - chunk).total_seconds() / 60,
                "unit": "min",
            }
        )
        chunk = until
    nights = build_nights(pl.DataFrame(rows, schema=SAMPLES))
    assert nights.height == 1
    night = nights.row(0, named=True)
    assert night["date"] == end.astimezone(zone).date()
    assert night["sleep_total_min"] == length
    assert night["utc_offset_min"] * 60 == end.astimezone(zone).utcoffset().total_seconds()  # type: ignore[union-attr]


@settings(max_examples=60, deadline=None)
@given(samples([*SLEEP, *OTHER, "sleep_reported"]), st.integers(1, 6))
def test_working_in_blocks_gives_the_same_nights_as_working_on_everything_at_once(
    frame: pl.DataFrame, block_rows: int
) -> None:
    assert_frame_equal(
        build_nights(frame, block_rows=block_rows), build_nights(frame, block_rows=10**9)
    )
