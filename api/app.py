"""The app factory: settings, engine and clock are built here and injected through
``app.state``; the lifespan starts the process's duties (api.lifecycle). Nothing is created at
import time."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy import Engine

from api import openapi, problems, web
from api.auth_failures import AuthFailures
from api.clock import Clock, SystemClock
from api.db import make_engine, make_session_factory
from api.fhir.routes import router as fhir_router
from api.lifecycle import process_lifecycle
from api.metrics import Metrics
from api.middleware import BodyLimit, SecurityHeaders
from api.routes import admin, alerts, calendar, caseload, health, patients, uploads, webhooks
from api.settings import Settings
from api.webhooks.dispatch import Outbound

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
        with process_lifecycle(
            settings=settings, engine=engine, factory=factory, clock=clock
        ) as running:
            app.state.worker_wakeup = running.worker_wakeup
            app.state.scheduler = running.scheduler
            yield

    app = FastAPI(
        title="phenowatch",
        version="0.1.0",
        summary="Early, explained relapse alerts from wearables and the PHQ-9.",
        lifespan=lifespan,
        generate_unique_id_function=openapi.operation_id,
        # served by api.web from vendored files, so they work without the internet
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.clock = clock
    app.state.engine = engine
    app.state.session_factory = factory
    app.state.outbound = Outbound.from_settings(settings)
    app.state.metrics = Metrics(factory)
    app.state.auth_failures = AuthFailures(per_minute=settings.auth_failures_per_minute)
    app.middleware("http")(app.state.metrics.middleware)
    # outermost last: headers on every answer, then the body limit before anything reads it
    app.add_middleware(BodyLimit)
    app.add_middleware(SecurityHeaders)
    problems.install(app)
    openapi.install(app)
    for module in (caseload, patients, uploads, alerts, calendar, admin, health, webhooks):
        app.include_router(module.router)
    app.include_router(fhir_router)
    web.install(app)
    return app
