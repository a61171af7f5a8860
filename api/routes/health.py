"""Liveness with a database check, and Prometheus metrics."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from api.auth import bearer
from api.problems import problem
from api.services.tokens import Principal, authenticate

router = APIRouter(tags=["operations"])


@router.get(
    "/healthz",
    summary="Up, and the database answers",
    responses={200: {"content": {"application/json": {"example": {"status": "ok"}}}}},
)
def healthz(request: Request) -> JSONResponse:
    try:
        with request.app.state.session_factory() as session:
            session.execute(text("SELECT 1"))
    except Exception:
        return problem(503, "Service Unavailable", "the database does not answer")
    return JSONResponse({"status": "ok"})


@router.get(
    "/metrics",
    summary="Prometheus metrics (the metrics token, or an admin's token)",
    response_class=Response,
    responses={
        200: {"content": {CONTENT_TYPE_LATEST.split(";")[0]: {"schema": {"type": "string"}}}}
    },
)
async def metrics(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Response:
    """The counts say how many safety alerts were raised: a scrape needs
    ``PHENOWATCH_METRICS_TOKEN`` (or an admin's API token) as its bearer token."""
    failures = request.app.state.auth_failures
    address = request.client.host if request.client else "unknown"
    wait = failures.retry_after(address)
    if wait is not None:
        raise HTTPException(429, "too many failed authentications", {"Retry-After": str(wait)})
    expected = request.app.state.settings.metrics_token
    secret = credentials.credentials if credentials else ""
    if not (expected and secrets.compare_digest(secret.encode(), expected.encode())):
        principal = await run_in_threadpool(_principal, request, secret) if secret else None
        if principal is None:
            failures.failed(address)  # counted toward the limit; a scrape is not audited
            raise HTTPException(401, "a valid bearer token is required")
        if principal.role != "admin":
            raise HTTPException(403, "metrics need the metrics token or an admin's token")
    registry = request.app.state.metrics.registry
    body = await run_in_threadpool(generate_latest, registry)
    return Response(body, media_type=CONTENT_TYPE_LATEST)


def _principal(request: Request, secret: str) -> Principal | None:
    with request.app.state.session_factory() as session:
        return authenticate(session, secret=secret)
