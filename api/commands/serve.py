"""`phenowatch serve` (API + scheduler + an upload worker) and `phenowatch worker` (workers
alone, for scale-out). Both read PHENOWATCH_* settings; the embedded default is a SQLite file."""

from __future__ import annotations

import logging
import os
import signal
import threading
from typing import Annotated

import typer

from api.clock import SystemClock
from api.db import make_engine, make_session_factory
from api.migrations import upgrade
from api.settings import Settings
from api.worker import UploadWorker


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
    app.command("worker")(worker)


def serve(
    host: Annotated[str, typer.Option(help="interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 8000,
    workers: Annotated[bool, typer.Option(help="run an upload worker in this process")] = True,
    scheduler: Annotated[bool, typer.Option(help="run the periodic jobs (leader only)")] = True,
) -> None:
    """Serve the API (OpenAPI at /docs) with the scheduler and an upload worker; migrates the
    database on start."""
    import uvicorn

    from api.app import create_app

    _logging()
    settings = Settings.from_env(run_worker=workers, run_scheduler=scheduler)
    typer.echo(f"phenowatch on http://{host}:{port} (database: {_backend(settings)})")
    uvicorn.run(create_app(settings), host=host, port=port, log_level="info", access_log=False)


def worker(
    concurrency: Annotated[int, typer.Option(min=1, help="worker threads")] = 1,
    exit_when_idle: Annotated[
        bool, typer.Option(help="stop once the queue is empty (batch jobs, tests)")
    ] = False,
) -> None:
    """Process queued uploads; any number of these share the queue (one upload, one worker)."""
    _logging()
    settings = Settings.from_env()
    engine = make_engine(settings.database_url)
    if settings.migrate_on_start:
        upgrade(engine)
    factory = make_session_factory(engine)
    clock = SystemClock()
    stop = threading.Event()
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, lambda *_: stop.set())
    pid = os.getpid()

    def work(index: int) -> None:
        upload_worker = UploadWorker(
            factory, settings=settings, clock=clock, name=f"worker:{pid}.{index}"
        )
        if exit_when_idle:
            while not stop.is_set() and upload_worker.drain(limit=1):
                pass
        else:
            upload_worker.run(stop)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        while thread.is_alive():
            thread.join(timeout=0.5)
    engine.dispose()


def _backend(settings: Settings) -> str:
    return "SQLite file" if settings.is_sqlite else "PostgreSQL"


def _logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    # job bookkeeping lines say nothing an operator needs; failures are still logged
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
