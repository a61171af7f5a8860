"""A phenowatch process's start-up and shut-down, written once.

``create_app``'s lifespan runs it for a single-process service; ``phenowatch serve --processes
N`` runs it once in the supervising process and starts the request processes with its duties
turned off. In order: migrate the database, seal the webhook secrets with the newest key,
register the bootstrap admin token, start the
upload worker thread and the scheduler; on the way out stop them in reverse and close the
engine's connections.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from api.clock import Clock
from api.db import transaction
from api.migrations import upgrade
from api.scheduler import Scheduler
from api.services.tokens import ensure_token
from api.settings import Settings
from api.webhooks.secret_box import SecretBox, reseal_secrets
from api.worker import UploadWorker

log = logging.getLogger(__name__)

#: how long shut-down waits for the upload worker to finish the upload in hand
WORKER_STOP_SECONDS = 30


@dataclass(frozen=True)
class Running:
    """What a started process runs: the upload worker's wake-up event (set it when an upload
    is queued) and the scheduler, each None when turned off in the settings."""

    worker_wakeup: threading.Event | None
    scheduler: Scheduler | None


def prepare_database(
    *, settings: Settings, engine: Engine, factory: sessionmaker[Session], clock: Clock
) -> None:
    """Migrates the database and registers the bootstrap admin token, as the settings ask."""
    if settings.migrate_on_start:
        upgrade(engine)
    reseal_webhook_secrets(factory, SecretBox.from_setting(settings.secret_keys))
    if settings.bootstrap_admin_token:
        with transaction(factory) as session:
            ensure_token(
                session, secret=settings.bootstrap_admin_token, role="admin", now=clock.now()
            )


def reseal_webhook_secrets(factory: sessionmaker[Session], secrets: SecretBox) -> None:
    """Seals webhook secrets stored in plaintext or under an older key with the newest key
    (``api.webhooks.secret_box``). A database that does not answer yet is no reason not to
    start: it is done at the next start."""
    if not secrets.configured:
        return
    try:
        with transaction(factory) as session:
            reseal_secrets(session, secrets)
    except DBAPIError:
        log.warning("webhook secrets not resealed: the database did not answer")


@contextmanager
def process_lifecycle(
    *,
    settings: Settings,
    engine: Engine,
    factory: sessionmaker[Session],
    clock: Clock,
) -> Iterator[Running]:
    """Starts the process's duties the settings ask for, yields them, and stops them."""
    prepare_database(settings=settings, engine=engine, factory=factory, clock=clock)
    stop = threading.Event()
    worker: UploadWorker | None = None
    thread: threading.Thread | None = None
    if settings.run_worker:
        worker = UploadWorker(factory, settings=settings, clock=clock, name="serve-worker")
        thread = threading.Thread(target=worker.run, args=(stop,), name="upload-worker")
        thread.start()
    scheduler: Scheduler | None = None
    if settings.run_scheduler:
        scheduler = Scheduler(engine=engine, factory=factory, settings=settings, clock=clock)
        scheduler.start()
    try:
        yield Running(worker.wakeup if worker else None, scheduler)
    finally:
        stop.set()
        if worker is not None and thread is not None:
            worker.wakeup.set()
            thread.join(timeout=WORKER_STOP_SECONDS)
        if scheduler is not None:
            scheduler.shutdown()
        engine.dispose()
