"""The care coordinator's web inbox, served by `phenowatch serve` in the service's own process:
sign-in, the inbox, alert and patient pages, my patients, and the OpenAPI docs, with every
script and style served from ``static/`` (nothing from the internet)."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.services.errors import Conflict, Forbidden, NotFound, ServiceError
from api.web import inbox, patients, signin
from api.web.context import COOKIE, CsrfRefused, SignInRequired
from api.web.render import is_htmx, render

STATIC = Path(__file__).resolve().parent / "static"
VENDOR = "/static/vendor"


def install(app: FastAPI) -> None:
    """Adds the inbox's pages, the static files and the offline docs to ``app`` (built with
    ``docs_url=None, redoc_url=None``)."""
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for module in (signin, inbox, patients):
        app.include_router(module.router)
    app.add_api_route("/", _home, include_in_schema=False)
    app.add_api_route("/docs", _swagger, include_in_schema=False)
    app.add_api_route("/redoc", _redoc, include_in_schema=False)
    _html_errors_on_pages(app)


async def _home() -> Response:
    return RedirectResponse("/inbox", status_code=307)


async def _swagger(request: Request) -> HTMLResponse:
    return render(
        "docs.html", title=f"{request.app.title} – API docs", openapi_url=request.app.openapi_url
    )


async def _redoc(request: Request) -> HTMLResponse:
    return get_redoc_html(
        openapi_url=request.app.openapi_url,
        title=f"{request.app.title} – API reference",
        redoc_js_url=f"{VENDOR}/redoc/redoc.standalone.js",
        redoc_favicon_url="/static/favicon.svg",
        with_google_fonts=False,
    )


def _html_errors_on_pages(app: FastAPI) -> None:
    """Errors on the inbox's pages answer a page (or the sign-in page); the API keeps its
    problem+json answers (api.problems)."""
    api_http = app.exception_handlers[StarletteHTTPException]
    api_service = app.exception_handlers[ServiceError]

    async def on_http(request: Request, error: Exception) -> Response:
        if not _is_page(request):
            return await _delegate(api_http, request, error)
        if isinstance(error, SignInRequired):
            return _to_sign_in(request)
        assert isinstance(error, StarletteHTTPException)
        message = (
            str(error.detail)
            if isinstance(error, CsrfRefused)
            else _STATUS_TEXT.get(error.status_code, "Something went wrong.")
        )
        return render("error.html", error.status_code, message=message, page=_page(request))

    async def on_service(request: Request, error: Exception) -> Response:
        if not _is_page(request):
            return await _delegate(api_service, request, error)
        assert isinstance(error, ServiceError)
        status = {NotFound: 404, Forbidden: 403, Conflict: 409}.get(type(error), 422)
        return render("error.html", status, message=error.message, page=_page(request))

    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(ServiceError, on_service)


_STATUS_TEXT = {404: "There is no such page.", 405: "That cannot be done here."}


async def _delegate(handler: Callable[..., Any], request: Request, error: Exception) -> Response:
    answer = handler(request, error)
    return cast(Response, await answer if inspect.isawaitable(answer) else answer)


def _page(request: Request) -> object:
    return getattr(request.state, "page", None)


def _is_page(request: Request) -> bool:
    return request.url.path == "/inbox" or request.url.path.startswith("/inbox/")


def _to_sign_in(request: Request) -> Response:
    target = request.url.path if request.method == "GET" else "/inbox"
    if request.method == "GET" and request.url.query:
        target += "?" + request.url.query
    ended = "1" if COOKIE in request.cookies else ""
    location = f"/inbox/sign-in?next={quote(target, safe='')}" + (
        f"&ended={ended}" if ended else ""
    )
    if is_htmx(request):
        return Response(status_code=401, headers={"HX-Redirect": location})
    response = RedirectResponse(location, status_code=303)
    if ended:
        response.delete_cookie(COOKIE, path="/")
    return response
