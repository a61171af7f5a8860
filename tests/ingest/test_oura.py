"""Oura API v2 JSON and account-export CSV into samples."""

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
from ingest.formats.oura import PHASES, add_hypnogram
from ingest.formats.vendor_records import RecordReader, SampleRows
from ingest.load import load
from ingest.nights import build_nights
from tests.ingest.sample_rows import assert_nights_match, frame_of, rows_of

LONG_SLEEP = [
    # bedtime 23:10-06:40 at +01:00; the hypnogram in 5-minute runs from bedtime_start
    ("sleep_in_bed", "2024-03-04T22:10:00", "2024-03-05T05:40:00", 60, 450.0, "min"),
    ("sleep_awake", "2024-03-04T22:10:00", "2024-03-04T22:20:00", 60, 10.0, "min"),
    ("sleep_core", "2024-03-04T22:20:00", "2024-03-04T23:20:00", 60, 60.0, "min"),
    ("sleep_deep", "2024-03-04T23:20:00", "2024-03-05T00:20:00", 60, 60.0, "min"),
    ("sleep_core", "2024-03-05T00:20:00", "2024-03-05T01:50:00", 60, 90.0, "min"),
    ("sleep_rem", "2024-03-05T01:50:00", "2024-03-05T02:50:00", 60, 60.0, "min"),
    ("sleep_awake", "2024-03-05T02:50:00", "2024-03-05T03:00:00", 60, 10.0, "min"),
    ("sleep_core", "2024-03-05T03:00:00", "2024-03-05T05:00:00", 60, 120.0, "min"),
    # the 91st epoch (awake) lies after bedtime_end and is cut off
    ("sleep_rem", "2024-03-05T05:00:00", "2024-03-05T05:40:00", 60, 40.0, "min"),
    # Oura's own total_sleep_duration, which the night's total takes
    ("sleep_reported", "2024-03-04T22:10:00", "2024-03-05T05:40:00", 60, 430.0, "min"),
    ("heart_rate", "2024-03-04T22:10:00", "2024-03-05T05:40:00", 60, 58.5, "bpm"),
    # daily values of the wake date: average_hrv (RMSSD) and lowest_heart_rate
    ("hrv_rmssd", "2024-03-04T23:00:00", "2024-03-05T23:00:00", 60, 41.0, "ms"),
    ("resting_heart_rate", "2024-03-04T23:00:00", "2024-03-05T23:00:00", 60, 52.0, "bpm"),
]
LATE_NAP = [
    # no hypnogram: light 25 min from the start, REM 10 min to the end, awake between
    ("sleep_in_bed", "2024-03-05T14:00:00", "2024-03-05T14:40:00", 60, 40.0, "min"),
    ("sleep_core", "2024-03-05T14:00:00", "2024-03-05T14:25:00", 60, 25.0, "min"),
    ("sleep_awake", "2024-03-05T14:25:00", "2024-03-05T14:30:00", 60, 5.0, "min"),
    ("sleep_rem", "2024-03-05T14:30:00", "2024-03-05T14:40:00", 60, 10.0, "min"),
    ("sleep_reported", "2024-03-05T14:00:00", "2024-03-05T14:40:00", 60, 35.0, "min"),
    ("heart_rate", "2024-03-05T14:00:00", "2024-03-05T14:40:00", 60, 63.0, "bpm"),
]
# 2024-03-06 (0 steps, not worn) gives nothing; readiness and daily_sleep give nothing
ACTIVITY = [("steps", "2024-03-04T23:00:00", "2024-03-05T23:00:00", 60, 8412.0, "count")]
EXPECTED = LONG_SLEEP + LATE_NAP + ACTIVITY


def test_api_endpoint_files_give_whole_rows(fixtures_dir: Path) -> None:
    loaded = load(fixtures_dir / "oura/api", patient_id="p1")
    assert [name for _, name in loaded.read] == ["oura_api_json"] * 4
    assert rows_of(loaded.samples) == sorted(EXPECTED)
    assert_frame_equal(
        loaded.samples.sort("start", "metric", "end"),
        frame_of(EXPECTED, source="oura").sort("start", "metric", "end"),
    )


def test_readiness_resting_heart_rate_score_is_never_a_heart_rate(fixtures_dir: Path) -> None:
    samples = load(fixtures_dir / "oura/api/daily_readiness.json", patient_id="p1").samples
    assert samples.is_empty()  # its contributor resting_heart_rate is 92, a score


def test_one_dump_keyed_by_endpoint_gives_the_same_rows(fixtures_dir: Path, tmp_path: Path) -> None:
    api = fixtures_dir / "oura/api"
    dump = {p.stem: json.loads(p.read_text()) for p in sorted(api.glob("*.json"))}
    (tmp_path / "oura_data.json").write_text(json.dumps(dump))
    samples = load(tmp_path / "oura_data.json", patient_id="p1").samples
    assert rows_of(samples) == sorted(EXPECTED)


def test_account_export_csv_gives_the_same_rows(fixtures_dir: Path) -> None:
    loaded = load(fixtures_dir / "oura/export", patient_id="p1")
    assert [name for _, name in loaded.read] == ["oura_export_csv"] * 4
    assert rows_of(loaded.samples) == sorted(EXPECTED)


def test_api_files_give_the_expected_nights(fixtures_dir: Path) -> None:
    samples = load(fixtures_dir / "oura/api", patient_id="p1").samples
    # 2024-03-05: long sleep 430 + late nap 35 minutes asleep
    assert_nights_match(build_nights(samples), fixtures_dir / "oura/expected_nights.csv")


def test_truncated_json_is_malformed(fixtures_dir: Path) -> None:
    with pytest.raises(MalformedFileError, match=r"sleep_truncated.json, line 8"):
        load(fixtures_dir / "oura/broken/sleep_truncated.json")


def test_sleep_period_without_end_names_the_record(fixtures_dir: Path) -> None:
    with pytest.raises(MalformedFileError, match=r"data record 1: missing field 'bedtime_end'"):
        load(fixtures_dir / "oura/broken/sleep_no_end.json")


def test_hrv_as_text_names_the_field(fixtures_dir: Path) -> None:
    with pytest.raises(InvalidValueError, match=r"record 0: field 'average_hrv' is '41'"):
        load(fixtures_dir / "oura/broken/sleep_hrv_text.json")


def test_csv_steps_that_are_not_a_number_name_the_line(fixtures_dir: Path) -> None:
    with pytest.raises(InvalidValueError, match=r"line 3: field 'steps' is '8k'"):
        load(fixtures_dir / "oura/broken/dailyactivity.csv")


def test_public_dump_steps_match_daily_activity(public_samples: Path) -> None:
    path = public_samples / "oura/kola-ootro__oura-ring-data-collector/oura_data.json"
    activity = json.loads(path.read_text())["daily_activity"]["data"]
    by_day = {r["day"]: r["steps"] for r in activity}
    samples = load(path, patient_id="p").samples
    assert set(samples["metric"]) == {"steps"}  # readiness and daily_sleep are scores only
    # local midnight at +02:00 (the offset of each record's timestamp)
    got = {
        (start + (datetime(2000, 1, 1, 2) - datetime(2000, 1, 1))).date().isoformat(): value
        for start, value in samples.select("start", "value").iter_rows()
    }
    assert got["2024-07-19"] == by_day["2024-07-19"] == 18260
    assert got == {day: steps for day, steps in by_day.items() if steps}  # 2024-07-23: 0, unworn
    assert samples.height == 7
    assert set(samples["utc_offset_min"]) == {120}
    assert samples.filter(pl.col("value") == 0).is_empty()


@settings(max_examples=80, deadline=None)
@given(st.text(alphabet="1234", min_size=1, max_size=120), st.integers(1, 700))
def test_hypnogram_runs_cover_each_epoch_once_up_to_bedtime_end(phases: str, span: int) -> None:
    start = datetime(2024, 3, 4, 22, 10, tzinfo=UTC)
    end = start + timedelta(minutes=span)
    rows = SampleRows("oura")
    add_hypnogram(rows, RecordReader("sleep.json", "data record 0"), phases, start, end, 60)
    frame = rows.frame(ParseOptions()).sort("start")
    covered = min(5 * len(phases), span)
    assert frame["value"].sum() == covered
    assert frame["start"][0] == start
    assert frame["end"][-1] == start + timedelta(minutes=covered)
    for stage, metric in PHASES.items():  # each stage keeps its epochs, except those cut off
        kept = frame.filter(pl.col("metric") == metric)["value"].sum()
        whole = sum(5 for i, p in enumerate(phases) if p == stage and (i + 1) * 5 <= span)
        assert whole <= kept <= 5 * phases.count(stage)


def test_unknown_hypnogram_digit_names_the_field() -> None:
    rows = SampleRows("oura")
    start = datetime(2024, 3, 4, 22, 10, tzinfo=UTC)
    with pytest.raises(InvalidValueError, match=r"'sleep_phase_5_min' has \['5'\]"):
        add_hypnogram(rows, RecordReader("sleep.json", "data record 0"), "1125", start, start, 60)
