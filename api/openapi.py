"""The OpenAPI document, made to say what the service answers.

FastAPI documents its own 422 shape; phenowatch answers every error as an RFC 9457 problem
(``application/problem+json``). The document is generated as usual, then each operation's
error answers are described from what the service does for every route alike:

- 401, 403 and 429 where a bearer token is needed (no or a bad token, the wrong role, too many
  failed attempts from one address), 404 where the path names something (absent and not
  yours are the same answer), 409 on a POST (it contradicts what is stored);
- 413 and 422 where there is a body (larger than the limit; invalid), 415 where the body is a
  file (not a format phenowatch reads), 422 where there are parameters, and 503 everywhere
  (the database does not answer).

A route may still declare its own error answers; they are given the problem shape too.
Operation ids are the routes' function names: stable, and unique (checked by the tests).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute

from api.problems import MEDIA_TYPE, Problem

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
_DESCRIPTIONS = {
    "400": "Bad Request: the request could not be read",
    "401": "Unauthorized: no valid bearer token",
    "403": "Forbidden: the caller's role may not do this",
    "404": "Not Found: absent, or not the caller's (never told apart)",
    "409": "Conflict: the request contradicts what is stored",
    "413": "Payload Too Large: the body is larger than the limit",
    "415": "Unsupported Media Type: not a format phenowatch reads",
    "422": "Invalid request: the field named in the problem is wrong",
    "429": "Too Many Requests: too many failed authentications from this address",
    "503": "Service Unavailable: the database does not answer",
}
_WRITES = {"post", "put", "patch", "delete"}
_JSON_TYPES = ("application/json",)


def operation_id(route: APIRoute) -> str:
    """The route's function name, e.g. ``list_alerts``."""
    return route.name


def install(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                summary=app.summary,
                description=app.description,
                routes=app.routes,
            )
            app.openapi_schema = describe_problems(schema)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def describe_problems(schema: dict[str, Any]) -> dict[str, Any]:
    for path, item in schema.get("paths", {}).items():
        for method, operation in item.items():
            if method in {"get", "post", "put", "patch", "delete", "head", "options"}:
                _describe(path, method, operation)
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["Problem"] = Problem.model_json_schema()
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)
    return schema


def _describe(path: str, method: str, operation: dict[str, Any]) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    codes = {"503"}
    if operation.get("security"):
        codes |= {"401", "403", "429"}
    if "{" in path:
        codes.add("404")
    body = operation.get("requestBody")
    if body is not None:
        codes |= {"413", "422"}
        if any(not media.endswith("json") for media in body.get("content", {})):
            codes.add("415")
    if operation.get("parameters"):
        codes.add("422")
    if method == "post" and operation.get("security"):
        codes.add("409")
    if method in _WRITES or body is not None:
        codes.add("400")
    for code in codes:
        responses.setdefault(code, {})
    for code, response in responses.items():
        if code[0] in "45":
            response["description"] = (
                _DESCRIPTIONS.get(code, "an error")
                if code == "422" or not response.get("description")
                else response["description"]
            )
            response["content"] = {MEDIA_TYPE: {"schema": PROBLEM_REF}}
