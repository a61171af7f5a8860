"""The web inbox's request dependency: the same unit of work and audit entry as the API
(api.auth), with the caller found from the session cookie instead of a bearer token, and the
form token (CSRF) checked on every request that changes something.

A page's audit entry carries the action of the API route it mirrors (its route ``name``), so
reading an alert in the browser is recorded as ``read_alert`` like ``GET /v1/alerts/{id}``; the
resource says which door was used.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated

from fastapi import Depends, HTTPException, Request

from api.auth import ClockDep, Context, PendingAudit, SettingsDep, request_unit_of_work
from api.web import sessions
from api.web.sessions import SignedIn

COOKIE = "phenowatch_session"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"


class SignInRequired(HTTPException):
    """No live session: a page answers with the sign-in page instead."""

    def __init__(self) -> None:
        super().__init__(401, "sign in first")


class CsrfRefused(HTTPException):
    def __init__(self) -> None:
        super().__init__(403, "this form has expired or did not come from phenowatch: reload")


@dataclass
class Page:
    """What a page needs: the API's context (session, caller, time) and the signed-in
    browser (for the form token and the name in the header)."""

    ctx: Context
    signed_in: SignedIn
    form: dict[str, str]

    @property
    def csrf(self) -> str:
        return self.signed_in.csrf_token


async def read_form(request: Request) -> dict[str, str]:
    """The submitted form's text fields (empty for a GET)."""
    if request.method in ("GET", "HEAD"):
        return {}
    form = await request.form()
    return {key: value for key, value in form.items() if isinstance(value, str)}


def get_page(
    request: Request,
    settings: SettingsDep,
    clock: ClockDep,
    form: Annotated[dict[str, str], Depends(read_form)],
) -> Iterator[Page]:
    if any(ord(char) < 32 or ord(char) == 127 for char in request.url.path):
        # no page's address holds one, and the audit log records the path
        raise HTTPException(404, "no such page")
    route = request.scope.get("route")
    pending = PendingAudit(
        action=getattr(route, "name", None) or request.url.path,
        # the concrete path, as the API records it: the target is named even when refused
        resource=f"{request.method} {request.url.path}",
        patient_id=request.path_params.get("patient_id"),
    )
    request.state.audit = pending
    with request_unit_of_work(request) as work:
        session = work.session
        now = clock.now()
        cookie = request.cookies.get(COOKIE)
        idle = timedelta(minutes=settings.web_session_idle_minutes)
        signed_in = sessions.resume(session, cookie=cookie, now=now, idle=idle) if cookie else None
        if signed_in is None:
            raise SignInRequired()
        pending.principal = signed_in.principal
        if request.method not in ("GET", "HEAD"):
            offered = form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER)
            if not sessions.csrf_matches(signed_in, offered):
                raise CsrfRefused()
        ctx = Context(work, signed_in.principal, now, settings, clock, pending)
        page = Page(ctx, signed_in, form)
        request.state.page = page  # an error page keeps the header (name, sign-out)
        yield page


PageDep = Annotated[Page, Depends(get_page, scope="function")]
