"""Care teams' webhook endpoints over HTTP: register (the secret is shown once), list, delete,
read the delivery log with every attempt, and send a delivery again. Coordinators of the team;
an admin may list and delete endpoints, not register them nor read deliveries.

What a registered endpoint receives is described in ``api.webhooks.outbox`` (the payload) and
``api.webhooks.signing`` (the Standard Webhooks headers); the same text is in the OpenAPI
description of ``POST /v1/teams/{team_id}/webhooks``."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response, status
from pydantic import BaseModel, Field

from api.auth import Context, require
from api.routes.schemas import Body, Id, Line
from api.store.webhooks import EVENT_TYPES, Delivery, DeliveryAttempt, WebhookEndpoint
from api.webhooks import endpoints as service
from api.webhooks.secret_box import SecretBox

EventType = Literal[
    "alert.opened", "alert.refired", "alert.acknowledged", "alert.resolved", "alert.escalated"
]
router = APIRouter(prefix="/v1/teams/{team_id}", tags=["webhooks"])
TeamManager = Annotated[Context, require("coordinator", "admin")]


class EndpointIn(Body):
    url: Line = Field(
        max_length=2048,
        json_schema_extra={"format": "uri", "pattern": "^https?://"},
        examples=["https://care.example.org/phenowatch"],
    )
    event_types: list[EventType] | None = Field(
        default=None, description=f"a subset of {list(EVENT_TYPES)}; all of them when absent"
    )
    description: Line = Field(default="", max_length=200)


class EndpointOut(BaseModel):
    id: int
    team_id: int
    url: str
    event_types: list[str]
    description: str
    active: bool
    created_at: datetime

    @classmethod
    def of(cls, endpoint: WebhookEndpoint) -> EndpointOut:
        return cls(
            id=endpoint.id,
            team_id=endpoint.team_id,
            url=endpoint.url,
            event_types=list(endpoint.event_types),
            description=endpoint.description,
            active=endpoint.active,
            created_at=endpoint.created_at,
        )


class RegisteredEndpointOut(EndpointOut):
    secret: str = Field(
        description="whsec_… signing secret for Standard Webhooks verification; shown only now"
    )


class EndpointList(BaseModel):
    items: list[EndpointOut]


class DeliveryOut(BaseModel):
    id: int
    endpoint_id: int
    alert_id: int
    event_type: str
    webhook_id: str
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None
    payload: dict[str, Any]

    @classmethod
    def of(cls, delivery: Delivery) -> DeliveryOut:
        return cls(
            id=delivery.id,
            endpoint_id=delivery.endpoint_id,
            alert_id=delivery.alert_id,
            event_type=delivery.event_type,
            webhook_id=delivery.message_id,
            status=str(delivery.status),
            attempts=delivery.attempts,
            next_attempt_at=delivery.next_attempt_at,
            last_error=delivery.last_error,
            created_at=delivery.created_at,
            delivered_at=delivery.delivered_at,
            payload=json.loads(delivery.payload),
        )


class DeliveryList(BaseModel):
    items: list[DeliveryOut]
    #: pass as ``before`` for the next (older) page; null on the last page
    next_cursor: int | None


class AttemptOut(BaseModel):
    id: int
    attempted_at: datetime
    status_code: int | None
    error: str | None
    duration_ms: float

    @classmethod
    def of(cls, attempt: DeliveryAttempt) -> AttemptOut:
        return cls(
            id=attempt.id,
            attempted_at=attempt.attempted_at,
            status_code=attempt.status_code,
            error=attempt.error,
            duration_ms=attempt.duration_ms,
        )


class AttemptList(BaseModel):
    items: list[AttemptOut]


REGISTER_DESCRIPTION = """
Registers an HTTPS endpoint of the team's own system (its host must resolve to public
internet addresses; at most 10 endpoints a team). The response carries the signing secret
(`whsec_…`) once: store it, it cannot be read again (delete and register anew to rotate it).
A failed attempt is logged for the team with a coarse reason only (no answer, refused, not
sent, address not allowed).

Each alert change is POSTed as JSON, signed per Standard Webhooks (`webhook-id`,
`webhook-timestamp`, `webhook-signature` headers; verify with any Standard Webhooks library,
e.g. `Webhook(secret).verify(body, headers)`). The body:

```json
{"type": "alert.opened", "timestamp": "2026-11-24T08:15:02Z",
 "data": {"alert_id": 42, "patient_id": "p-0012", "team_id": 3, "kind": "phq9_safety",
          "severity": "urgent", "status": "open", "fired_on": "2026-11-24",
          "window_start": "2026-11-24", "window_end": "2026-11-24",
          "explanation": "…", "opened_at": "…", "acknowledged_at": null,
          "resolved_at": null, "escalated_at": null,
          "url": "https://…/v1/alerts/42"}}
```

Types: `alert.opened`, `alert.refired` (an urgent alert fired again while open or
acknowledged, e.g. a new PHQ-9 item-9 answer; the body's `firing` holds that answer's own
day, window and sentence, `data` the alert's first), `alert.acknowledged`, `alert.resolved`,
`alert.escalated`. An endpoint subscribed to `alert.opened` also receives `alert.refired`.
Answer 2xx to accept; anything else (or no answer within 5 s) is retried with exponential
backoff and full jitter (waits drawn up to a ceiling doubling from 30 s to 6 h), up to 12
attempts over about 7 hours on average, with the same `webhook-id` (use it to drop
duplicates). Urgent alerts are sent at once, before the PHQ-9 submission that raised them is
answered.
"""


@router.post(
    "/webhooks",
    status_code=status.HTTP_201_CREATED,
    name="register_webhook",
    summary="Register a webhook endpoint (the secret is shown once)",
    description=REGISTER_DESCRIPTION,
)
def register_webhook(team_id: Id, body: EndpointIn, ctx: TeamManager) -> RegisteredEndpointOut:
    registered = service.register_endpoint(
        ctx.session,
        principal=ctx.principal,
        team_id=team_id,
        url=body.url,
        event_types=body.event_types,
        description=body.description,
        now=ctx.now,
        secrets=SecretBox.from_setting(ctx.settings.secret_keys),
        allow_private=ctx.settings.webhook_allow_private,
        max_endpoints=ctx.settings.webhook_max_endpoints,
    )
    shown = EndpointOut.of(registered.endpoint).model_dump()
    return RegisteredEndpointOut(**shown, secret=registered.secret)


@router.get("/webhooks", name="list_webhooks")
def list_webhooks(team_id: Id, ctx: TeamManager) -> EndpointList:
    found = service.list_endpoints(ctx.session, principal=ctx.principal, team_id=team_id)
    return EndpointList(items=[EndpointOut.of(endpoint) for endpoint in found])


@router.delete(
    "/webhooks/{endpoint_id}", status_code=status.HTTP_204_NO_CONTENT, name="delete_webhook"
)
def delete_webhook(team_id: Id, endpoint_id: Id, ctx: TeamManager) -> Response:
    service.delete_endpoint(
        ctx.session,
        principal=ctx.principal,
        team_id=team_id,
        endpoint_id=endpoint_id,
        now=ctx.now,
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/webhook-deliveries", name="list_webhook_deliveries")
def list_webhook_deliveries(
    team_id: Id,
    ctx: TeamManager,
    status: Annotated[
        Literal["pending", "delivered", "failed"] | None,
        Query(description="pending, delivered or failed"),
    ] = None,
    endpoint_id: Id | None = None,
    limit: Annotated[int, Query(ge=1, le=service.MAX_PAGE)] = 50,
    before: Annotated[Id | None, Query(description="next_cursor of the previous page")] = None,
) -> DeliveryList:
    found = service.list_deliveries(
        ctx.session,
        principal=ctx.principal,
        team_id=team_id,
        status=status,
        endpoint_id=endpoint_id,
        limit=limit + 1,
        before_id=before,
    )
    page = found[:limit]
    next_cursor = page[-1].id if len(found) > limit else None
    items = [DeliveryOut.of(d) for d in page]
    # the payloads carry patient data: each patient read here is audited
    ctx.audit.patient_ids.update(
        str(item.payload["data"]["patient_id"])
        for item in items
        if isinstance(item.payload.get("data"), dict) and "patient_id" in item.payload["data"]
    )
    return DeliveryList(items=items, next_cursor=next_cursor)


@router.get("/webhook-deliveries/{delivery_id}/attempts", name="list_webhook_attempts")
def list_webhook_attempts(team_id: Id, delivery_id: Id, ctx: TeamManager) -> AttemptList:
    found = service.list_attempts(
        ctx.session, principal=ctx.principal, team_id=team_id, delivery_id=delivery_id
    )
    return AttemptList(items=[AttemptOut.of(attempt) for attempt in found])


@router.post(
    "/webhook-deliveries/{delivery_id}/redeliver",
    status_code=status.HTTP_202_ACCEPTED,
    name="redeliver_webhook",
    summary="Send a delivery again (due at once, same webhook-id, a fresh allowance of attempts)",
)
def redeliver_webhook(team_id: int, delivery_id: int, ctx: TeamManager) -> DeliveryOut:
    delivery = service.redeliver(
        ctx.session, principal=ctx.principal, team_id=team_id, delivery_id=delivery_id, now=ctx.now
    )
    return DeliveryOut.of(delivery)
