"""`phenowatch serve` takes PHENOWATCH_RUN_WORKER / PHENOWATCH_RUN_SCHEDULER from the
environment unless a flag is given, and a start-up failure prints its cause in a line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from api.cli import app as cli
from api.settings import Settings


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[Settings]:
    """Stands in for uvicorn: records the settings of the app it would have served."""
    import uvicorn

    monkeypatch.setenv("PHENOWATCH_DATABASE_URL", f"sqlite:///{tmp_path / 'pw.sqlite'}")
    monkeypatch.setenv("PHENOWATCH_SPOOL_DIR", str(tmp_path / "spool"))
    seen: list[Settings] = []

    def run(app: Any, **_: object) -> None:
        seen.append(app.state.settings)

    monkeypatch.setattr(uvicorn, "run", run)
    return seen


def test_the_environment_decides_unless_a_flag_is_given(
    served: list[Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PHENOWATCH_RUN_WORKER", "false")
    monkeypatch.setenv("PHENOWATCH_RUN_SCHEDULER", "false")
    assert CliRunner().invoke(cli, ["serve"]).exit_code == 0
    assert CliRunner().invoke(cli, ["serve", "--workers", "--scheduler"]).exit_code == 0
    assert [(s.run_worker, s.run_scheduler) for s in served] == [(False, False), (True, True)]


@pytest.mark.parametrize(
    ("variable", "value", "cause"),
    [
        ("PHENOWATCH_BOOTSTRAP_ADMIN_TOKEN", "changeme", "PHENOWATCH_BOOTSTRAP_ADMIN_TOKEN"),
        ("PHENOWATCH_DATABASE_URL", "postgresql+psycopg://pw@127.0.0.1:9/x", "does not answer"),
    ],
)
def test_a_start_up_failure_prints_its_cause_in_a_line_or_two(
    served: list[Settings], monkeypatch: pytest.MonkeyPatch, variable: str, value: str, cause: str
) -> None:
    monkeypatch.setenv(variable, value)
    result = CliRunner().invoke(cli, ["serve"])
    assert result.exit_code == 1
    assert not served
    message = result.output.strip().splitlines()
    assert message[-1].startswith("phenowatch serve: cannot start:") and cause in message[-1]
    assert len(message) <= 2 and "Traceback" not in result.output
    assert "changeme" not in result.output  # a secret, even a bad one, is not echoed
