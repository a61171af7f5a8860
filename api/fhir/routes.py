"""The FHIR R4 read interface under ``/fhir``: metadata, then read and search of each resource
type, authorised as the JSON API is (same tokens, roles, care-team scoping and audit entries).

Every answer is ``application/fhir+json``; every error, wherever it arises (authentication,
role, an unknown resource, a bad search parameter, an unknown path, a write), is an
``OperationOutcome``. The routes are left out of the OpenAPI document: a FHIR client learns the
interface from ``GET /fhir/metadata``, and a schema-driven fuzzer is better pointed there."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Request
from fastapi.routing import APIRoute
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from api.auth import CareReader, Context, Coordinator
from api.fhir import issues, reads
from api.fhir.capability import capability_statement
from api.fhir.format import MEDIA_TYPE, FhirResponse, error_response, searchset
from api.fhir.search import JSON_FORMATS, parse
from api.services.errors import Conflict, Forbidden, InvalidInput, NotFound
from api.services.patients import PATIENT_ID
from ingest.errors import IngestError

log = logging.getLogger(__name__)
RELEASED = datetime(2026, 12, 3, tzinfo=UTC)
_ACCEPTED = (
    "application/fhir+json",
    "application/json",
    "application/*",
    "*/*",
    "application/json+fhir",
)


class FhirRoute(APIRoute):
    """A FHIR route: refuses what is not FHIR JSON (406) before any work, and answers every
    error as an OperationOutcome. The errors are turned into answers where the app's own
    handlers would turn them into problem details: after the request's unit of work has
    recorded the outcome in the audit log."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        if any(ord(char) < 32 or ord(char) == 127 for char in scope["path"]):
            # no id phenowatch gives out holds one, and the audit log records the path
            await error_response(404, "no such FHIR resource")(scope, receive, send)
            return
        refusal = not_acceptable(Request(scope))
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        scope["starlette.exception_handlers"] = (_HANDLERS, {})
        await super().handle(scope, receive, send)


def not_acceptable(request: Request) -> Response | None:
    wanted = request.query_params.get("_format")
    if wanted is not None and wanted.strip().lower() not in JSON_FORMATS:
        return error_response(406, f"_format={wanted!r}: phenowatch answers FHIR JSON only")
    accept = request.headers.get("accept")
    if accept:
        types = [part.split(";", 1)[0].strip().lower() for part in accept.split(",")]
        if not any(t in _ACCEPTED for t in types):
            return error_response(
                406, f"phenowatch answers {MEDIA_TYPE} only; the request accepts {accept!r}"
            )
    return None


async def _outcome_of(request: Request, error: Exception) -> Response:
    if isinstance(error, HTTPException):
        detail = error.detail if isinstance(error.detail, str) else "request refused"
        return error_response(error.status_code, detail)
    if isinstance(error, NotFound):
        return error_response(404, error.message)
    if isinstance(error, Forbidden):
        return error_response(403, error.message)
    if isinstance(error, Conflict):
        return error_response(409, error.message)
    if isinstance(error, InvalidInput):
        return error_response(400, error.message)
    if isinstance(error, IngestError):
        return error_response(400, str(error))
    # the path, not the query: neither may carry PHI or tokens into the log
    log.error("unexpected %s on %s %s", type(error).__name__, request.method, request.url.path)
    return error_response(500, "something went wrong on our side")


_HANDLERS: dict[Any, Any] = {Exception: _outcome_of}
_READ = ["GET", "HEAD"]
router = APIRouter(prefix="/fhir", route_class=FhirRoute, include_in_schema=False)


@router.api_route("/metadata", methods=_READ, name="fhir_metadata")
def metadata(request: Request) -> Response:
    base = _external(request, "/fhir")
    version = request.app.version
    return FhirResponse(capability_statement(base_url=base, version=version, released=RELEASED))


#: what an id phenowatch gives out can look like; anything else is not known, unread
_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")


def _checked(resource_type: str, resource_id: str) -> str:
    if not _ID.fullmatch(resource_id):
        raise NotFound(f"{resource_type}/{resource_id[:64]} is not known")
    return resource_id


def _external(request: Request, path: str, query: str = "") -> str:
    """An absolute URL of this service: under PHENOWATCH_PUBLIC_URL when it is set (behind a
    proxy the request's own host is not the one clients use), else the request's."""
    public_url: str = request.app.state.settings.public_url
    base = public_url.rstrip("/") if public_url else str(request.base_url).rstrip("/")
    return f"{base}{path}" + (f"?{query}" if query else "")


def _bundle(request: Request, ctx: Context, page: reads.Page) -> Response:
    """The page as a searchset Bundle; the audit entry names every patient it showed."""
    ctx.audit.patient_ids.update(p for r in page.resources if (p := _patient_of(r)) is not None)
    items = request.query_params.multi_items()
    self_url = _external(request, request.url.path, urlencode(items))
    next_url = None
    if page.next_offset is not None:
        items = [(k, v) for k, v in items if k != "_offset"]
        items.append(("_offset", str(page.next_offset)))
        next_url = _external(request, request.url.path, urlencode(items))
    return FhirResponse(
        searchset(page.resources, total=page.total, self_url=self_url, next_url=next_url)
    )


def _patient_of(resource: dict[str, Any]) -> str | None:
    if resource["resourceType"] == "Patient":
        return str(resource["id"])
    subject = resource.get("subject") or resource.get("patient") or resource.get("for")
    if isinstance(subject, dict):
        return str(subject.get("reference", "")).removeprefix("Patient/")
    return None


def _audit_patient(ctx: Context, resource: dict[str, Any]) -> None:
    ctx.audit.patient_id = _patient_of(resource)


def _search_patient(ctx: Context, request: Request) -> None:
    wanted = request.query_params.get("patient") or request.query_params.get("subject")
    if wanted:
        patient_id = wanted.rstrip("/").rsplit("/", 1)[-1]
        ctx.audit.patient_id = patient_id if PATIENT_ID.fullmatch(patient_id) else None
    elif ctx.principal.role == "patient":
        ctx.audit.patient_id = ctx.principal.patient_id


# Patient, Observation, QuestionnaireResponse: the patient and their team's coordinators


@router.api_route("/Patient/{resource_id}", methods=_READ, name="fhir_read_patient")
def read_patient(resource_id: str, ctx: CareReader) -> Response:
    ctx.audit.patient_id = resource_id if PATIENT_ID.fullmatch(resource_id) else None
    return FhirResponse(
        reads.read_patient(ctx.session, ctx.principal, _checked("Patient", resource_id))
    )


@router.api_route("/Patient", methods=_READ, name="fhir_search_patient")
def search_patient(request: Request, ctx: CareReader) -> Response:
    search = parse("Patient", request.query_params.multi_items())
    return _bundle(request, ctx, reads.search_patients(ctx.session, ctx.principal, search))


@router.api_route("/Observation/{resource_id}", methods=_READ, name="fhir_read_observation")
def read_observation(resource_id: str, ctx: CareReader) -> Response:
    resource = reads.read_observation(
        ctx.session, ctx.principal, _checked("Observation", resource_id)
    )
    _audit_patient(ctx, resource)
    return FhirResponse(resource)


@router.api_route("/Observation", methods=_READ, name="fhir_search_observation")
def search_observation(request: Request, ctx: CareReader) -> Response:
    _search_patient(ctx, request)
    search = parse("Observation", request.query_params.multi_items())
    return _bundle(request, ctx, reads.search_observations(ctx.session, ctx.principal, search))


@router.api_route(
    "/QuestionnaireResponse/{resource_id}", methods=_READ, name="fhir_read_questionnaire_response"
)
def read_questionnaire_response(resource_id: str, ctx: CareReader) -> Response:
    resource = reads.read_response(
        ctx.session, ctx.principal, _checked("QuestionnaireResponse", resource_id)
    )
    _audit_patient(ctx, resource)
    return FhirResponse(resource)


@router.api_route(
    "/QuestionnaireResponse", methods=_READ, name="fhir_search_questionnaire_response"
)
def search_questionnaire_response(request: Request, ctx: CareReader) -> Response:
    _search_patient(ctx, request)
    search = parse("QuestionnaireResponse", request.query_params.multi_items())
    return _bundle(request, ctx, reads.search_responses(ctx.session, ctx.principal, search))


# DetectedIssue, Task, Flag: coordinators only, as the alerts of the JSON API


def _alert_routes(resource_type: str) -> None:
    slug = resource_type.lower()

    def read_alert(resource_id: str, ctx: Coordinator) -> Response:
        resource = issues.read(
            ctx.session, ctx.principal, resource_type, _checked(resource_type, resource_id)
        )
        _audit_patient(ctx, resource)
        return FhirResponse(resource)

    def search_alerts(request: Request, ctx: Coordinator) -> Response:
        _search_patient(ctx, request)
        search = parse(resource_type, request.query_params.multi_items())
        return _bundle(
            request, ctx, issues.search(ctx.session, ctx.principal, resource_type, search)
        )

    router.add_api_route(
        f"/{resource_type}/{{resource_id}}", read_alert, methods=_READ, name=f"fhir_read_{slug}"
    )
    router.add_api_route(
        f"/{resource_type}", search_alerts, methods=_READ, name=f"fhir_search_{slug}"
    )


for _type in issues.RESOURCE_TYPES:
    _alert_routes(_type)


@router.api_route(
    "/{rest:path}",
    methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
    name="fhir_unknown",
)
def unknown_path(rest: str, request: Request) -> Response:
    if request.method not in ("GET", "HEAD"):
        return error_response(405, "phenowatch's FHIR interface is read-only")
    return error_response(
        404, "no such FHIR resource or interaction here; GET /fhir/metadata lists what there is"
    )
