"""The app factory: settings, engine, clock, scheduler and upload worker are built here and
injected through ``app.state``; nothing is created at import time."""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy import Engine

from api import openapi, problems
from api.auth_failures import AuthFailures
from api.clock import Clock, SystemClock
from api.db import make_engine, make_session_factory, transaction
from api.fhir.routes import router as fhir_router
from api.metrics import Metrics
from api.middleware import BodyLimit, SecurityHeaders
from api.migrations import upgrade
from api.routes import admin, alerts, health, patients, uploads, webhooks
from api.scheduler import Scheduler
from api.services.tokens import ensure_token
from api.settings import Settings
from api.worker import UploadWorker

log = logging.getLogger(__name__)


def create_app(
    settings: Settings | None = None, *, clock: Clock | None = None, engine: Engine | None = None
) -> FastAPI:
    settings = settings or Settings.from_env()
    clock = clock or SystemClock()
    engine = engine or make_engine(settings.database_url)
    factory = make_session_factory(engine)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.migrate_on_start:
            upgrade(engine)
        if settings.bootstrap_admin_token:
            with transaction(factory) as session:
                ensure_token(
                    session, secret=settings.bootstrap_admin_token, role="admin", now=clock.now()
                )
        stop = threading.Event()
        threads: list[threading.Thread] = []
        if settings.run_worker:
            worker = UploadWorker(factory, settings=settings, clock=clock, name="serve-worker")
            app.state.worker_wakeup = worker.wakeup
            thread = threading.Thread(target=worker.run, args=(stop,), name="upload-worker")
            thread.start()
            threads.append(thread)
        scheduler = None
        if settings.run_scheduler:
            scheduler = Scheduler(engine=engine, factory=factory, settings=settings, clock=clock)
            scheduler.start()
            app.state.scheduler = scheduler
        try:
            yield
        finally:
            stop.set()
            wakeup = getattr(app.state, "worker_wakeup", None)
            if wakeup is not None:
                wakeup.set()
            for thread in threads:
                thread.join(timeout=30)
            if scheduler is not None:
                scheduler.shutdown()
            engine.dispose()

    app = FastAPI(
        title="phenowatch",
        version="0.1.0",
        summary="Early, explained relapse alerts from wearables and the PHQ-9.",
        lifespan=lifespan,
        generate_unique_id_function=openapi.operation_id,
    )
    app.state.settings = settings
    app.state.clock = clock
    app.state.engine = engine
    app.state.session_factory = factory
    app.state.metrics = Metrics(factory)
    app.state.auth_failures = AuthFailures(per_minute=settings.auth_failures_per_minute)
    app.middleware("http")(app.state.metrics.middleware)
    # outermost last: headers on every answer, then the body limit before anything reads it
    app.add_middleware(BodyLimit)
    app.add_middleware(SecurityHeaders)
    problems.install(app)
    openapi.install(app)
    for module in (patients, uploads, alerts, admin, health, webhooks):
        app.include_router(module.router)
    app.include_router(fhir_router)
    return app
