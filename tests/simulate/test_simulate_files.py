"""The simulated exports load through ingest/ like real ones, and the nights rebuilt from them
are the truth nights the simulator holds (within rounding)."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

import ingest
from ingest.formats import apple_health, fitbit, garmin, oura
from ingest.nights import build_nights
from simulate import Cohort, simulate_cohort
from simulate.writers.cohort_folder import write_cohort

PARSERS = {"apple_health": apple_health, "fitbit": fitbit, "oura": oura, "garmin": garmin}
#: (column, tolerance): the vendors round to whole minutes, whole bpm and 1 ms at worst
COMPARED = (
    ("sleep_total_min", 0.5),
    ("sleep_main_min", 0.5),
    ("sleep_onset_min", 0.5),
    ("sleep_midpoint_min", 0.5),
    ("sleep_efficiency", 0.005),
    ("hrv_sdnn_ms", 0.05),
    ("hrv_rmssd_ms", 0.5),
    ("resting_hr_bpm", 0.5),
    ("steps", 0.5),
)


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> tuple[Cohort, Path]:
    cohort = simulate_cohort(4, 150, seed=5)  # one patient per vendor
    out = tmp_path_factory.mktemp("cohort")
    write_cohort(cohort, out)
    return cohort, out


def rebuilt(folder: Path, patient_id: str) -> ingest.Loaded:
    # every entry on its own: a zip inside a folder is not opened by ingest.load(folder)
    return ingest.load(sorted(folder.iterdir()), patient_id=patient_id)


def test_cohort_folder_layout(written: tuple[Cohort, Path]) -> None:
    cohort, out = written
    labels = pl.read_csv(out / "labels.csv", try_parse_dates=True)
    assert labels["patient_id"].to_list() == cohort.patient_ids
    assert labels["relapse_onset"].to_list() == cohort.labels["relapse_onset"].to_list()
    assert (out / "sim0001" / "export.zip").is_file()
    assert (out / "sim0002" / "Fitbit" / "Global Export Data").is_dir()
    assert (out / "sim0003" / "oura" / "oura_data.json").is_file()
    assert (out / "sim0004" / "DI_CONNECT" / "DI-Connect-Wellness").is_dir()


@pytest.mark.parametrize("vendor", ["apple_health", "fitbit", "oura", "garmin"])
def test_nights_rebuilt_from_the_files_match_the_truth(
    written: tuple[Cohort, Path], vendor: str
) -> None:
    if not PARSERS[vendor].FORMATS:
        pytest.skip(f"ingest/formats/{vendor}.py reads nothing yet")
    cohort, out = written
    pid = cohort.patients.filter(pl.col("vendor") == vendor)["patient_id"][0]
    used = cohort.days_frame.filter(pl.col("patient_id") == pid, pl.col("vendor") == vendor)
    truth = cohort.nights.join(used.select("patient_id", "date"), on=["patient_id", "date"])
    got = build_nights(rebuilt(out / pid, pid).samples)
    both = truth.join(got, on=["patient_id", "date"], how="left", suffix="_got")
    slept = both.filter(pl.col("has_sleep"))
    assert slept["has_sleep_got"].fill_null(False).mean() >= 0.98
    for column, tolerance in COMPARED:
        pair = both.select(column, f"{column}_got").drop_nulls(column)
        if pair.height == 0:
            continue
        close = ((pair[column] - pair[f"{column}_got"]).abs() <= tolerance).fill_null(False)
        # a few nights may differ: Garmin and Fitbit place some times by a neighbouring day's
        # offset, so a night on a daylight-saving change or a flight can move by an hour
        assert close.mean() >= 0.97, f"{column}: {close.mean():.1%} of nights match"
    # a night without data is missing in the files too, never a zero
    missing = both.filter(~pl.col("has_sleep"))
    assert (missing["sleep_total_min_got"].fill_null(0) == 0).mean() >= 0.9


def test_phq9_answers_round_trip(written: tuple[Cohort, Path]) -> None:
    cohort, out = written
    for pid in cohort.patient_ids:
        loaded = rebuilt(out / pid, pid).phq9.sort("answered_at")
        truth = cohort.phq9.filter(pl.col("patient_id") == pid).sort("answered_at")
        assert loaded["answered_at"].to_list() == truth["answered_at"].to_list()
        assert loaded["total"].to_list() == truth["total"].to_list()
        assert loaded["item_9"].to_list() == truth["item_9"].to_list()


def test_writing_is_deterministic(written: tuple[Cohort, Path], tmp_path: Path) -> None:
    _, out = written
    again = simulate_cohort(4, 150, seed=5)
    write_cohort(again, tmp_path)
    for name in ("sim0002/Fitbit/Global Export Data/sleep-2025-01-06.json", "sim0003/phq9.csv"):
        assert (tmp_path / name).read_bytes() == (out / name).read_bytes()
