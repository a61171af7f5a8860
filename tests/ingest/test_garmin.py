"""Garmin Connect export: sleepData and UDS files into samples."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from ingest.errors import InvalidValueError, MalformedFileError
from ingest.formats import ParseOptions
from ingest.formats.vendor_records import SampleRows
from ingest.load import load
from ingest.nights import build_nights
from tests.ingest.sample_rows import assert_nights_match, frame_of, rows_of

EXPORT = "garmin/export"

EXPECTED = [
    # night ending 2024-03-31, before the DST change: offset +60 from the UDS day it began in.
    # Garmin gives stage totals only: deep and light from the window start, REM ending at its
    # end, awake between them (SampleRows.stage_totals)
    ("sleep_in_bed", "2024-03-30T21:50:00", "2024-03-31T05:20:00", 60, 450.0, "min"),
    ("sleep_deep", "2024-03-30T21:50:00", "2024-03-30T23:10:00", 60, 80.0, "min"),
    ("sleep_core", "2024-03-30T23:10:00", "2024-03-31T03:20:00", 60, 250.0, "min"),
    ("sleep_awake", "2024-03-31T03:20:00", "2024-03-31T03:40:00", 60, 20.0, "min"),
    ("sleep_rem", "2024-03-31T03:40:00", "2024-03-31T05:20:00", 60, 100.0, "min"),
    # Garmin's own total (deep + light + REM seconds), which the night's total takes
    ("sleep_reported", "2024-03-30T21:50:00", "2024-03-31T05:20:00", 60, 430.0, "min"),
    # night ending 2024-04-02, in both sleepData files, kept once; REM 0 gives no row
    ("sleep_in_bed", "2024-04-01T21:00:00", "2024-04-02T04:30:00", 120, 450.0, "min"),
    ("sleep_deep", "2024-04-01T21:00:00", "2024-04-01T22:00:00", 120, 60.0, "min"),
    ("sleep_awake", "2024-04-01T22:00:00", "2024-04-01T23:30:00", 120, 90.0, "min"),
    ("sleep_core", "2024-04-01T23:30:00", "2024-04-02T04:30:00", 120, 300.0, "min"),
    ("sleep_reported", "2024-04-01T21:00:00", "2024-04-02T04:30:00", 120, 360.0, "min"),
    # night without stage totals: asleep = window - awake, in two halves around the awake time
    ("sleep_in_bed", "2024-04-02T22:10:00", "2024-04-03T05:10:00", 120, 420.0, "min"),
    ("sleep_asleep", "2024-04-02T22:10:00", "2024-04-03T01:25:00", 120, 195.0, "min"),
    ("sleep_awake", "2024-04-03T01:25:00", "2024-04-03T01:55:00", 120, 30.0, "min"),
    ("sleep_asleep", "2024-04-03T01:55:00", "2024-04-03T05:10:00", 120, 195.0, "min"),
    ("sleep_reported", "2024-04-02T22:10:00", "2024-04-03T05:10:00", 120, 390.0, "min"),
    # UDS daily values from local midnight; 2024-04-01 (not worn) gives nothing
    ("steps", "2024-03-29T23:00:00", "2024-03-30T23:00:00", 60, 8431.0, "count"),
    ("resting_heart_rate", "2024-03-29T23:00:00", "2024-03-30T23:00:00", 60, 61.0, "bpm"),
    ("steps", "2024-03-30T23:00:00", "2024-03-31T23:00:00", 60, 10220.0, "count"),
    ("resting_heart_rate", "2024-03-30T23:00:00", "2024-03-31T23:00:00", 60, 60.0, "bpm"),
    ("steps", "2024-04-01T22:00:00", "2024-04-02T22:00:00", 120, 5012.0, "count"),
    ("resting_heart_rate", "2024-04-01T22:00:00", "2024-04-02T22:00:00", 120, 63.0, "bpm"),
]


def test_export_folder_gives_every_night_once_with_offsets_from_uds(fixtures_dir: Path) -> None:
    loaded = load(fixtures_dir / EXPORT, patient_id="p1")
    assert sorted(name for _, name in loaded.read) == [
        "garmin_sleep_data",
        "garmin_sleep_data",
        "garmin_uds",
    ]
    assert rows_of(loaded.samples) == sorted(EXPECTED)
    assert_frame_equal(
        loaded.samples.sort("start", "metric"),
        frame_of(EXPECTED, source="garmin").sort("start", "metric"),
    )


def test_overlapping_sleep_files_give_identical_rows_for_the_shared_night(
    fixtures_dir: Path,
) -> None:
    wellness = fixtures_dir / EXPORT / "DI_CONNECT/DI-Connect-Wellness"
    first, second = (load(p, patient_id="p1").samples for p in sorted(wellness.iterdir()))
    night = pl.col("end") <= pl.datetime(2024, 4, 2, 4, 30, time_zone="UTC")
    night &= pl.col("start") >= pl.datetime(2024, 4, 1, 21, time_zone="UTC")
    assert first.filter(night).height == 5
    assert_frame_equal(first.filter(night), second.filter(night))


def test_export_gives_the_expected_nights(fixtures_dir: Path) -> None:
    samples = load(fixtures_dir / EXPORT, patient_id="p1").samples
    # asleep = deep + light + REM (430, 360) and window - awake (390), never the whole window
    assert_nights_match(build_nights(samples), fixtures_dir / "garmin/expected_nights.csv")


def test_sleep_file_alone_has_offset_zero(fixtures_dir: Path) -> None:
    path = fixtures_dir / EXPORT / "DI_CONNECT/DI-Connect-Wellness"
    samples = load(sorted(path.iterdir())[0], patient_id="p1").samples
    assert set(samples["utc_offset_min"]) == {0}
    assert samples.filter(pl.col("metric") == "sleep_in_bed")["value"].to_list() == [450.0, 450.0]


def test_epoch_millisecond_times_read_as_gmt(tmp_path: Path) -> None:
    night = {
        "calendarDate": "2024-03-31",
        "sleepStartTimestampGMT": 1711835400000,  # 2024-03-30T21:50:00Z
        "sleepEndTimestampGMT": 1711862400000,  # 2024-03-31T05:20:00Z
        "deepSleepSeconds": 4800,
    }
    path = tmp_path / "2024-03-30_2024-04-01_99_sleepData.json"
    path.write_text(json.dumps([night]))
    in_bed = load(path).samples.filter(pl.col("metric") == "sleep_in_bed")
    assert in_bed.select("start", "end").row(0) == (
        datetime(2024, 3, 30, 21, 50, tzinfo=UTC),
        datetime(2024, 3, 31, 5, 20, tzinfo=UTC),
    )


def test_truncated_file_is_malformed(fixtures_dir: Path) -> None:
    with pytest.raises(MalformedFileError, match=r"truncated_sleepData.json, line 5"):
        load(fixtures_dir / "garmin/broken/truncated_sleepData.json")


def test_a_night_without_calendar_date_is_skipped_naming_the_record(fixtures_dir: Path) -> None:
    loaded = load(fixtures_dir / "garmin/placeholder/no_date_sleepData.json")
    assert loaded.samples["start"].dt.date().min().isoformat() == "2024-03-30"
    assert [(w.record, w.reason) for w in loaded.warnings] == [
        ("record 1", "a night without calendarDate")
    ]


def test_stage_seconds_as_text_name_the_field(fixtures_dir: Path) -> None:
    with pytest.raises(InvalidValueError, match=r"record 0: field 'deepSleepSeconds' is '4800'"):
        load(fixtures_dir / "garmin/broken/wrong_type_sleepData.json")


def test_public_sample_matches_the_figures_in_its_files(public_samples: Path) -> None:
    root = public_samples / "garmin/WonderBeat__datasets/DI_CONNECT"
    samples = load(root, patient_id="p").samples
    # UDS 2023-08-15: restingHeartRate 62, totalSteps 1331, local midnight 2023-08-14T22:00 GMT
    day = samples.filter(pl.col("start") == pl.datetime(2023, 8, 14, 22, time_zone="UTC"))
    assert dict(day.select("metric", "value").iter_rows()) == {
        "resting_heart_rate": 62.0,
        "steps": 1331.0,
    }
    # sleepData 2023-08-16: deep 3180 s, light 24660 s, REM 2640 s, awake 1200 s
    window = (
        pl.datetime(2023, 8, 15, 22, 40, time_zone="UTC"),
        pl.datetime(2023, 8, 16, 7, 28, time_zone="UTC"),
    )
    night = samples.filter(pl.col("start") >= window[0], pl.col("end") <= window[1])
    assert dict(night.select("metric", "value").iter_rows()) == {
        "sleep_in_bed": 528.0,
        "sleep_deep": 53.0,
        "sleep_core": 411.0,
        "sleep_rem": 44.0,
        "sleep_awake": 20.0,
        "sleep_reported": 508.0,
    }
    assert set(samples["utc_offset_min"]) == {120}
    assert samples.filter(pl.col("metric") == "sleep_in_bed").height == 6


@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.integers(0, 300), min_size=1, max_size=3),
    st.integers(0, 120),
    st.integers(0, 60),
)
def test_stage_totals_count_each_asleep_minute_once_inside_the_window(
    stages: list[int], awake: int, unmeasured: int
) -> None:
    start = datetime(2024, 3, 30, 22, tzinfo=UTC)
    end = start + timedelta(minutes=sum(stages) + awake + unmeasured)
    names = ["sleep_deep", "sleep_core", "sleep_rem"]
    rows = SampleRows("garmin")
    rows.stage_totals(start, end, 60, list(zip(names, map(float, stages), strict=False)), awake)
    frame = rows.frame(ParseOptions(patient_id="p"))
    asleep = frame.filter(pl.col("metric") != "sleep_awake").sort("start")
    assert asleep["value"].sum() == sum(stages)
    assert ((asleep["end"] - asleep["start"]).dt.total_seconds() / 60).to_list() == asleep[
        "value"
    ].to_list()
    assert all(a <= b for a, b in zip(asleep["end"], asleep["start"][1:], strict=False))
    assert frame.is_empty() or (frame["start"].min() >= start and frame["end"].max() <= end)
    if sum(stages):  # onset and wake time are the window's
        assert asleep["start"][0] == start and asleep["end"][-1] == end


def test_progress_counts_every_byte_once_and_metrics_filter(fixtures_dir: Path) -> None:
    root = fixtures_dir / EXPORT
    seen: list[int] = []
    samples = load(root, progress=seen.append, metrics=frozenset({"steps"})).samples
    # sibling UDS files read for offsets are not counted twice
    assert sum(seen) == sum(p.stat().st_size for p in root.rglob("*.json"))
    assert set(samples["metric"]) == {"steps"}
