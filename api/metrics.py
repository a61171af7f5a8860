"""Prometheus metrics: request counts and latency (per app, its own registry), and alert and
upload totals read from the database at scrape time, so every replica reports the same truth."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from starlette.requests import Request
from starlette.responses import Response

from api.store import Alert, Upload


class StoreCollector(Collector):
    def __init__(self, factory: sessionmaker[Session]) -> None:
        self.factory = factory

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        opened = CounterMetricFamily(
            "phenowatch_alerts_opened", "Alerts opened, by kind", labels=["kind"]
        )
        active = GaugeMetricFamily(
            "phenowatch_alerts_active", "Alerts open or acknowledged, by kind", labels=["kind"]
        )
        outcomes = GaugeMetricFamily(
            "phenowatch_uploads",
            "Uploads by status (queued, processing, done, failed)",
            labels=["status"],
        )
        with self.factory() as session:
            for kind, count in session.execute(
                select(Alert.kind, func.count()).group_by(Alert.kind)
            ):
                opened.add_metric([kind], count)
            for kind, count in session.execute(
                select(Alert.kind, func.count())
                .where(Alert.status.in_(("open", "acknowledged")))
                .group_by(Alert.kind)
            ):
                active.add_metric([kind], count)
            for status, count in session.execute(
                select(Upload.status, func.count()).group_by(Upload.status)
            ):
                outcomes.add_metric([status], count)
        yield from (opened, active, outcomes)


class Metrics:
    def __init__(self, factory: sessionmaker[Session]) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "phenowatch_http_requests",
            "HTTP requests by method, route and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "phenowatch_http_request_seconds",
            "HTTP request latency by method and route",
            ["method", "route"],
            registry=self.registry,
        )
        self.registry.register(StoreCollector(factory))

    async def middleware(
        self, request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        started = time.perf_counter()
        status = 500
        try:
            response = await call_next(request)
            status = response.status_code
            return response
        finally:
            route = request.scope.get("route")
            # the route template, never the concrete path (it holds patient ids)
            name = getattr(route, "path", "unmatched")
            self.requests.labels(request.method, name, str(status)).inc()
            self.latency.labels(request.method, name).observe(time.perf_counter() - started)
