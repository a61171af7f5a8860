"""`phenowatch demo --no-serve`: the newcomer's setup, then the tokens it printed at work."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.app import create_app
from api.cli import app
from api.settings import Settings


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    folder = tmp_path_factory.mktemp("demo") / "var-demo"
    result = CliRunner().invoke(
        app, ["demo", "--no-serve", "--dir", str(folder), "--patients", "6", "--days", "120"]
    )
    assert result.exit_code == 0, result.output
    return folder, result.output


def _printed(output: str, label: str) -> str:
    match = re.search(rf"{label}\s*(\S+)", output)
    assert match, f"{label!r} not printed:\n{output}"
    return match.group(1)


def test_demo_prints_where_to_look_and_ready_tokens(demo: tuple[Path, str]) -> None:
    folder, output = demo
    assert "http://127.0.0.1:8000/docs" in output
    assert _printed(output, "coordinator inbox:") == "http://127.0.0.1:8000/inbox"
    assert _printed(output, "one-time sign-in:").startswith(
        "http://127.0.0.1:8000/inbox/sign-in#pwl_"
    )
    report = _printed(output, "replay report:")
    assert report.startswith("file://") and (folder / "replay" / "report.html").is_file()
    assert _printed(output, "coordinator token:").startswith("pw_")
    assert re.search(r"patient sim\d+ token: pw_", output)
    env = (folder / "env.sh").read_text()
    for name in ("PHENOWATCH_URL", "COORDINATOR_TOKEN", "PATIENT_ID", "PATIENT_TOKEN", "TEAM_ID"):
        assert f"export {name}=" in env


def test_demo_tokens_open_the_replayed_data(demo: tuple[Path, str], tmp_path: Path) -> None:
    folder, _ = demo
    env = dict(
        line.removeprefix("export ").split("=", 1)
        for line in (folder / "env.sh").read_text().splitlines()
    )
    settings = Settings(
        database_url=env["PHENOWATCH_DATABASE_URL"],
        run_scheduler=False,
        run_worker=False,
        spool_dir=tmp_path / "spool",
    )
    coordinator = {"Authorization": f"Bearer {env['COORDINATOR_TOKEN']}"}
    patient = {"Authorization": f"Bearer {env['PATIENT_TOKEN']}"}
    with TestClient(create_app(settings)) as client:
        alerts = client.get("/v1/alerts", headers=coordinator, params={"limit": 200})
        assert alerts.status_code == 200
        replayed = (folder / "replay" / "alerts.jsonl").read_text().splitlines()
        # the replay's alerts, and this morning's item-9 answer (a safety alert, and a relapse
        # alert when its total is a reliable rise) on top of the inbox
        assert len(alerts.json()["items"]) - len(replayed) in (1, 2)
        inbox = client.get("/v1/alerts?status=active&sort=urgency", headers=coordinator).json()
        top = inbox["items"][0]
        assert (top["kind"], top["status"], top["escalated_at"] is not None) == (
            "phq9_safety",
            "open",
            True,
        )
        nights = client.get(f"/v1/patients/{env['PATIENT_ID']}/nights", headers=patient)
        assert nights.status_code == 200 and len(nights.json()) > 60
        other = client.get("/v1/patients/sim0001/nights", headers=patient)
        assert env["PATIENT_ID"] == "sim0001" or other.status_code == 404


def test_demo_never_empties_a_folder_that_is_not_its_own(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    result = CliRunner().invoke(app, ["demo", "--no-serve", "--dir", str(tmp_path)])
    assert result.exit_code == 1
    assert "not a phenowatch demo folder" in result.output
    assert (tmp_path / "notes.txt").read_text() == "mine"
