"""A small simulated cohort through the whole pipeline: vendor files → ingest → nights →
detection → evaluation, and through the two commands a researcher runs."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from api.cli import app
from detect import detect_range
from detect.evaluation import evaluate, observation_period
from ingest.cohort_folder import read_cohort
from ingest.formats import apple_health, fitbit, garmin, oura
from simulate import Cohort, simulate_cohort
from simulate.writers.cohort_folder import write_cohort

PARSERS = {"apple_health": apple_health, "fitbit": fitbit, "oura": oura, "garmin": garmin}


@pytest.fixture(scope="module")
def cohort_on_disk(tmp_path_factory: pytest.TempPathFactory) -> tuple[Cohort, Path]:
    missing = [vendor for vendor, module in PARSERS.items() if not module.FORMATS]
    if missing:
        pytest.skip(f"no parser yet for {', '.join(missing)}")
    cohort = simulate_cohort(6, 120, seed=3)  # vendors in turn: every vendor at least once
    out = tmp_path_factory.mktemp("e2e")
    write_cohort(cohort, out)
    return cohort, out


def test_relapses_are_alerted_by_their_confirming_phq9_at_the_latest(
    cohort_on_disk: tuple[Cohort, Path],
) -> None:
    cohort, out = cohort_on_disk
    assert set(cohort.patients["vendor"]) == set(PARSERS)
    frames = read_cohort(out)
    nights, phq9 = frames.nights, frames.phq9
    assert frames.failures == ()
    assert sorted(nights["patient_id"].unique()) == cohort.patient_ids
    signals = detect_range(nights, phq9, cohort.start, nights["date"].max())
    ev = evaluate(signals, cohort.labels, phq9, observation_period(nights))
    assert ev.relapses == 3
    assert ev.confirmed >= 2
    # every confirmed relapse raised an alert between 28 days before onset and confirmation
    assert ev.caught_any == ev.confirmed
    caught = ev.per_relapse.filter(pl.col("confirmed_on").is_not_null())
    assert (caught["first_alert_any"] <= caught["confirmed_on"]).all()


def test_simulate_then_evaluate_from_the_command_line(tmp_path: Path) -> None:
    runner = CliRunner()
    folder = tmp_path / "cohort"
    made = runner.invoke(
        app, ["simulate", "--patients", "4", "--days", "120", "--seed", "9", "--out", str(folder)]
    )
    assert made.exit_code == 0, made.output
    assert "wrote 4 patients x 120 days (seed 9, 2 relapsing" in made.output
    assert (folder / "labels.csv").read_text().startswith("patient_id,relapse_onset\n")
    (folder / "p-broken").mkdir()  # a folder whose only file cannot be read is reported
    (folder / "p-broken" / "export.xml").write_text("<HealthData><Record")
    report = tmp_path / "report.md"
    judged = runner.invoke(app, ["evaluate", "--cohort", str(folder), "--out", str(report)])
    assert judged.exit_code == 0, judged.output
    assert "sensitivity" in judged.output
    text = report.read_text()
    assert "| sensitivity (any alert kind) |" in text
    assert "### Truth nights against files through ingest" in text
    assert "Left out (not read):\n\n- p-broken: " in text


def test_evaluate_refuses_a_folder_it_did_not_write(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["evaluate", "--cohort", str(tmp_path), "--out", str(tmp_path / "r.md")]
    )
    assert result.exit_code != 0
    assert "simulation.json" in result.output
