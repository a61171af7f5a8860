"""`phenowatch evaluate-real` on real people: the alert load a care team would carry."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app
from tests.conftest import SHARED

PMDATA = SHARED / "real-data" / "pmdata"


def test_pmdata_alert_load_by_metric_week_and_wellness(tmp_path: Path) -> None:
    if not PMDATA.is_dir():
        pytest.skip(f"PMData not found at {PMDATA} (the shared/ folder is absent)")
    out = tmp_path / "load.md"
    result = CliRunner().invoke(app, ["evaluate-real", str(PMDATA), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "passive alerts" in result.output and "per person-month" in result.output
    report = out.read_text()
    for section in ("Per person", "by metric", "by calendar week", "Calendar effects", "Wellness"):
        assert section in report
    # the holidays moved everyone's sleep later at once: a calendar note, not alerts
    assert "sleep_midpoint_min" in report.split("Calendar effects")[1].split("##")[0]
