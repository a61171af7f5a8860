"""Real Fitbit data (PMData, ../shared/real-data/pmdata, files exactly as published) is read
whole and agrees with Fitbit's own figures in the same files."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import polars as pl
import pytest

from ingest import Loaded, build_nights, load


@pytest.fixture(scope="module")
def people(pmdata_dir: Path) -> dict[str, tuple[Loaded, pl.DataFrame]]:
    out = {}
    for folder in sorted(p for p in pmdata_dir.iterdir() if p.is_dir()):
        loaded = load(folder, patient_id=folder.name)
        out[folder.name] = (loaded, build_nights(loaded.samples))
    return out


def test_every_person_and_every_fitbit_file_loads(
    people: dict[str, tuple[Loaded, pl.DataFrame]],
) -> None:
    assert len(people) == 8
    for name, (loaded, nights) in people.items():
        assert loaded.refused == [], name
        # the only file left unread is the PMSys questionnaire (not a wearable export)
        assert [Path(p).name for p in loaded.skipped] == ["wellness.csv"], name
        assert nights.height > 140, name


def test_the_unknown_segment_of_the_clock_change_is_skipped_and_reported(
    people: dict[str, tuple[Loaded, pl.DataFrame]],
) -> None:
    hit = {
        name
        for name, (loaded, _) in people.items()
        for warning in loaded.warnings
        if "'unknown'" in warning.reason and "2020-03-29" in (warning.record or "")
    }
    assert hit == {"p01", "p03", "p04", "p05", "p06", "p08"}


def test_resting_heart_rate_is_fitbits_value(
    people: dict[str, tuple[Loaded, pl.DataFrame]], pmdata_dir: Path
) -> None:
    for name, (_, nights) in people.items():
        days = json.loads((pmdata_dir / name / "fitbit" / "resting_heart_rate.json").read_text())
        expected = {
            datetime.strptime(d["value"]["date"], "%m/%d/%y").date(): d["value"]["value"]
            for d in days
            if d["value"]["date"] and d["value"]["value"] > 0
        }
        got = dict(nights.select("date", "resting_hr_bpm").drop_nulls().iter_rows())
        assert got == pytest.approx(expected), name


def test_steps_are_the_minute_sums(
    people: dict[str, tuple[Loaded, pl.DataFrame]], pmdata_dir: Path
) -> None:
    minutes = json.loads((pmdata_dir / "p03" / "fitbit" / "steps.json").read_text())
    expected: dict[date, float] = {}
    for minute in minutes:
        day = date.fromisoformat(minute["dateTime"][:10])
        expected[day] = expected.get(day, 0.0) + float(minute["value"])
    got = dict(people["p03"][1].select("date", "steps").drop_nulls().iter_rows())
    assert got == expected


def test_sleep_is_fitbits_minutes_asleep_per_date_of_sleep(
    people: dict[str, tuple[Loaded, pl.DataFrame]], pmdata_dir: Path
) -> None:
    agree = dates = 0
    for name, (_, nights) in people.items():
        logs = json.loads((pmdata_dir / name / "fitbit" / "sleep.json").read_text())
        unique = {log["logId"]: log for log in logs}.values()  # PMData repeats some logs
        expected: dict[date, float] = {}
        for log in unique:
            day = date.fromisoformat(log["dateOfSleep"])
            expected[day] = expected.get(day, 0.0) + log["minutesAsleep"]
        got = dict(nights.select("date", "sleep_total_min").drop_nulls().iter_rows())
        agree += sum(abs(got.get(day, -1e9) - minutes) <= 1 for day, minutes in expected.items())
        dates += len(expected)
        assert set(got) == set(expected), name  # no sleep on a date Fitbit has none
    assert dates > 1000
    assert agree / dates >= 0.99
