"""`phenowatch nights` run as a user runs it, on real-format export files."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import polars as pl
from typer.testing import CliRunner

from api.cli import app
from ingest.schema import NIGHTS

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
APPLE = FIXTURES / "nights" / "apple_export.xml"
runner = CliRunner()


def test_writes_the_nights_csv_and_a_one_line_summary(tmp_path: Path) -> None:
    out = tmp_path / "nights.csv"
    result = runner.invoke(app, ["nights", str(APPLE), "--patient", "anna", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == (
        f"wrote 4 nights (2 with sleep) for 1 patient, 2024-03-30 to 2024-04-02, "
        f"sleep from apple_health to {out}"
    )
    nights = pl.read_csv(out, try_parse_dates=True)
    assert nights.columns == list(NIGHTS)
    assert nights["date"].to_list() == [date(2024, 3, d) for d in (30, 31)] + [
        date(2024, 4, 1),
        date(2024, 4, 2),
    ]
    first = nights.row(0, named=True)
    # watch stages beat the phone's estimate; the 20-minute awake spell is not sleep
    assert first["sleep_total_min"] == 430
    assert first["sleep_efficiency"] == 430 / 495
    assert first["hrv_sdnn_ms"] == 45 and first["resting_hr_bpm"] == 58
    assert first["steps"] == 3200 + 500  # the watch's 10:00 walk once, the phone's evening too
    across_dst = nights.row(1, named=True)
    assert across_dst["sleep_total_min"] == 360 and across_dst["utc_offset_min"] == 120
    gap = nights.row(2, named=True)
    assert gap["has_sleep"] is False and gap["sleep_total_min"] is None


def test_parquet_keeps_the_exact_schema(tmp_path: Path) -> None:
    out = tmp_path / "nights.parquet"
    result = runner.invoke(app, ["nights", str(APPLE), "-p", "anna", "-o", str(out)])
    assert result.exit_code == 0, result.output
    nights = pl.read_parquet(out)
    assert nights.schema == pl.Schema(NIGHTS)
    assert nights.height == 4


def test_a_folder_is_read_and_unknown_files_are_skipped(tmp_path: Path) -> None:
    upload = tmp_path / "upload"
    upload.mkdir()
    shutil.copy(APPLE, upload / "export.xml")
    (upload / "notes.txt").write_text("slept badly on Sunday\n")
    out = tmp_path / "nights.csv"
    result = runner.invoke(app, ["nights", str(upload), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "skipped 1 file of no known format" in result.stdout
    assert f"not read: {upload}/notes.txt (no known format)" in result.stdout
    assert pl.read_csv(out).height == 4


def test_a_broken_file_and_skipped_records_are_named_and_the_rest_written(
    tmp_path: Path,
) -> None:
    upload = tmp_path / "p01"
    shutil.copytree(FIXTURES / "fitbit" / "merged", upload)
    (upload / "steps.json").write_text('[{"dateTime": "2020-03-28 09:00:00", "va')
    out = tmp_path / "nights.csv"
    result = runner.invoke(app, ["nights", str(upload), "--out", str(out)])
    assert result.exit_code == 0, result.output
    first, *lines = result.stdout.strip().splitlines()
    assert first.endswith("; refused 1 broken file; skipped 2 records")
    assert lines[0].startswith(f"  refused {upload}/steps.json: line 1 column")
    assert any(
        line.startswith(f"  {upload}/sleep.json: skipped 1 record (sleep level 'unknown'")
        for line in lines
    )
    assert pl.read_csv(out)["resting_hr_bpm"].to_list() == [54.5, 55.25, 53.0]


def test_a_bad_file_prints_one_line_naming_it_and_exits_1(tmp_path: Path) -> None:
    bad = tmp_path / "export.xml"
    bad.write_text(APPLE.read_text()[:-200])  # cut off mid-record
    out = tmp_path / "nights.csv"
    result = runner.invoke(app, ["nights", str(bad), "--out", str(out)])
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {bad}")
    assert "Traceback" not in result.output
    assert not out.exists()


def test_an_unknown_file_is_an_error_and_a_wrong_extension_a_usage_error(tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("hello\n")
    result = runner.invoke(app, ["nights", str(notes), "--out", str(tmp_path / "n.csv")])
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: {notes}: not an export phenowatch reads")
    result = runner.invoke(app, ["nights", str(APPLE), "--out", str(tmp_path / "n.xlsx")])
    assert result.exit_code == 2
    assert ".csv or .parquet" in result.output


def test_phq9_files_alone_give_an_empty_table(tmp_path: Path) -> None:
    out = tmp_path / "nights.csv"
    phq = FIXTURES / "phq9" / "entries.json"
    result = runner.invoke(app, ["nights", str(phq), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "wrote 0 nights" in result.stdout
    assert pl.read_csv(out).columns == list(NIGHTS)


def test_a_zip_inside_a_folder_is_read(tmp_path: Path) -> None:
    upload = tmp_path / "upload"
    upload.mkdir()
    shutil.copy(FIXTURES / "apple_health" / "export.zip", upload / "export.zip")
    out = tmp_path / "nights.csv"
    result = runner.invoke(app, ["nights", str(upload), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "sleep from apple_health" in result.stdout
    assert f"not read: {upload}/export.zip!apple_health_export/export_cda.xml" in result.stdout
