"""`phenowatch serve --processes N`: N request processes, and the scheduler, the upload worker,
migrations and the bootstrap token handled once, by the supervising process."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from sqlalchemy import inspect, select
from typer.testing import CliRunner

from api.cli import app as cli
from api.db import make_engine, make_session_factory
from api.scheduler import Scheduler
from api.settings import Settings
from api.store import ApiToken


def test_the_supervisor_runs_the_background_work_once_and_the_request_processes_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'pw.sqlite'}"
    secret = "bootstrap-" + "x7Qm2Lp9" * 4
    env = {
        "PHENOWATCH_DATABASE_URL": url,
        "PHENOWATCH_SPOOL_DIR": str(tmp_path / "spool"),
        "PHENOWATCH_BOOTSTRAP_ADMIN_TOKEN": secret,
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    started: list[Scheduler] = []
    monkeypatch.setattr(Scheduler, "start", lambda self: started.append(self))
    seen: dict[str, Any] = {}

    def run(app: object, **options: Any) -> None:
        """Stands in for uvicorn's supervisor: what a spawned request process would find."""
        seen.update(options, app=app, request_settings=Settings.from_env())
        seen["threads"] = {thread.name for thread in threading.enumerate()}
        engine = make_engine(url)
        seen["tables"] = set(inspect(engine).get_table_names())
        engine.dispose()

    monkeypatch.setattr(uvicorn, "run", run)
    result = CliRunner().invoke(cli, ["serve", "--processes", "2", "--port", "8123"])

    assert result.exit_code == 0, result.output
    assert (seen["app"], seen["factory"], seen["workers"]) == ("api.app:create_app", True, 2)
    request = seen["request_settings"]
    assert (request.run_scheduler, request.run_worker, request.migrate_on_start) == (
        False, False, False
    )  # fmt: skip
    assert request.bootstrap_admin_token is None and request.database_url == url
    assert len(started) == 1 and "upload-worker" in seen["threads"]
    assert {"alerts", "audit_log"} <= seen["tables"]
    engine = make_engine(url)
    with make_session_factory(engine)() as session:
        assert session.scalars(select(ApiToken.label)).all() == ["bootstrap"]
    engine.dispose()
    # the supervisor's own environment is as it was, and its worker has stopped
    assert Settings.from_env().run_scheduler and Settings.from_env().bootstrap_admin_token == secret
    assert "upload-worker" not in {thread.name for thread in threading.enumerate()}
