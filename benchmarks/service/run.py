"""The service benchmark: `GET /v1/alerts` at a fixed request rate, and item-9 to webhook.

    .venv/bin/python -m benchmarks.service.run [--backend sqlite|postgres|both]
        [--rates 200,50] [--duration 20] [--processes 2] [--submissions 20]
        [--out benchmarks/results/service.md]

For each backend it migrates a fresh database, seeds 1,000 patients and 10,000 alerts through
the models (benchmarks/service/seed.py), analyses PostgreSQL's tables, starts `phenowatch serve
--processes N` in a subprocess on a free loopback port, and then

0. drains a backlog of ``--events`` webhook deliveries with two ``deliver_due`` workers
   (benchmarks/service/outbox.py), before the server starts;
1. drives `GET /v1/alerts` (a coordinator's first page, 50 newest alerts of 10,000 visible)
   open-loop at each of ``--rates`` requests/s for ``--duration`` s and reports throughput and
   latency percentiles measured from each request's scheduled start (benchmarks/service/load.py);
2. registers a webhook endpoint for the team through the API, pointing at a receiver in this
   process that verifies every signature, and submits ``--submissions`` PHQ-9 answers with
   item 9 = 1 (one per patient, a pause between them); for each it measures the time from
   sending the submission to the verified webhook's arrival, and whether it arrived before
   the submission's response.

PostgreSQL runs in a database of its own (created and dropped here) on
PHENOWATCH_BENCH_POSTGRES_URL (default postgresql+psycopg://postgres@127.0.0.1:5432/test).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
import warnings
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import text
from sqlalchemy.engine import make_url

from api.db import make_engine, make_session_factory
from api.migrations import upgrade
from benchmarks.service.load import LoadResult, run_fixed_rate
from benchmarks.service.outbox import DrainResult, drain
from benchmarks.service.seed import Seeded, seed
from tests.api.webhook_receiver import WebhookReceiver

ROOT = Path(__file__).resolve().parents[2]
POSTGRES_URL = os.environ.get(
    "PHENOWATCH_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@dataclass(frozen=True)
class WebhookTiming:
    submissions: int
    received: int
    median_ms: float
    max_ms: float
    response_median_ms: float
    before_response: int  # webhooks that arrived before the submission's response


@dataclass(frozen=True)
class BackendResult:
    backend: str
    seed_s: float
    drain: DrainResult
    loads: list[LoadResult]
    webhook: WebhookTiming


@contextlib.contextmanager
def database(backend: str, folder: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{folder / 'bench.sqlite'}"
        return
    server = make_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    name = f"phenowatch_bench_{uuid.uuid4().hex[:8]}"
    with server.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with server.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        server.dispose()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Server:
    base: str
    pid: int


@contextlib.contextmanager
def served(url: str, folder: Path, processes: int) -> Iterator[Server]:
    port = free_port()
    env = os.environ | {
        "PHENOWATCH_DATABASE_URL": url,
        "PHENOWATCH_SPOOL_DIR": str(folder / "spool"),
    }
    log = (folder / "serve.log").open("w")
    process = subprocess.Popen(
        [
            str(ROOT / ".venv/bin/phenowatch"),
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--processes",
            str(processes),
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=folder,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                log.flush()
                output = (folder / "serve.log").read_text()[-4000:]
                raise RuntimeError(f"phenowatch serve did not start:\n{output}")
            time.sleep(0.2)
        yield Server(base, process.pid)
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def cpu_seconds(pids: list[int]) -> float:
    """User and system CPU of these processes and their children so far (Linux /proc)."""
    ticks, seen, todo = 0, set(), list(pids)
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])
            for task in Path(f"/proc/{pid}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
    return ticks / os.sysconf("SC_CLK_TCK")


def database_backends(url: str) -> list[int]:
    """PostgreSQL's backend processes serving ``url``'s database (none for SQLite)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        return []
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            pids = connection.execute(
                text("SELECT pid FROM pg_stat_activity WHERE datname = :name"),
                {"name": parsed.database},
            ).scalars()
            return [int(pid) for pid in pids]
    finally:
        engine.dispose()


def item_9_to_webhook(base: str, seeded: Seeded, submissions: int) -> WebhookTiming:
    receiver = WebhookReceiver().start()
    try:
        coordinator = {"Authorization": f"Bearer {seeded.coordinator_token}"}
        with httpx.Client(base_url=base, timeout=10) as client:
            created = client.post(
                f"/v1/teams/{seeded.team_id}/webhooks",
                json={"url": receiver.url(), "event_types": ["alert.opened"]},
                headers=coordinator,
            )
            created.raise_for_status()
            receiver.secrets["/hook"] = created.json()["secret"]
            delays, responses, before = [], [], 0
            patients = list(seeded.patient_tokens.items())[:submissions]
            for patient_id, token in patients:
                answered_at = datetime.now(UTC) - timedelta(minutes=1)
                body = {"answered_at": answered_at.isoformat(), "items": [1] * 9, "difficulty": 1}
                sent = time.monotonic()
                response = client.post(
                    f"/v1/patients/{patient_id}/phq9",
                    json=body,
                    headers={"Authorization": f"Bearer {token}"},
                )
                answered = time.monotonic()
                response.raise_for_status()
                arrival = _arrival(receiver, patient_id, timeout=5.0)
                if arrival is not None:
                    delays.append((arrival - sent) * 1000)
                    before += arrival <= answered
                responses.append((answered - sent) * 1000)
                time.sleep(0.25)
    finally:
        receiver.stop()
    return WebhookTiming(
        submissions=len(patients),
        received=len(delays),
        median_ms=round(statistics.median(delays), 1) if delays else float("nan"),
        max_ms=round(max(delays), 1) if delays else float("nan"),
        response_median_ms=round(statistics.median(responses), 1),
        before_response=before,
    )


def _arrival(receiver: WebhookReceiver, patient_id: str, *, timeout: float) -> float | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for item in list(receiver.received):
            if item.payload["data"]["patient_id"] == patient_id:
                return item.arrived_at
        time.sleep(0.002)
    return None


def bench_backend(backend: str, args: argparse.Namespace) -> BackendResult:
    with tempfile.TemporaryDirectory(prefix=f"pw-bench-{backend}-") as tmp:
        folder = Path(tmp)
        with database(backend, folder) as url:
            engine = make_engine(url)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                upgrade(engine)
            started = time.perf_counter()
            seeded = seed(make_session_factory(engine), patients=1_000, alerts=10_000)
            seed_s = time.perf_counter() - started
            if backend == "postgres":
                # the planner statistics autovacuum would gather within a minute of the bulk
                # insert; without them PostgreSQL sorts every visible alert for each page
                with engine.connect() as connection:
                    connection.execute(text("ANALYZE"))
                    connection.commit()
            drained = drain(
                make_session_factory(engine),
                team_id=seeded.team_id,
                patient_ids=seeded.patient_ids,
                events=args.events,
            )
            print(f"{backend}: {drained}", flush=True)
            engine.dispose()
            with served(url, folder, args.processes) as server:
                base = server.base
                headers = {"Authorization": f"Bearer {seeded.coordinator_token}"}
                # every request process compiles its queries and fills its pool on first use
                run_fixed_rate(f"{base}/v1/alerts", rate=50, duration_s=4, headers=headers)
                loads = []
                for rate in args.rates:
                    pids = [server.pid, *database_backends(url)]
                    cpu_before = cpu_seconds(pids)
                    load = run_fixed_rate(
                        f"{base}/v1/alerts", rate=rate, duration_s=args.duration, headers=headers
                    )
                    server_cpu = (cpu_seconds(pids) - cpu_before) * 1000 / max(1, load.sent)
                    loads.append(dataclasses.replace(load, server_cpu_ms=round(server_cpu, 2)))
                    print(f"{backend}: {loads[-1]}", flush=True)
                    time.sleep(5)  # let a saturated server drain before the next phase
                webhook = item_9_to_webhook(base, seeded, args.submissions)
                print(f"{backend}: {webhook}", flush=True)
    return BackendResult(backend, round(seed_s, 2), drained, loads, webhook)


def report(results: list[BackendResult], args: argparse.Namespace) -> str:
    load1, load5, load15 = os.getloadavg()
    lines = [
        "# Service benchmark",
        "",
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC with `python -m benchmarks.service.run "
        f"--backend {args.backend} --rates {','.join(f'{r:g}' for r in args.rates)} "
        f"--duration {args.duration:g} --processes {args.processes} "
        f"--submissions {args.submissions} --events {args.events}`.",
        f"Machine: {os.cpu_count()} CPUs shared with other work (load average "
        f"{load1:.1f}/{load5:.1f}/{load15:.1f} at the end), Python {platform.python_version()}, "
        f"server `phenowatch serve --processes {args.processes}` (request processes, and a "
        "supervisor with the scheduler and upload worker) in a subprocess, load generator and "
        "webhook receiver in the benchmark process, all on loopback. Data: 1 care team, 1,000 "
        "patients, 10,000 alerts, seeded through the models (PostgreSQL then analysed).",
        "",
        f"## `GET /v1/alerts` at fixed request rates (open loop, {args.duration:g} s each)",
        "",
        "Latency is measured from each request's scheduled start, so a request that had to wait "
        "for a connection counts its wait (no coordinated omission). Service time is from the "
        "actual send. CPU per request: the server's processes (with PostgreSQL's backends) and "
        "the load generator's own. Target: p99 under 50 ms.",
        "",
        "| backend | rate req/s | sent | ok | errors | achieved req/s | p50 ms | p90 ms | p99 ms "
        "| max ms | service p50 ms | service p99 ms | server CPU ms/req | generator CPU ms/req |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for result in results:
        for load in result.loads:
            lines.append(
                f"| {result.backend} | {load.rate:g} | {load.sent} | {load.ok} | {load.errors} "
                f"| {load.achieved_rps} | {load.p50_ms} | {load.p90_ms} | {load.p99_ms} "
                f"| {load.max_ms} | {load.service_p50_ms} | {load.service_p99_ms} "
                f"| {load.server_cpu_ms} | {load.client_cpu_ms} |"
            )
    lines += [
        "",
        "## PHQ-9 item 9 to webhook",
        "",
        "Time from sending `POST /v1/patients/{id}/phq9` (item 9 = 1) to the arrival of the "
        "signed, verified `alert.opened` webhook at a local receiver. Target: under 1 s.",
        "",
        "| backend | submissions | webhooks received | median ms | max ms "
        "| arrived before the response | submission response median ms |",
        "|---|---|---|---|---|---|---|",
    ]
    for result in results:
        hook = result.webhook
        lines.append(
            f"| {result.backend} | {hook.submissions} | {hook.received} | {hook.median_ms} "
            f"| {hook.max_ms} | {hook.before_response}/{hook.submissions} "
            f"| {hook.response_median_ms} |"
        )
    lines += [
        "",
        "## Outbox drain",
        "",
        "A backlog of `alert.opened` deliveries (one per alert, written by the alert service in "
        "the alert's transaction) drained by two workers calling `deliver_due(limit=50)` in "
        "parallel, into a local receiver that verifies every signature; before the server "
        "starts.",
        "",
        "| backend | events | workers | seconds | deliveries/s | delivered "
        "| waiting for a retry | duplicates at the receiver |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for result in results:
        d = result.drain
        lines.append(
            f"| {result.backend} | {d.events} | {d.workers} | {d.seconds} | {d.per_second} "
            f"| {d.delivered} | {d.waiting_for_retry} | {d.duplicates} |"
        )
    lines += ["", "Seeding time (s): " + ", ".join(f"{r.backend} {r.seed_s}" for r in results)]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument(
        "--rates",
        type=lambda text: [float(part) for part in text.split(",")],
        default=[200.0, 50.0],
        help="comma-separated request rates for GET /v1/alerts, each run for --duration",
    )
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument(
        "--processes", type=int, default=3, help="request processes (phenowatch serve)"
    )
    parser.add_argument("--submissions", type=int, default=20)
    parser.add_argument("--events", type=int, default=500, help="outbox backlog to drain")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/service.md")
    args = parser.parse_args(argv)
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    results = [bench_backend(backend, args) for backend in backends]
    text_report = report(results, args)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text_report)
    print(text_report)
    print({r.backend: asdict(r) for r in results}, file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
