"""Request dependencies: the request's unit of work, the caller, and the audit entry.

Routes read like prose with the ``Annotated`` aliases at the bottom: ``ctx: Coordinator``.
The context dependency owns the request's transaction (services never commit); the audit entry
is written with it, or in a transaction of its own when the request failed, so denied and
failed calls are recorded too. Audit entries hold who, what and the outcome, never values.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from api.auth_failures import AuthFailures
from api.clock import Clock
from api.services import audit
from api.services.errors import Forbidden, InvalidInput, NotFound
from api.services.patients import get_visible_patient
from api.services.tokens import Principal, identify
from api.settings import Settings
from api.store import Patient
from api.unit_of_work import UnitOfWork, unit_of_work
from ingest.errors import IngestError

bearer = HTTPBearer(auto_error=False, description="an API token issued by an admin")


@dataclass
class PendingAudit:
    action: str
    resource: str
    patient_id: str | None = None
    principal: Principal | None = None
    outcome: str = "ok"
    #: every patient the answer is about, when it is about several (a list)
    patient_ids: set[str] = field(default_factory=set)
    #: the outcome recorded if the request fails, when its error alone does not say it
    failure: str | None = None


@dataclass
class Context:
    """What a route needs: the request's unit of work, the caller and the time."""

    work: UnitOfWork
    principal: Principal
    now: datetime
    settings: Settings
    clock: Clock
    audit: PendingAudit = field(repr=False, default_factory=lambda: PendingAudit("", ""))

    @property
    def session(self) -> Session:
        return self.work.session

    def patient(self, patient_id: str) -> Patient:
        """The patient if the caller may see it; NotFound alike for absent and not yours."""
        self.audit.patient_id = patient_id
        return get_visible_patient(self.session, principal=self.principal, patient_id=patient_id)


# Dependencies that do no I/O are ``async def``: FastAPI runs a plain ``def`` dependency in its
# thread pool, a hand-off that costs more than the work itself.


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_clock(request: Request) -> Clock:
    clock: Clock = request.app.state.clock
    return clock


@contextmanager
def request_unit_of_work(request: Request) -> Iterator[UnitOfWork]:
    """The request's unit of work, committed with the audit entry when the request succeeded;
    a failed request's audit entry is written in a transaction of its own."""
    state = request.app.state
    writes = request.method not in ("GET", "HEAD", "OPTIONS")
    try:
        with unit_of_work(
            state.session_factory,
            clock=state.clock,
            public_url=state.settings.public_url,
            write_lock=writes,
            outbound=state.outbound,
        ) as work:
            # on SQLite a read snapshot cannot be upgraded to write once another writer has
            # committed: a write request takes the write lock up front, and a read's audit
            # entry gets a short transaction of its own after the read. PostgreSQL writes it
            # in the read's transaction, three round trips fewer.
            audit_inside = writes or work.session.get_bind().dialect.name != "sqlite"
            yield work
            if audit_inside:
                _write_audit(work.session, request, outcome=None)
        if not audit_inside:
            with work.session.begin():
                _write_audit(work.session, request, outcome=None)
            work.session.close()
    except BaseException as error:
        pending: PendingAudit | None = getattr(request.state, "audit", None)
        if pending is not None and pending.action:
            with state.session_factory() as other, other.begin():
                _write_audit(other, request, outcome=pending.failure or _outcome(error))
        raise


SettingsDep = Annotated[Settings, Depends(get_settings)]
ClockDep = Annotated[Clock, Depends(get_clock)]


def get_context(
    request: Request,
    settings: SettingsDep,
    clock: ClockDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Iterator[Context]:
    """Opens the unit of work and authenticates the caller in one trip to the thread pool (each
    sync dependency costs one on the way in and one on the way out).

    An address with too many failed authentications is answered 429 before any database work;
    failures are audited as sampled by ``AuthFailures``, a revoked token as its owner."""
    route = request.scope.get("route")
    pending = PendingAudit(
        action=getattr(route, "name", None) or request.url.path,
        # the concrete path: the target (alert, upload, team) is recorded even when denied
        resource=f"{request.method} {request.scope['path']}",
        patient_id=request.path_params.get("patient_id"),
    )
    request.state.audit = pending
    failures: AuthFailures = request.app.state.auth_failures
    address = request.client.host if request.client else "unknown"
    wait = failures.retry_after(address)
    if wait is not None:
        pending.action = ""  # the block was audited once, when it began
        raise HTTPException(
            429,
            "too many failed authentications from this address; try again later",
            headers={"Retry-After": str(wait)},
        )
    with request_unit_of_work(request) as work:
        identity = identify(work.session, secret=credentials.credentials) if credentials else None
        if identity is None or identity.revoked:
            failure = failures.failed(address)
            if identity is not None:  # a revoked token is always recorded, as its owner
                pending.principal = identity.principal
                pending.failure = "revoked_token"
            elif not failure.audit:
                pending.action = ""
            if failure.blocked:
                pending.failure = "rate_limited"
            if failure.unaudited_before:
                pending.resource += f" (+{failure.unaudited_before} failures not recorded)"
            raise HTTPException(401, "a valid bearer token is required")
        pending.principal = identity.principal
        yield Context(work, identity.principal, clock.now(), settings, clock, pending)


# "function": the transaction commits, and urgent webhooks start, before the response is sent
# (FastAPI's default would run them after it, so a client could read before the commit).
ContextDep = Annotated[Context, Depends(get_context, scope="function")]


def require(*roles: str) -> object:
    async def dependency(ctx: ContextDep) -> Context:
        if ctx.principal.role not in roles:
            raise Forbidden(f"this needs the role {' or '.join(roles)}")
        return ctx

    return Depends(dependency)


Caller = ContextDep
CareReader = Annotated[Context, require("patient", "coordinator")]
Coordinator = Annotated[Context, require("coordinator")]
Admin = Annotated[Context, require("admin")]


def _outcome(error: BaseException) -> str:
    if isinstance(error, HTTPException):
        return {401: "unauthenticated", 403: "denied", 404: "not_found"}.get(
            error.status_code, f"http_{error.status_code}"
        )
    if isinstance(error, NotFound):
        return "not_found"  # absent or not the caller's: deliberately the same
    if isinstance(error, Forbidden):
        return "denied"
    if isinstance(error, InvalidInput | IngestError | RequestValidationError):
        return "rejected"
    return "error"


def _write_audit(session: Session, request: Request, *, outcome: str | None) -> None:
    pending: PendingAudit | None = getattr(request.state, "audit", None)
    if pending is None or not pending.action:
        return
    patients = sorted(pending.patient_ids | ({pending.patient_id} if pending.patient_id else set()))
    # one row per patient the answer was about, so each patient's access history is complete
    targets: list[str | None] = [*patients] or [None]
    for patient_id in targets:
        audit.record(
            session,
            principal=pending.principal,
            action=pending.action,
            resource=pending.resource,
            outcome=outcome or pending.outcome,
            now=request.app.state.clock.now(),
            patient_id=patient_id,
        )
    request.state.audit = None
