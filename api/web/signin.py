"""Signing in and out of the web inbox.

A coordinator pastes their API token, or opens a one-time link an admin made
(``phenowatch admin sign-in-link``); either becomes a session cookie (HttpOnly, SameSite=Lax,
Secure over TLS). The link's secret travels in the URL's fragment, which browsers never send
to a server, so it cannot land in a log or a Referer; a small script moves it into the form.
The sign-in form itself is guarded by a double-submit token (cookie and field must match).
"""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.auth import ClockDep, PendingAudit, SettingsDep, request_unit_of_work
from api.auth_failures import AuthFailures
from api.services.errors import ServiceError
from api.web import sessions
from api.web.context import COOKIE, CSRF_FIELD, CsrfRefused, PageDep, read_form
from api.web.render import render

router = APIRouter(prefix="/inbox", include_in_schema=False)

SIGN_IN_COOKIE = "phenowatch_sign_in"


@router.get("/sign-in", response_class=HTMLResponse)
def sign_in_page(request: Request, next: str = "/inbox", ended: str = "") -> Response:
    token = secrets.token_urlsafe(24)
    response = render("sign_in.html", csrf=token, next=_safe_next(next), error="", ended=ended)
    _set_cookie(response, request, SIGN_IN_COOKIE, token, path="/inbox/sign-in")
    return response


@router.post("/sign-in", name="sign_in", response_class=HTMLResponse)
def sign_in(
    request: Request,
    settings: SettingsDep,
    clock: ClockDep,
    form: Annotated[dict[str, str], Depends(read_form)],
) -> Response:
    offered, expected = form.get(CSRF_FIELD, ""), request.cookies.get(SIGN_IN_COOKIE, "")
    if not offered or not hmac.compare_digest(offered, expected):
        raise CsrfRefused()
    # the API's limit on failed authentications per address holds for the form too
    failures: AuthFailures = request.app.state.auth_failures
    address = request.client.host if request.client else "unknown"
    wait = failures.retry_after(address)
    if wait is not None:
        return _sign_in_again(form, offered, 429, f"Too many failed sign-ins: wait {wait} s.")
    pending = PendingAudit(action="sign_in", resource="POST /inbox/sign-in")
    request.state.audit = pending
    try:
        with request_unit_of_work(request) as work:
            session = work.session
            now = clock.now()
            if form.get("link"):
                signed_in = sessions.sign_in_with_link(session, secret=form["link"], now=now)
            else:
                signed_in = sessions.sign_in_with_token(
                    session, secret=form.get("token", ""), now=now
                )
            pending.principal = signed_in.principal
    except ServiceError as error:
        failures.failed(address)
        return _sign_in_again(form, offered, 401, error.message)
    response = RedirectResponse(_safe_next(form.get("next", "")), status_code=303)
    _set_cookie(response, request, COOKIE, signed_in.cookie, path="/")
    response.delete_cookie(SIGN_IN_COOKIE, path="/inbox/sign-in")
    return response


@router.post("/sign-out", name="sign_out")
def sign_out(request: Request, page: PageDep) -> Response:
    sessions.end(page.ctx.session, session_id=page.signed_in.session_id, now=page.ctx.now)
    response = RedirectResponse("/inbox/sign-in?ended=1", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


def _sign_in_again(form: dict[str, str], csrf: str, status: int, error: str) -> Response:
    return render(
        "sign_in.html",
        status_code=status,
        csrf=csrf,
        next=_safe_next(form.get("next", "")),
        error=error,
        ended="",
    )


def _safe_next(target: str) -> str:
    """Only a page of the inbox: never another site (an open redirect)."""
    if target.startswith("/inbox") and not target.startswith("//") and "\\" not in target:
        return target
    return "/inbox"


def _set_cookie(response: Response, request: Request, name: str, value: str, *, path: str) -> None:
    response.set_cookie(
        name,
        value,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path=path,
    )
