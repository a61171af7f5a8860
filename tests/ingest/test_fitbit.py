"""Fitbit legacy export and Google Takeout files into samples."""

from __future__ import annotations

import json
import shutil
import zipfile
from datetime import datetime, timedelta
from itertools import pairwise
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from ingest.errors import InvalidValueError, MalformedFileError
from ingest.formats.fitbit_sleep import LEVEL_METRICS, overlay
from ingest.load import load
from ingest.nights import build_nights
from tests.ingest.sample_rows import assert_nights_match, frame_of, rows_of

TAKEOUT = "fitbit/takeout"
ASLEEP = ["sleep_asleep", "sleep_core", "sleep_deep", "sleep_rem"]

# Every time below is UTC: the naive local times of the files shifted by the -05:00 offset of
# the UserSleeps file in the same upload.
MAIN_NIGHT = [
    ("sleep_in_bed", "2024-01-12T04:00:00", "2024-01-12T11:30:00", -300, 450.0, "min"),
    ("sleep_awake", "2024-01-12T04:00:00", "2024-01-12T04:10:00", -300, 10.0, "min"),
    ("sleep_core", "2024-01-12T04:10:00", "2024-01-12T05:10:00", -300, 60.0, "min"),
    ("sleep_deep", "2024-01-12T05:10:00", "2024-01-12T06:10:00", -300, 60.0, "min"),
    # a short wake of one minute splits the light segment
    ("sleep_core", "2024-01-12T06:10:00", "2024-01-12T06:30:00", -300, 20.0, "min"),
    ("sleep_awake", "2024-01-12T06:30:00", "2024-01-12T06:31:00", -300, 1.0, "min"),
    ("sleep_core", "2024-01-12T06:31:00", "2024-01-12T07:40:00", -300, 69.0, "min"),
    ("sleep_rem", "2024-01-12T07:40:00", "2024-01-12T08:40:00", -300, 60.0, "min"),
    ("sleep_awake", "2024-01-12T08:40:00", "2024-01-12T08:50:00", -300, 10.0, "min"),
    ("sleep_core", "2024-01-12T08:50:00", "2024-01-12T09:00:00", -300, 10.0, "min"),
    ("sleep_awake", "2024-01-12T09:00:00", "2024-01-12T09:01:30", -300, 1.5, "min"),
    ("sleep_core", "2024-01-12T09:01:30", "2024-01-12T10:50:00", -300, 108.5, "min"),
    ("sleep_rem", "2024-01-12T10:50:00", "2024-01-12T11:00:00", -300, 10.0, "min"),
    ("sleep_awake", "2024-01-12T11:00:00", "2024-01-12T11:00:30", -300, 0.5, "min"),
    ("sleep_rem", "2024-01-12T11:00:30", "2024-01-12T11:30:00", -300, 29.5, "min"),
    # Fitbit's own minutesAsleep of the log, which the night's total takes
    ("sleep_reported", "2024-01-12T04:00:00", "2024-01-12T11:30:00", -300, 427.0, "min"),
]
CLASSIC_NAP = [
    ("sleep_in_bed", "2024-01-12T19:00:00", "2024-01-12T19:50:00", -300, 50.0, "min"),
    ("sleep_awake", "2024-01-12T19:00:00", "2024-01-12T19:05:00", -300, 5.0, "min"),
    ("sleep_asleep", "2024-01-12T19:05:00", "2024-01-12T19:35:00", -300, 30.0, "min"),
    # restless counts as awake, as in Fitbit's own minutesAsleep
    ("sleep_awake", "2024-01-12T19:35:00", "2024-01-12T19:40:00", -300, 5.0, "min"),
    ("sleep_asleep", "2024-01-12T19:40:00", "2024-01-12T19:50:00", -300, 10.0, "min"),
    ("sleep_reported", "2024-01-12T19:00:00", "2024-01-12T19:50:00", -300, 40.0, "min"),
]
# only in UserSleeps, once per algorithm: the v2 session is kept, its totals laid out
USER_SLEEPS_NAP = [
    ("sleep_in_bed", "2024-01-13T20:12:00", "2024-01-13T21:02:00", -300, 50.0, "min"),
    ("sleep_asleep", "2024-01-13T20:12:00", "2024-01-13T20:34:00", -300, 22.0, "min"),
    ("sleep_awake", "2024-01-13T20:34:00", "2024-01-13T20:40:00", -300, 6.0, "min"),
    ("sleep_asleep", "2024-01-13T20:40:00", "2024-01-13T21:02:00", -300, 22.0, "min"),
    ("sleep_reported", "2024-01-13T20:12:00", "2024-01-13T21:02:00", -300, 44.0, "min"),
]
DAILY_AND_TIMED = [
    # Summary file: 2024-01-12 local midnight; the Google daily file only adds 2024-01-13
    ("hrv_rmssd", "2024-01-12T05:00:00", "2024-01-13T05:00:00", -300, 31.5, "ms"),
    ("hrv_rmssd", "2024-01-13T05:00:00", "2024-01-14T05:00:00", -300, 27.25, "ms"),
    # 5-minute details; the window with coverage 0.42 is dropped
    ("hrv_rmssd", "2024-01-12T06:00:00", "2024-01-12T06:05:00", -300, 28.4, "ms"),
    ("hrv_rmssd", "2024-01-12T06:10:00", "2024-01-12T06:15:00", -300, 33.0, "ms"),
    # the placeholder day 01/12/24 (date null, value 0) gives nothing
    ("resting_heart_rate", "2024-01-11T05:00:00", "2024-01-12T05:00:00", -300, 58.25, "bpm"),
    ("resting_heart_rate", "2024-01-13T05:00:00", "2024-01-14T05:00:00", -300, 59.5, "bpm"),
    # per-minute steps (UTC) summed per quarter hour
    ("steps", "2024-01-12T14:45:00", "2024-01-12T15:00:00", -300, 42.0, "count"),
    ("steps", "2024-01-12T15:00:00", "2024-01-12T15:15:00", -300, 200.0, "count"),
    # bpm 0 is not a reading
    ("heart_rate", "2024-01-12T15:00:05", "2024-01-12T15:00:05", -300, 72.0, "bpm"),
    ("heart_rate", "2024-01-12T15:00:10", "2024-01-12T15:00:10", -300, 75.0, "bpm"),
]
EXPECTED = MAIN_NIGHT + CLASSIC_NAP + USER_SLEEPS_NAP + DAILY_AND_TIMED


def test_takeout_gives_every_record_once_as_whole_rows(fixtures_dir: Path) -> None:
    loaded = load(fixtures_dir / TAKEOUT, patient_id="p1")
    assert sorted(name for _, name in loaded.read) == [
        "fitbit_daily_hrv",
        "fitbit_heart_rate",
        "fitbit_hrv_details",
        "fitbit_hrv_summary",
        "fitbit_resting_heart_rate",
        "fitbit_sleep_json",
        "fitbit_sleep_score",
        "fitbit_steps",
        "fitbit_user_sleeps",
    ]
    assert rows_of(loaded.samples) == sorted(EXPECTED)
    assert_frame_equal(
        loaded.samples.sort("start", "metric", "end"),
        frame_of(EXPECTED, source="fitbit").sort("start", "metric", "end"),
    )


def test_takeout_zip_gives_the_same_rows_as_the_folder(fixtures_dir: Path, tmp_path: Path) -> None:
    folder = fixtures_dir / TAKEOUT
    archive = tmp_path / "takeout-20240115T101010Z-001.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                zf.write(path, "Takeout/" + path.relative_to(folder).as_posix())
    # offsets still come from the UserSleeps member of the same zip
    assert rows_of(load(archive.read_bytes(), patient_id="p1").samples) == sorted(EXPECTED)


def test_sleep_asleep_minutes_equal_the_logs_minutes_asleep(fixtures_dir: Path) -> None:
    samples = load(fixtures_dir / TAKEOUT, patient_id="p1").samples
    asleep = samples.filter(pl.col("metric").is_in(ASLEEP))
    main = asleep.filter(pl.col("start") < pl.datetime(2024, 1, 12, 12, time_zone="UTC"))
    assert main["value"].sum() == 427  # minutesAsleep of log 44100000001
    assert asleep["value"].sum() == 427 + 40 + 44


def test_takeout_gives_the_expected_nights(fixtures_dir: Path) -> None:
    samples = load(fixtures_dir / TAKEOUT, patient_id="p1").samples
    # 2024-01-12: main sleep 427 + nap 40; HRV is the mean of the 5-minute windows in the night
    assert_nights_match(build_nights(samples), fixtures_dir / "fitbit/expected_nights.csv")


def test_sleep_json_alone_keeps_local_clock_times_at_offset_zero(fixtures_dir: Path) -> None:
    path = fixtures_dir / TAKEOUT / "Fitbit/Global Export Data/sleep-2024-01-10.json"
    samples = load(path, patient_id="p1").samples
    in_bed = samples.filter(pl.col("metric") == "sleep_in_bed").sort("start")
    assert in_bed.select("start", "utc_offset_min").rows() == [
        (datetime.fromisoformat("2024-01-11T23:00:00+00:00"), 0),
        (datetime.fromisoformat("2024-01-12T14:00:00+00:00"), 0),
    ]
    nights = build_nights(samples)
    assert nights.select("date", "sleep_total_min").rows() == [
        (datetime(2024, 1, 12).date(), 467.0)
    ]


def test_user_sleeps_alone_gives_one_session_per_night(fixtures_dir: Path, tmp_path: Path) -> None:
    source = fixtures_dir / TAKEOUT / "Fitbit/Health Fitness Data_GoogleData"
    shutil.copytree(source, tmp_path / "upload")
    samples = load(tmp_path / "upload", patient_id="p1").samples
    in_bed = samples.filter(pl.col("metric") == "sleep_in_bed").sort("start")
    # the v2 session of each pair: 04:05-11:29 and 20:12-21:02
    assert in_bed["value"].to_list() == [444.0, 50.0]
    asleep = samples.filter(pl.col("metric") == "sleep_asleep")
    assert asleep["value"].sum() == 431 + 44


def test_heart_rate_is_skipped_when_not_wanted(fixtures_dir: Path) -> None:
    path = fixtures_dir / TAKEOUT / "Fitbit/Global Export Data/heart_rate-2024-01-12.json"
    assert load(path, metrics=frozenset({"steps"})).samples.is_empty()


def test_truncated_sleep_json_is_malformed(fixtures_dir: Path) -> None:
    with pytest.raises(MalformedFileError, match=r"sleep-2024-01-10.json, line 9"):
        load(fixtures_dir / "fitbit/broken/sleep-2024-01-10.json")


def test_sleep_log_without_start_names_the_record(fixtures_dir: Path) -> None:
    with pytest.raises(
        MalformedFileError, match=r"record 1 \(logId 44100000012\): missing field 'startTime'"
    ):
        load(fixtures_dir / "fitbit/broken/sleep-2024-02-10.json")


def test_steps_value_that_is_not_a_number_names_the_field(fixtures_dir: Path) -> None:
    with pytest.raises(InvalidValueError, match=r"record 1: field 'value' is 'twelve'"):
        load(fixtures_dir / "fitbit/broken/steps-2024-03-01.json")


def test_heart_rate_bpm_as_text_names_the_record_and_field(fixtures_dir: Path) -> None:
    with pytest.raises(InvalidValueError, match=r"record 1: field 'bpm' is '66'"):
        load(fixtures_dir / "fitbit/broken/heart_rate-2024-01-01.json")


def test_user_sleeps_offset_that_is_not_an_offset_names_the_line(fixtures_dir: Path) -> None:
    with pytest.raises(InvalidValueError, match=r"line 3: column 'start_utc_offset' is 'EST'"):
        load(fixtures_dir / "fitbit/broken/UserSleeps_2024-01-10.csv")


def test_hrv_details_value_that_is_not_a_number_names_the_line(fixtures_dir: Path) -> None:
    with pytest.raises(InvalidValueError, match=r"line 3: column 'rmssd' is 'n/a'"):
        load(fixtures_dir / "fitbit/broken/Heart Rate Variability Details - 2024-01-12.csv")


# -- public samples: figures read from the files themselves ----------------------------------


def test_public_sleep_logs_asleep_minutes_match_minutes_asleep(public_samples: Path) -> None:
    root = public_samples / "fitbit/Arohasina__patina-engraver"
    samples = load(root, patient_id="p").samples
    logs = json.loads((root / "Global Export Data/sleep-2026-03-18.json").read_text())
    assert len(logs) == 13
    for log in logs:
        # the UserSleeps file of the upload gives -04:00
        start = datetime.fromisoformat(log["startTime"]) + timedelta(hours=4)
        end = datetime.fromisoformat(log["endTime"]) + timedelta(hours=4)
        inside = samples.filter(
            pl.col("metric").is_in(ASLEEP),
            pl.col("start") >= pl.lit(start).dt.replace_time_zone("UTC"),
            pl.col("end") <= pl.lit(end).dt.replace_time_zone("UTC"),
        )
        assert abs(inside["value"].sum() - log["minutesAsleep"]) <= 1, log["logId"]
    assert set(samples["utc_offset_min"]) == {-240}


def test_public_2020_sleep_logs_match_within_fitbits_own_rounding(public_samples: Path) -> None:
    path = public_samples / "fitbit/technoshaman001__sleepbiometrics/sleep-2020-05-17.json"
    samples = load(path, patient_id="p").samples  # no UserSleeps: local times at offset 0
    gaps = []
    for log in json.loads(path.read_text()):
        inside = samples.filter(
            pl.col("metric").is_in(ASLEEP),
            pl.col("start") >= datetime.fromisoformat(log["startTime"] + "+00:00"),
            pl.col("end") <= datetime.fromisoformat(log["endTime"] + "+00:00"),
        )
        gaps.append(abs(inside["value"].sum() - log["minutesAsleep"]))
    # log 27330660913: its segments hold 45 deep minutes where its summary says 44
    assert sorted(gaps) == [0.0, 0.0, 0.0, 0.0, 0.0, 0.5, 2.5]


def test_public_hrv_files_give_their_values(public_samples: Path) -> None:
    root = public_samples / "fitbit/Arohasina__patina-engraver"
    hrv = load(root, patient_id="p").samples.filter(pl.col("metric") == "hrv_rmssd")
    daily = hrv.filter(pl.col("end") - pl.col("start") == timedelta(days=1))
    by_day = {
        s.date(): v
        for s, v in daily.select(pl.col("start") - timedelta(hours=4), "value").iter_rows()
    }
    # the "(10)" Summary file holds 2026-04-11 (17.767); the Google file fills the other days
    assert by_day[datetime(2026, 4, 11).date()] == 17.767
    assert by_day[datetime(2026, 4, 6).date()] == 29.2
    assert len(by_day) == 6
    details = hrv.filter(pl.col("end") - pl.col("start") == timedelta(minutes=5))
    assert details.height == 68  # 68 windows, all with coverage >= 0.5
    assert details["value"].max() == 43.752


def test_public_resting_heart_rate_skips_placeholder_days(public_samples: Path) -> None:
    path = (
        public_samples / "fitbit/AnthonyNicholas__innerGalileo/resting_heart_rate-2020-03-09.json"
    )
    records = json.loads(path.read_text())
    real = [r for r in records if r["value"]["date"] is not None]
    samples = load(path, patient_id="p").samples
    assert samples.height == len(real) == 135
    first = samples.sort("start").row(0, named=True)
    assert first["start"].date() == datetime(2020, 3, 10).date()
    assert first["value"] == 65.0


@pytest.mark.parametrize("files", [1, 2])
def test_a_dated_day_without_a_resting_heart_rate_is_counted_as_skipped(
    tmp_path: Path, files: int
) -> None:
    """A day with its date but no value (or a value of null) is no measurement: no row, and
    the upload's report counts it, read alone or with the other months."""
    days = [
        {"dateTime": "03/10/20 00:00:00", "value": {"date": "03/10/20", "value": 61.5}},
        {"dateTime": "03/11/20 00:00:00", "value": {"date": "03/11/20", "value": None}},
        {"dateTime": "03/12/20 00:00:00", "value": {"date": "03/12/20"}},
        {"dateTime": "03/13/20 00:00:00", "value": {"date": "03/13/20", "value": 62.0}},
    ]
    for month in range(files):
        name = f"resting_heart_rate-2020-0{month + 3}-09.json"
        (tmp_path / name).write_text(json.dumps(days if month == 0 else days[:1]))

    loaded = load(tmp_path, patient_id="p")

    assert sorted(loaded.samples["value"].unique().to_list()) == [61.5, 62.0]
    [skipped] = [w for w in loaded.warnings if "resting_heart_rate-2020-03-09" in w.sentence()]
    assert skipped.count == 2
    assert "without a measurement" in skipped.sentence()


def test_public_steps_add_up_to_the_files_total(public_samples: Path) -> None:
    path = public_samples / "fitbit/AnthonyNicholas__innerGalileo/steps-2020-07-07.json"
    total = sum(int(r["value"]) for r in json.loads(path.read_text()))
    samples = load(path, patient_id="p").samples
    assert samples["value"].sum() == total == 121053
    assert samples["start"].min() == datetime.fromisoformat("2020-07-06T14:00:00+00:00")


# -- properties of the short-wake overlay --------------------------------------------------

LEVELS = ["wake", "light", "deep", "rem"]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from(LEVELS), st.integers(1, 60)), min_size=1, max_size=12),
    st.lists(st.tuples(st.integers(0, 1400), st.integers(1, 6)), max_size=6),
)
def test_overlay_tiles_the_log_and_only_short_wakes_remove_sleep(
    data: list[tuple[str, int]], wakes: list[tuple[int, int]]
) -> None:
    origin = datetime(2024, 1, 1, 23)
    segments, cursor = [], origin
    for level, halves in data:  # Fitbit counts in 30-second epochs
        end = cursor + timedelta(seconds=30 * halves)
        segments.append((cursor, end, LEVEL_METRICS[level]))
        cursor = end
    short, last = [], origin
    for gap, halves in wakes:  # short wakes never overlap each other
        start = max(last, origin + timedelta(seconds=30 * gap))
        short.append((start, start + timedelta(seconds=30 * halves), "sleep_awake"))
        last = short[-1][1]
    short = [w for w in short if w[1] <= cursor]
    runs = overlay(segments, short)
    assert runs[0][0] == origin and runs[-1][1] == cursor
    assert all(a[1] == b[0] for a, b in pairwise(runs))  # back to back, no overlap

    def asleep(items: list[tuple[datetime, datetime, str]]) -> float:
        return sum((e - s).total_seconds() for s, e, m in items if m != "sleep_awake")

    def overlap(a: tuple[datetime, datetime, str], b: tuple[datetime, datetime, str]) -> float:
        return max(0.0, (min(a[1], b[1]) - max(a[0], b[0])).total_seconds())

    removed = sum(overlap(w, s) for w in short for s in segments if s[2] != "sleep_awake")
    assert asleep(runs) == asleep(segments) - removed


def test_takeout_duplicate_counter_in_a_file_name_is_still_read(
    fixtures_dir: Path, tmp_path: Path
) -> None:
    source = fixtures_dir / TAKEOUT / "Fitbit/Global Export Data/steps-2024-01-12.json"
    renamed = tmp_path / "steps-2024-01-(10).json"
    shutil.copy(source, renamed)
    assert load(renamed).samples["value"].sum() == 242


def test_monthly_files_of_a_takeout_give_each_files_own_rows_and_skips(
    public_samples: Path, tmp_path: Path
) -> None:
    """A Takeout holds a file a month of each daily series: read together as an upload, each
    gives what it gives read alone, its placeholder days counted against it; a broken month is
    refused by name and the other months still load."""
    source = public_samples / "fitbit/AnthonyNicholas__innerGalileo"
    resting = json.loads((source / "resting_heart_rate-2020-03-09.json").read_text())
    steps = json.loads((source / "steps-2020-07-07.json").read_text())
    folder = tmp_path / "Global Export Data"
    folder.mkdir()
    for month, start in enumerate(range(0, len(resting), 60)):
        name = f"resting_heart_rate-2020-0{month + 3}-09.json"
        (folder / name).write_text(json.dumps(resting[start : start + 60]))
    half = len(steps) // 2
    (folder / "steps-2020-07-06.json").write_text(json.dumps(steps[:half]))
    (folder / "steps-2020-07-07.json").write_text(json.dumps(steps[half:]))

    def alone() -> tuple[pl.DataFrame, list[str]]:
        loads = [load(path, patient_id="p") for path in sorted(folder.iterdir())]
        rows = pl.concat([loaded.samples for loaded in loads])
        return rows.sort(pl.all()), [w.sentence() for loaded in loads for w in loaded.warnings]

    rows, skips = alone()
    together = load(folder, patient_id="p")
    assert_frame_equal(together.samples.sort(pl.all()), rows)
    assert [w.sentence() for w in together.warnings] == skips
    assert len(skips) >= 2  # placeholder days in more than one month

    broken = folder / "resting_heart_rate-2020-09-09.json"
    day = {"date": "9/99/20", "value": 61, "error": 0}
    broken.write_text(json.dumps([{"dateTime": "09/09/20 00:00:00", "value": day}]))
    with_broken = load(folder, patient_id="p")
    assert with_broken.refused == [
        (str(broken), "record 0: field 'date' is '9/99/20', not MM/DD/YY")
    ]
    assert_frame_equal(with_broken.samples.sort(pl.all()), rows)
