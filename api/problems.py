"""RFC 9457 problem details, in one place: every error the API answers is
``application/problem+json`` with type, title, status, detail and, where it applies, the field
or file that was wrong. Unexpected errors answer 500 without internals."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import DataError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from api.services.errors import Conflict, Forbidden, InvalidInput, NotFound, ServiceError
from ingest.errors import IngestError, UnknownFormatError

log = logging.getLogger(__name__)

MEDIA_TYPE = "application/problem+json"
TYPE_BASE = "https://phenowatch.dev/problems/"


class Problem(BaseModel):
    """An RFC 9457 problem: what every error answer of the API is."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(description="a URI naming the kind of problem, or about:blank")
    title: str
    status: int
    detail: str | None = None
    field: str | None = Field(default=None, description="the request field that was wrong")
    errors: list[dict[str, str]] | None = Field(
        default=None, description="every invalid field with its message"
    )


class PayloadTooLarge(Exception):
    def __init__(self, limit: int) -> None:
        self.limit = limit
        super().__init__(f"the upload is larger than the limit of {limit} bytes")


def problem(
    status: int,
    title: str,
    detail: str | None = None,
    *,
    code: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": TYPE_BASE + code if code else "about:blank",
        "title": title,
        "status": status,
    }
    if detail:
        body["detail"] = detail
    body.update({key: value for key, value in extra.items() if value is not None})
    headers = dict(headers or {})
    if status == 401:
        headers.setdefault("WWW-Authenticate", "Bearer")
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers or None)


def _allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at the request's path (a route, or an included router,
    matches fully only for a method it serves)."""
    routes = request.app.router.routes
    allowed = {
        method
        for method in ("GET", "POST", "PUT", "PATCH", "DELETE")
        if any(
            route.matches({**request.scope, "method": method})[0] == Match.FULL for route in routes
        )
    }
    if "GET" in allowed:
        allowed.add("HEAD")
    return sorted(allowed)


_LARGEST_INTEGER = 2**63 - 1
_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    429: "Too Many Requests",
}

_SERVICE_STATUS: dict[type[ServiceError], tuple[int, str]] = {
    NotFound: (404, "Not Found"),
    Forbidden: (403, "Forbidden"),
    Conflict: (409, "Conflict"),
    InvalidInput: (422, "Invalid input"),
}


def install(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, error: RequestValidationError) -> JSONResponse:
        errors = [
            {
                "field": ".".join(str(part) for part in e.get("loc", ()) if part != "body")
                or "body",
                "message": e.get("msg", "invalid"),
            }
            for e in error.errors()
        ]
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        first = error.errors()[0].get("loc", ()) if error.errors() else ()
        named = [str(p) for p in first if p not in ("body", "query", "path", "header", "cookie")]
        return problem(
            422,
            "Invalid request",
            detail,
            code="invalid-request",
            field=named[0] if named else "body",  # the top-level field; errors go deeper
            errors=errors,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, error: StarletteHTTPException) -> JSONResponse:
        detail = error.detail if isinstance(error.detail, str) else None
        # keeps the headers the error carries: Retry-After on a 429, Allow on a 405 (with every
        # method of the path, which may be served by several routes)
        headers = dict(error.headers or {})
        if error.status_code == 405:
            headers["Allow"] = ", ".join(_allowed_methods(request))
        return problem(
            error.status_code, _TITLES.get(error.status_code, "Error"), detail, headers=headers
        )

    @app.exception_handler(OverflowError)
    @app.exception_handler(DataError)
    async def _out_of_range(request: Request, _: Exception) -> JSONResponse:
        # a route that forgot to bound an id: name the parameter the database could not hold
        given = {**request.query_params, **request.path_params}
        field = next(
            (
                name
                for name, value in given.items()
                if isinstance(value, str) and value.isascii() and value.lstrip("-").isdigit()
                if abs(int(value)) > _LARGEST_INTEGER
            ),
            None,
        )
        return problem(
            422,
            "Invalid request",
            f"{field or 'a number'}: out of the range phenowatch stores",
            code="invalid-request",
            field=field,
        )

    @app.exception_handler(OperationalError)
    @app.exception_handler(InterfaceError)
    @app.exception_handler(PoolTimeout)
    async def _database_down(request: Request, error: Exception) -> JSONResponse:
        log.error("database unavailable on %s %s", request.method, request.url.path)
        return problem(
            503,
            "Service Unavailable",
            "the database does not answer; try again shortly",
            code="database-unavailable",
            headers={"Retry-After": "5"},
        )

    @app.exception_handler(ServiceError)
    async def _service(_: Request, error: ServiceError) -> JSONResponse:
        status, title = _SERVICE_STATUS.get(type(error), (400, "Bad Request"))
        field = getattr(error, "field", None)
        return problem(status, title, error.message, code=error.code, field=field)

    @app.exception_handler(IngestError)
    async def _ingest(_: Request, error: IngestError) -> JSONResponse:
        status = 415 if isinstance(error, UnknownFormatError) else 422
        return problem(
            status,
            "The file could not be read",
            str(error),
            code=error.code,
            file=error.file,
            record=None if error.record is None else str(error.record),
        )

    @app.exception_handler(PayloadTooLarge)
    async def _too_large(_: Request, error: PayloadTooLarge) -> JSONResponse:
        return problem(413, "Payload Too Large", str(error), code="too-large", limit=error.limit)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, error: Exception) -> JSONResponse:
        # the path, not the query or body: neither may carry PHI or tokens into the log
        log.error("unexpected %s on %s %s", type(error).__name__, request.method, request.url.path)
        return problem(500, "Internal Server Error", "something went wrong on our side")
