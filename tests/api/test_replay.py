"""`phenowatch replay`: a cohort folder fed day by day through the service, simulated clock."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from api.cli import app
from api.replay import ReplayResult, replay_cohort
from api.replay.outputs import ALERT_FIELDS, read_alerts_jsonl
from ingest import build_nights, load
from ingest.nights import NIGHTS_METRICS
from tests.api.replay_cohort import write_garmin_cohort

PATIENTS, DAYS, SEED = 4, 150, 11


@pytest.fixture(scope="module")
def cohort(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_garmin_cohort(
        tmp_path_factory.mktemp("cohort"), patients=PATIENTS, days=DAYS, seed=SEED
    )


@pytest.fixture(scope="module")
def replayed(cohort: Path, tmp_path_factory: pytest.TempPathFactory) -> ReplayResult:
    return replay_cohort(cohort, tmp_path_factory.mktemp("out"))


def test_replay_writes_alerts_nights_and_report(replayed: ReplayResult) -> None:
    out = replayed.out
    assert {p.name for p in out.iterdir()} >= {"alerts.jsonl", "nights.csv", "report.html"}
    lines = [json.loads(line) for line in (out / "alerts.jsonl").read_text().splitlines()]
    assert len(lines) == replayed.alerts.height > 0
    assert all(tuple(line) == ALERT_FIELDS for line in lines)
    assert {line["kind"] for line in lines} <= {
        "phq9_safety",
        "phq9_relapse",
        "passive_change",
        "data_gap",
    }
    assert all(line["window_start"] <= line["window_end"] <= line["fired_on"] for line in lines)
    html = (out / "report.html").read_text()
    assert f"<b>{PATIENTS}</b><span>patients</span>" in html
    assert "sensitivity before PHQ-9 confirmation" in html


def test_nights_csv_holds_what_ingest_reads_from_the_folders(
    cohort: Path, replayed: ReplayResult
) -> None:
    written = pl.read_csv(replayed.out / "nights.csv", try_parse_dates=True)
    for folder in sorted(p for p in cohort.iterdir() if p.is_dir()):
        loaded = load(folder, patient_id=folder.name, metrics=NIGHTS_METRICS)
        expected = build_nights(loaded.samples)
        mine = written.filter(pl.col("patient_id") == folder.name)
        assert mine["date"].to_list() == expected["date"].to_list()
        assert mine["sleep_total_min"].to_list() == expected["sleep_total_min"].to_list()
        assert mine["steps"].to_list() == expected["steps"].to_list()


def test_summary_counts_patients_nights_alerts_and_sensitivity(replayed: ReplayResult) -> None:
    summary = replayed.summary()
    assert summary.startswith(f"{PATIENTS} patients; {replayed.nights.height} nights; {DAYS} days")
    for kind, n in replayed.alerts_by_kind().items():
        assert f"{kind} {n}" in summary
    assert "0 failed folders" in summary
    assert "sensitivity " in summary


def test_same_cohort_gives_byte_identical_alerts(
    cohort: Path, replayed: ReplayResult, tmp_path: Path
) -> None:
    again = replay_cohort(cohort, tmp_path / "again")
    first = (replayed.out / "alerts.jsonl").read_bytes()
    assert first and (again.out / "alerts.jsonl").read_bytes() == first
    assert (again.out / "nights.csv").read_bytes() == (replayed.out / "nights.csv").read_bytes()
    assert (again.out / "report.html").read_bytes() == (replayed.out / "report.html").read_bytes()


def test_alerts_jsonl_reads_back_as_the_alerts_frame(replayed: ReplayResult) -> None:
    frame = read_alerts_jsonl(replayed.out / "alerts.jsonl")
    assert frame.equals(replayed.alerts)


def test_a_corrupt_file_is_reported_and_the_patient_still_replayed(
    cohort: Path, tmp_path: Path
) -> None:
    broken = tmp_path / "cohort"
    shutil.copytree(cohort, broken)
    sleep_file = next((broken / "sim0002").rglob("*_sleepData.json"))
    sleep_file.write_text(sleep_file.read_text()[:500])  # truncated mid-record
    result = CliRunner().invoke(app, ["replay", str(broken), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert f"left out: sim0002: refused {sleep_file}: line" in result.output
    assert f"{PATIENTS} patients" in result.output
    assert "0 failed folders" in result.output
    html = (tmp_path / "out" / "report.html").read_text()
    assert "Files and records left out" in html
    assert sleep_file.name in html
    nights = pl.read_csv(tmp_path / "out" / "nights.csv")
    # the patient's other files still count (the UDS file's steps), though no sleep is left
    assert nights.filter(pl.col("patient_id") == "sim0002")["steps"].drop_nulls().len() > 0


def test_a_folder_with_nothing_readable_is_reported_and_the_others_go_on(
    cohort: Path, tmp_path: Path
) -> None:
    broken = tmp_path / "cohort"
    shutil.copytree(cohort, broken)
    for path in (broken / "sim0002").rglob("*.json"):
        path.write_text(path.read_text()[:200])
    for path in (broken / "sim0002").rglob("*.csv"):
        path.write_text("nothing,phenowatch,reads\n")
    result = CliRunner().invoke(app, ["replay", str(broken), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "failed: sim0002:" in result.output
    assert "1 failed folders" in result.output
    assert "stages: read " in result.output and "peak memory" in result.output
    html = (tmp_path / "out" / "report.html").read_text()
    assert "Folders that could not be read" in html
    assert "_sleepData.json" in html
    alerts = read_alerts_jsonl(tmp_path / "out" / "alerts.jsonl")
    assert "sim0002" not in alerts["patient_id"].to_list()
    assert alerts.height > 0


def test_from_and_to_limit_the_days_judged(cohort: Path, tmp_path: Path) -> None:
    start, end = date(2025, 3, 1), date(2025, 4, 15)
    result = replay_cohort(cohort, tmp_path / "out", start=start, end=end)
    assert result.days[0] == start and result.days[-1] == end
    assert result.alerts["fired_on"].is_between(start, end).all()
    # nights before --from are stored as history; nothing after --to is
    assert result.nights["date"].max() == end
    assert result.nights["date"].min() < start


def test_a_missing_cohort_folder_is_an_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["replay", str(tmp_path / "nope"), "--out", str(tmp_path)])
    assert result.exit_code == 1
    assert "not a folder" in result.output


def test_every_vendor_folder_of_a_simulated_cohort_is_read(tmp_path: Path) -> None:
    from ingest.cohort_folder import read_cohort
    from simulate import simulate_cohort
    from simulate.writers.cohort_folder import write_cohort

    cohort = simulate_cohort(4, 40, seed=2)  # one patient per vendor, Apple Health as export.zip
    write_cohort(cohort, tmp_path / "cohort")
    (tmp_path / "cohort" / cohort.patient_ids[0] / "notes.txt").write_text("not an export")
    frames = read_cohort(tmp_path / "cohort")
    assert frames.failures == ()
    with_nights = set(frames.nights.filter(pl.col("has_sleep"))["patient_id"].to_list())
    assert with_nights == set(cohort.patient_ids)
    assert set(cohort.patients["vendor"]) == {"apple_health", "fitbit", "garmin", "oura"}


def test_the_care_team_resolves_each_alert_a_week_after_it_first_fired(
    replayed: ReplayResult,
) -> None:
    from datetime import timedelta

    from sqlalchemy import select

    from api.db import make_engine
    from api.replay.care_team import CARE_TEAM_EMAIL, resolution_note
    from api.store import Alert, AlertEvent, User

    engine = make_engine(replayed.database_url)
    try:
        with engine.connect() as connection:
            alerts = connection.execute(select(Alert)).all()
            resolutions = connection.execute(
                select(AlertEvent).where(AlertEvent.event == "resolved")
            ).all()
            care_team = connection.scalar(select(User.id).where(User.email == CARE_TEAM_EMAIL))
    finally:
        engine.dispose()
    last = replayed.days[-1]
    assert replayed.resolve_after == 7
    assert "alerts resolved 7 days after they first fired" in replayed.summary()
    for alert in alerts:
        if alert.fired_on <= last - timedelta(days=7):
            assert alert.status == "resolved"
            assert alert.resolved_at.date() == alert.fired_on + timedelta(days=7)
        else:
            assert alert.status == "open"
    assert len(resolutions) == sum(a.status == "resolved" for a in alerts) > 0
    assert {(e.actor, e.note) for e in resolutions} == {(f"user:{care_team}", resolution_note(7))}
    assert replayed.alerts.select("patient_id", "kind").is_duplicated().any()


def test_with_no_resolve_alerts_stay_open_one_per_patient_and_kind(
    cohort: Path, tmp_path: Path
) -> None:
    from api.commands.replay import DEFAULT_RESOLVE_AFTER
    from api.replay.care_team import DEFAULT_RESOLVE_AFTER as POLICY_DEFAULT

    assert DEFAULT_RESOLVE_AFTER == POLICY_DEFAULT
    for flags in (["--no-resolve"], ["--resolve-after", "0"]):
        out = tmp_path / flags[0]
        result = CliRunner().invoke(app, ["replay", str(cohort), "--out", str(out), *flags])
        assert result.exit_code == 0, result.output
        assert "alerts resolved never (nobody answers them)" in result.output
        alerts = read_alerts_jsonl(out / "alerts.jsonl")
        assert alerts.height > 0
        assert not alerts.select("patient_id", "kind").is_duplicated().any()
        assert "Nobody acknowledged or resolved an alert" in (out / "report.html").read_text()
