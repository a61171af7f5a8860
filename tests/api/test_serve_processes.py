"""`phenowatch serve --processes N`: N request processes, and the scheduler, the upload worker,
migrations and the bootstrap token handled once, by the supervising process."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import inspect, select
from typer.testing import CliRunner

from api.cli import app as cli
from api.commands import serve
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

    def run(host: str, port: int, processes: int) -> None:
        """Stands in for the request processes: what each would find when it starts."""
        seen.update(port=port, processes=processes, request_settings=Settings.from_env())
        seen["threads"] = {thread.name for thread in threading.enumerate()}
        engine = make_engine(url)
        seen["tables"] = set(inspect(engine).get_table_names())
        engine.dispose()

    monkeypatch.setattr(serve, "_run_request_processes", run)
    result = CliRunner().invoke(cli, ["serve", "--processes", "2", "--port", "8123"])

    assert result.exit_code == 0, result.output
    assert (seen["port"], seen["processes"]) == (8123, 2)
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


def test_request_processes_share_the_port_and_stop_with_the_supervisor(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = os.environ | {
        "PHENOWATCH_DATABASE_URL": f"sqlite:///{tmp_path / 'pw.sqlite'}",
        "PHENOWATCH_SPOOL_DIR": str(tmp_path / "spool"),
    }
    phenowatch = Path(__file__).resolve().parents[2] / ".venv/bin/phenowatch"
    command = [str(phenowatch), "serve", "--port", str(port), "--processes", "2"]
    server = subprocess.Popen(command, env=env, cwd=tmp_path, stderr=subprocess.PIPE, text=True)
    children: list[str] = []
    try:
        deadline = time.monotonic() + 90
        while True:
            assert server.poll() is None, server.stderr.read() if server.stderr else ""
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "phenowatch serve --processes 2 did not answer"
            time.sleep(0.2)
        children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
        assert len(children) >= 2  # the two request processes (and the spawn resource tracker)
        for _ in range(20):  # new connections, whichever process takes them
            assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=10).status_code == 200
    finally:
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=60) == 0
        if server.stderr:
            server.stderr.close()
    deadline = time.monotonic() + 10  # children that outlive the supervisor end soon after
    while any(_running(pid) for pid in children) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_running(pid) for pid in children)


def _running(pid: str) -> bool:
    try:
        return "zombie" not in Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
