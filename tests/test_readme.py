"""Every `sh` example in README.md works as written against a running service.

The README's tour starts from `./run demo`; here the same setup runs as `phenowatch demo
--no-serve` into a temporary folder laid out like the project (``var/demo``, ``fixtures``,
``.venv``), `phenowatch serve` runs on a free port with that database, and each fenced ``sh``
block runs there with bash, in order. A block passes when it exits 0 and prints what the
``<!-- expect: ... -->`` comment after it names. ``bash`` blocks (the Quick start's ``./run``
lines, which set up the machine) are not run.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
PHENOWATCH = ROOT / ".venv" / "bin" / "phenowatch"
BLOCK = re.compile(r"^```sh\n(.*?)^```\n(?:\n<!-- expect: (.*?) -->\n)?", re.M | re.S)


def examples() -> list[tuple[str, str | None]]:
    return [(m.group(1), m.group(2)) for m in BLOCK.finditer(README.read_text(encoding="utf-8"))]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _run(args: list[str], cwd: Path, env: dict[str, str], timeout: float) -> str:
    done = subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert done.returncode == 0, f"{args} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    if not PHENOWATCH.exists():
        pytest.skip(f"{PHENOWATCH} is not installed (run ./run test)")
    work = tmp_path_factory.mktemp("readme")
    (work / "fixtures").symlink_to(ROOT / "fixtures")
    (work / ".venv").symlink_to(ROOT / ".venv")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PHENOWATCH_")}
    _run(
        [
            str(PHENOWATCH),
            "demo",
            "--no-serve",
            "--dir",
            "var/demo",
            "--patients",
            "8",
            "--days",
            "120",
            "--port",
            str(port),
        ],
        work,
        env,
        timeout=300,
    )
    settings = dict(
        line.removeprefix("export ").split("=", 1)
        for line in (work / "var/demo/env.sh").read_text().splitlines()
    )
    env |= {
        "PHENOWATCH_DATABASE_URL": settings["PHENOWATCH_DATABASE_URL"],
        "PHENOWATCH_SECRET_KEYS": settings["PHENOWATCH_SECRET_KEYS"],
        "PHENOWATCH_SPOOL_DIR": str(work / "var/uploads"),
        "PHENOWATCH_WORKER_POLL_SECONDS": "0.2",
    }
    server = subprocess.Popen(
        [str(PHENOWATCH), "serve", "--port", str(port)],
        cwd=work,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert server.poll() is None, f"phenowatch serve exited:\n{server.stderr.read()}"
            assert time.monotonic() < deadline, "phenowatch serve did not answer in 60 s"
            time.sleep(0.3)
        yield work
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        server.communicate()


def test_readme_has_the_quick_start_and_examples() -> None:
    text = README.read_text(encoding="utf-8")
    assert "./run demo" in text and "./run test" in text
    assert len(examples()) >= 8


def test_every_sh_example_runs(workdir: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PHENOWATCH_")}
    failures: list[str] = []
    for number, (script, expect) in enumerate(examples(), start=1):
        # each block runs after `source var/demo/env.sh`, as in the reader's second terminal
        body = f"set -euo pipefail\nsource var/demo/env.sh\n{script}"
        done = subprocess.run(
            ["bash", "-c", body],
            cwd=workdir,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if done.returncode != 0:
            failures.append(f"example {number} exited {done.returncode}:\n{script}\n{done.stderr}")
        elif expect and expect not in done.stdout:
            failures.append(f"example {number} did not print {expect!r}:\n{done.stdout[-2000:]}")
    assert failures == [], "\n\n".join(failures)
