"""`phenowatch serve` (API + scheduler + an upload worker) and `phenowatch worker` (workers
alone, for scale-out). Both read PHENOWATCH_* settings; the embedded default is a SQLite file.

``serve --processes N`` answers requests in N uvicorn processes. The supervising process
then migrates the database and runs the scheduler and the upload worker itself, once; the
request processes are started with both turned off (on SQLite every process would think itself
the scheduler's leader).
"""

from __future__ import annotations

import gc
import logging
import multiprocessing
import os
import signal
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError

from api.clock import SystemClock
from api.db import make_engine, make_session_factory
from api.lifecycle import prepare_database, process_lifecycle
from api.migrations import upgrade
from api.settings import PREFIX, Settings
from api.worker import UploadWorker

log = logging.getLogger(__name__)


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
    app.command("worker")(worker)


def serve(
    host: Annotated[str, typer.Option(help="interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 8000,
    workers: Annotated[
        bool | None,
        typer.Option(
            help="run an upload worker in this process [default: PHENOWATCH_RUN_WORKER, or yes]"
        ),
    ] = None,
    scheduler: Annotated[
        bool | None,
        typer.Option(
            help="run the periodic jobs (leader only) [default: PHENOWATCH_RUN_SCHEDULER, or yes]"
        ),
    ] = None,
    processes: Annotated[
        int, typer.Option(min=1, help="processes answering requests (uvicorn workers)")
    ] = 1,
) -> None:
    """Serve the API (OpenAPI at /docs) with the scheduler and an upload worker; migrates the
    database on start. A flag given wins over its PHENOWATCH_* variable."""
    flags = {"run_worker": workers, "run_scheduler": scheduler}
    try:
        settings = Settings.from_env(**{k: v for k, v in flags.items() if v is not None})
        _serve(settings, host, port, processes)
    except (ValidationError, SQLAlchemyError, OSError) as error:
        # the cause, in a line or two; not a page of traceback before it
        typer.echo(f"phenowatch serve: cannot start: {_cause(error)}", err=True)
        raise typer.Exit(1) from None


def _cause(error: BaseException) -> str:
    if isinstance(error, ValidationError):
        return "; ".join(
            f"{PREFIX}{'.'.join(str(p) for p in e['loc']).upper()}: {e['msg']}"
            for e in error.errors()
        )
    if isinstance(error, SQLAlchemyError):
        original = getattr(error, "orig", None) or error
        first = str(original).strip().splitlines()[0] if str(original).strip() else ""
        return f"the database does not answer ({type(original).__name__}: {first})"
    return f"{type(error).__name__}: {error}"


def _serve(settings: Settings, host: str, port: int, processes: int) -> None:
    import uvicorn

    from api.app import create_app

    _logging()
    typer.echo(
        f"phenowatch on http://{host}:{port} (database: {_backend(settings)}, "
        f"{processes} process{'es' if processes > 1 else ''})"
    )
    if processes == 1:
        # what can fail at start-up is done here, where its cause is reported in a line
        app = create_app(_start_up(settings))
        _freeze_start_up_objects()
        uvicorn.run(app, host=host, port=port, log_level="info", access_log=False)
        return
    # the request processes are spawned (not forked) and read their settings from the environment
    request_process_env = {
        f"{PREFIX}MIGRATE_ON_START": "false",
        f"{PREFIX}RUN_WORKER": "false",
        f"{PREFIX}RUN_SCHEDULER": "false",
        f"{PREFIX}BOOTSTRAP_ADMIN_TOKEN": "",  # registered once, by the supervisor
    }
    with _supervisor_duties(settings), _environment(request_process_env):
        _run_request_processes(host, port, processes)


def _run_request_processes(host: str, port: int, processes: int) -> None:
    """Runs ``processes`` uvicorn servers, each on a listening socket of its own bound to the
    same port (SO_REUSEPORT), until SIGTERM or SIGINT, or until one of them exits.

    Not uvicorn's ``--workers``: those share one socket, and a burst of new connections lands
    in whichever process wakes first (29 of 32 keep-alive connections in one of two processes,
    measured); with a socket each the kernel spreads connections evenly."""
    context = multiprocessing.get_context("spawn")
    children = [
        context.Process(target=_request_process, args=(host, port), name=f"phenowatch-http-{n}")
        for n in range(processes)
    ]
    stop = threading.Event()
    previous = {
        number: signal.signal(number, lambda *_: stop.set())
        for number in (signal.SIGTERM, signal.SIGINT)
    }
    failed = None
    try:
        for child in children:
            child.start()
        while not stop.wait(0.5):
            failed = next((child for child in children if not child.is_alive()), None)
            if failed is not None:
                log.error("request process %s exited (%s); stopping", failed.pid, failed.exitcode)
                break
    finally:
        for child in children:
            if child.is_alive():
                child.terminate()  # uvicorn finishes the requests in flight
        for child in children:
            child.join(timeout=30)
            if child.is_alive():
                child.kill()
                child.join()
        for number, handler in previous.items():
            signal.signal(number, handler)
    if failed is not None:
        raise typer.Exit(1)


def _request_process(host: str, port: int) -> None:
    import uvicorn

    _logging()
    listener = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    listener.bind((host, port))
    from api.app import create_app

    app = create_app()
    _freeze_start_up_objects()
    config = uvicorn.Config(app, log_level="info", access_log=False)
    uvicorn.Server(config).run(sockets=[listener])


def _freeze_start_up_objects() -> None:
    """Leaves the objects of imports and the app out of every later garbage collection: a full
    collection over them took about 100 ms, with every request of the process waiting."""
    gc.collect()
    gc.freeze()


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _start_up(settings: Settings) -> Settings:
    """Migrates and registers the bootstrap token before the server starts (a failure inside
    the server's start-up would be reported with a page of traceback), and gives the settings
    with both done."""
    engine = make_engine(settings.database_url)
    try:
        factory = make_session_factory(engine)
        prepare_database(settings=settings, engine=engine, factory=factory, clock=SystemClock())
    finally:
        engine.dispose()
    return settings.model_copy(update={"migrate_on_start": False, "bootstrap_admin_token": None})


@contextmanager
def _supervisor_duties(settings: Settings) -> Iterator[None]:
    """What the app's lifespan does in a single process, done once for all request processes."""
    engine = make_engine(settings.database_url)
    factory = make_session_factory(engine)
    with process_lifecycle(settings=settings, engine=engine, factory=factory, clock=SystemClock()):
        yield


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
