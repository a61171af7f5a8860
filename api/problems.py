"""RFC 9457 problem details, in one place: every error the API answers is
``application/problem+json`` with type, title, status, detail and, where it applies, the field
or file that was wrong. Unexpected errors answer 500 without internals."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.services.errors import Conflict, Forbidden, InvalidInput, NotFound, ServiceError
from ingest.errors import IngestError, UnknownFormatError

log = logging.getLogger(__name__)

MEDIA_TYPE = "application/problem+json"
TYPE_BASE = "https://phenowatch.dev/problems/"


class PayloadTooLarge(Exception):
    def __init__(self, limit: int) -> None:
        self.limit = limit
        super().__init__(f"the upload is larger than the limit of {limit} bytes")


def problem(
    status: int, title: str, detail: str | None = None, *, code: str | None = None, **extra: Any
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": TYPE_BASE + code if code else "about:blank",
        "title": title,
        "status": status,
    }
    if detail:
        body["detail"] = detail
    body.update({key: value for key, value in extra.items() if value is not None})
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


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
        return problem(422, "Invalid request", detail, code="invalid-request", errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, error: StarletteHTTPException) -> JSONResponse:
        title = {401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed"}
        detail = error.detail if isinstance(error.detail, str) else None
        return problem(error.status_code, title.get(error.status_code, "Error"), detail)

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
