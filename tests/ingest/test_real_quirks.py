"""The quirks of real exports, each in a small file of our own: a record is skipped and reported,
never the file; a broken file is refused by name, never its siblings."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from ingest import build_nights, load
from ingest.errors import NothingReadError

MERGED = "fitbit/merged"
GARMIN = "garmin/placeholder/DI_CONNECT"


def _night(nights: pl.DataFrame, day: str) -> dict[str, object]:
    return nights.filter(pl.col("date") == date.fromisoformat(day)).row(0, named=True)


def test_the_unknown_segment_of_the_night_the_clocks_change_is_a_gap(fixtures_dir: Path) -> None:
    loaded = load(fixtures_dir / MERGED / "sleep.json")
    nights = build_nights(loaded.samples)
    # 90 + 45 + 30 + 150 minutes asleep; the unclassified hour is neither sleep nor awake
    assert _night(nights, "2020-03-29")["sleep_total_min"] == 315.0
    [warning] = loaded.warnings
    assert warning.kind == "record_skipped" and warning.count == 1
    assert warning.file.endswith("sleep.json")
    assert "'unknown'" in warning.reason
    assert "logId 30000000002" in (warning.record or "")


def test_a_merged_research_copy_is_read_by_content(fixtures_dir: Path) -> None:
    loaded = load(fixtures_dir / MERGED)
    assert sorted(fmt for _, fmt in loaded.read) == [
        "fitbit_resting_heart_rate",
        "fitbit_sleep_json",
        "fitbit_steps",
    ]
    nights = build_nights(loaded.samples)
    assert nights["resting_hr_bpm"].to_list() == [54.5, 55.25, 53.0]
    assert nights["steps"].to_list() == [500.0, 120.0, 1000.0]
    # the log written twice counts once
    assert _night(nights, "2020-03-30")["sleep_total_min"] == 360.0
    skipped = {w.reason: w for w in loaded.warnings}
    placeholder = skipped["a day without a measurement (no date, or a value of 0 or none)"]
    assert placeholder.file.endswith("resting_heart_rate.json")
    assert placeholder.record == "record 0 (2020-03-27 00:00:00)"


def test_a_garmin_placeholder_is_skipped_and_named(fixtures_dir: Path) -> None:
    loaded = load(fixtures_dir / GARMIN)
    nights = build_nights(loaded.samples)
    assert nights.filter("has_sleep")["date"].to_list() == [date(2024, 3, 2), date(2024, 3, 4)]
    [warning] = loaded.warnings
    assert (warning.record, warning.reason) == (
        "record 1",
        "a placeholder without calendarDate or sleep times",
    )
    assert warning.file.endswith("_sleepData.json")


def test_a_broken_file_is_refused_by_name_and_its_siblings_still_load(
    fixtures_dir: Path, tmp_path: Path
) -> None:
    shutil.copytree(fixtures_dir / MERGED, tmp_path / "p01")
    (tmp_path / "p01" / "steps.json").write_text('[{"dateTime": "2020-03-28 09:00:00", "va')
    loaded = load(tmp_path / "p01")
    assert {fmt for _, fmt in loaded.read} == {"fitbit_sleep_json", "fitbit_resting_heart_rate"}
    [(name, error)] = loaded.refused
    assert name.endswith("p01/steps.json") and "not valid JSON" in error
    assert "steps" not in loaded.samples["metric"].to_list()
    assert any(w.kind == "file_refused" and w.file == name for w in loaded.warnings)


def test_nothing_read_names_every_file_seen(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    (tmp_path / "sleep-2024-01-01.json").write_text('[{"logId": 1, "dateOfSleep": ')
    with pytest.raises(NothingReadError) as refused:
        load(tmp_path)
    assert "notes.txt (no known format)" in str(refused.value)
    assert "refused" in str(refused.value) and "sleep-2024-01-01.json" in str(refused.value)


USER_SLEEPS_HEADER = (
    "sleep_id,sleep_type,minutes_in_sleep_period,minutes_after_wake_up,minutes_to_fall_asleep,"
    "minutes_asleep,minutes_awake,minutes_longest_awakening,minutes_to_persistent_sleep,"
    "start_utc_offset,sleep_start,end_utc_offset,sleep_end,data_source,algorithm_version,"
    "sleep_created,sleep_last_updated\n"
)


def test_one_sleep_in_the_json_and_in_user_sleeps_counts_once(
    fixtures_dir: Path, tmp_path: Path
) -> None:
    shutil.copy(fixtures_dir / MERGED / "sleep.json", tmp_path / "sleep.json")
    (tmp_path / "UserSleeps_2020-03-27.csv").write_text(
        USER_SLEEPS_HEADER
        # the night of 2020-03-28 again (local 23:30-06:00 at +01:00), with its own total
        + "1,STAGES,390,0,0,300,90,0,0,+01:00,2020-03-27 22:30:00+0000,+01:00,"
        "2020-03-28 05:00:00+0000,DERIVED,sleep_session_v2,,2020-03-28 05:10:00+0000\n"
        # a short session of those days that Fitbit's own JSON does not list
         + "2,CLASSIC,45,0,0,45,0,0,0,+01:00,2020-03-28 20:00:00+0000,+01:00,"
        "2020-03-28 20:45:00+0000,DERIVED,sleep_session_v2,,2020-03-28 20:50:00+0000\n"
        # a nap after the last JSON day: only UserSleeps has it
         + "3,CLASSIC,40,0,0,35,5,0,0,+01:00,2020-03-31 12:00:00+0000,+01:00,"
        "2020-03-31 12:40:00+0000,DERIVED,sleep_session_v2,,2020-03-31 12:50:00+0000\n"
    )
    nights = build_nights(load(tmp_path).samples)
    totals = dict(nights.select("date", "sleep_total_min").drop_nulls().iter_rows())
    # minutesAsleep of the JSON logs (the duplicated log once), then the UserSleeps nap
    assert totals == {
        date(2020, 3, 28): 270.0,
        date(2020, 3, 29): 315.0,
        date(2020, 3, 30): 360.0,
        date(2020, 3, 31): 35.0,
    }


def test_the_vendors_date_and_total_win_over_the_periods(fixtures_dir: Path) -> None:
    """A nap that ends 40 minutes before the main sleep begins is its own Fitbit log with its
    own dateOfSleep, though the period rule would join it to the night."""
    nap = {
        "logId": 2,
        "dateOfSleep": "2020-03-27",
        "startTime": "2020-03-27T22:00:00.000",
        "endTime": "2020-03-27T22:50:00.000",
        "minutesAsleep": 44,
        "minutesAwake": 6,
        "type": "classic",
        "mainSleep": False,
        "levels": {
            "data": [
                {"dateTime": "2020-03-27T22:00:00.000", "level": "awake", "seconds": 360},
                {"dateTime": "2020-03-27T22:06:00.000", "level": "asleep", "seconds": 2640},
            ]
        },
    }
    logs = json.loads((fixtures_dir / MERGED / "sleep.json").read_text())
    loaded = load(json.dumps([nap, logs[0]]).encode(), display="sleep.json")
    nights = build_nights(loaded.samples)
    totals = dict(nights.select("date", "sleep_total_min").drop_nulls().iter_rows())
    assert totals == {date(2020, 3, 27): 44.0, date(2020, 3, 28): 270.0}
    assert _night(nights, "2020-03-28")["sleep_main_min"] == 270.0
