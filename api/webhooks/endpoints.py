"""Care teams' webhook endpoints and their delivery log, as services (no HTTP here).

A coordinator manages the endpoints of the teams they belong to. An admin may list and delete
any team's endpoints, but registering one and reading or resending deliveries (which carry
patient ids and alert sentences) belong to the team's coordinators.
A team the caller may not manage is reported as absent, exactly like a team that does not
exist. The secret is returned once, by ``register_endpoint``, and never again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.services.errors import Conflict, Forbidden, InvalidInput, NotFound
from api.services.teams import check_team
from api.services.tokens import Principal
from api.store.webhooks import (
    EVENT_TYPES,
    Delivery,
    DeliveryAttempt,
    DeliveryStatus,
    WebhookEndpoint,
)
from api.webhooks.addresses import UrlRefused, check_url
from api.webhooks.secret_box import SecretBox, SecretKeyMissing
from api.webhooks.signing import generate_secret

MAX_PAGE = 200


@dataclass(frozen=True)
class RegisteredEndpoint:
    endpoint: WebhookEndpoint
    secret: str  # shown to the caller this once


def register_endpoint(
    session: Session,
    *,
    principal: Principal,
    team_id: int,
    url: str,
    event_types: Sequence[str] | None = None,
    description: str = "",
    now: datetime,
    secrets: SecretBox,
    allow_private: bool = False,
    max_endpoints: int = 10,
) -> RegisteredEndpoint:
    """Registers an endpoint of the team; its URL must be https:// and resolve to public
    addresses (``api.webhooks.addresses``), its secret is stored encrypted."""
    _check_team(session, principal=principal, team_id=team_id, patient_data=True)
    try:
        check_url(url, allow_private=allow_private)
    except UrlRefused as error:
        raise InvalidInput(str(error), field="url") from error
    wanted = list(EVENT_TYPES) if event_types is None else list(dict.fromkeys(event_types))
    unknown = sorted(set(wanted) - set(EVENT_TYPES))
    if unknown or not wanted:
        raise InvalidInput(
            f"event_types must be a non-empty subset of {list(EVENT_TYPES)}"
            + (f"; unknown: {unknown}" if unknown else ""),
            field="event_types",
        )
    if "alert.opened" in wanted and "alert.refired" not in wanted:
        # who hears of an urgent alert opening must hear of it firing again
        wanted.append("alert.refired")
    registered = session.scalar(
        select(func.count())
        .select_from(WebhookEndpoint)
        .where(WebhookEndpoint.team_id == team_id, WebhookEndpoint.active.is_(True))
    )
    if (registered or 0) >= max_endpoints:
        raise Conflict(
            f"team {team_id} has {registered} webhook endpoints, the most a team may have; "
            "delete one first"
        )
    secret = generate_secret()
    try:
        sealed = secrets.seal(secret)
    except SecretKeyMissing as error:
        raise Conflict(str(error)) from error
    endpoint = WebhookEndpoint(
        team_id=team_id,
        url=url,
        secret=sealed,
        event_types=wanted,
        description=description,
        active=True,
        created_at=now,
    )
    session.add(endpoint)
    session.flush()
    return RegisteredEndpoint(endpoint=endpoint, secret=secret)


def list_endpoints(
    session: Session, *, principal: Principal, team_id: int
) -> list[WebhookEndpoint]:
    _check_team(session, principal=principal, team_id=team_id)
    return list(
        session.scalars(
            select(WebhookEndpoint)
            .where(WebhookEndpoint.team_id == team_id, WebhookEndpoint.active.is_(True))
            .order_by(WebhookEndpoint.id)
        )
    )


def delete_endpoint(
    session: Session, *, principal: Principal, team_id: int, endpoint_id: int, now: datetime
) -> None:
    """Stops deliveries to the endpoint. Its delivery log stays readable; events still
    waiting for it are marked failed rather than silently dropped."""
    endpoint = _team_endpoint(
        session, principal=principal, team_id=team_id, endpoint_id=endpoint_id
    )
    endpoint.active = False
    waiting = session.scalars(
        select(Delivery).where(
            Delivery.endpoint_id == endpoint.id, Delivery.status == DeliveryStatus.PENDING
        )
    )
    for delivery in waiting:
        delivery.status = DeliveryStatus.FAILED
        delivery.next_attempt_at = None
        delivery.last_error = f"endpoint deleted at {now.isoformat()}"
    session.flush()


def list_deliveries(
    session: Session,
    *,
    principal: Principal,
    team_id: int,
    status: str | None = None,
    endpoint_id: int | None = None,
    limit: int = 50,
    before_id: int | None = None,
) -> list[Delivery]:
    """The team's deliveries, newest first; page with ``before_id`` (the last id seen)."""
    _check_team(session, principal=principal, team_id=team_id, patient_data=True)
    query = (
        select(Delivery)
        .join(WebhookEndpoint, Delivery.endpoint_id == WebhookEndpoint.id)
        .where(WebhookEndpoint.team_id == team_id)
        .order_by(Delivery.id.desc())
        .limit(min(max(limit, 1), MAX_PAGE + 1))  # one more tells the caller a page follows
    )
    if status is not None:
        if status not in {member.value for member in DeliveryStatus}:
            raise InvalidInput(
                f"status must be one of {[m.value for m in DeliveryStatus]}", field="status"
            )
        query = query.where(Delivery.status == status)
    if endpoint_id is not None:
        query = query.where(Delivery.endpoint_id == endpoint_id)
    if before_id is not None:
        query = query.where(Delivery.id < before_id)
    return list(session.scalars(query))


def list_attempts(
    session: Session, *, principal: Principal, team_id: int, delivery_id: int
) -> list[DeliveryAttempt]:
    _check_team(session, principal=principal, team_id=team_id, patient_data=True)
    delivery = session.scalar(
        select(Delivery)
        .join(WebhookEndpoint, Delivery.endpoint_id == WebhookEndpoint.id)
        .where(Delivery.id == delivery_id, WebhookEndpoint.team_id == team_id)
    )
    if delivery is None:
        raise NotFound(f"no delivery {delivery_id} for team {team_id}")
    return list(delivery.attempt_log)


def redeliver(
    session: Session, *, principal: Principal, team_id: int, delivery_id: int, now: datetime
) -> Delivery:
    """Sends a delivery again, whatever became of it (delivered, failed, waiting for a retry):
    it is due at once, with the same ``webhook-id`` and a fresh allowance of attempts; its
    attempt log is kept."""
    _check_team(session, principal=principal, team_id=team_id, patient_data=True)
    delivery = session.scalar(
        select(Delivery)
        .join(WebhookEndpoint, Delivery.endpoint_id == WebhookEndpoint.id)
        .where(Delivery.id == delivery_id, WebhookEndpoint.team_id == team_id)
    )
    if delivery is None:
        raise NotFound(f"no delivery {delivery_id} for team {team_id}")
    if not delivery.endpoint.active:
        raise Conflict(f"the endpoint of delivery {delivery_id} was deleted")
    if delivery.claim_token is not None and delivery.status == DeliveryStatus.PENDING:
        raise Conflict(f"delivery {delivery_id} is being sent right now")
    delivery.status = DeliveryStatus.PENDING
    delivery.attempts = 0
    delivery.next_attempt_at = now
    delivery.delivered_at = None
    delivery.last_error = None
    session.flush()
    return delivery


def _team_endpoint(
    session: Session, *, principal: Principal, team_id: int, endpoint_id: int
) -> WebhookEndpoint:
    _check_team(session, principal=principal, team_id=team_id)
    endpoint = session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None or endpoint.team_id != team_id or not endpoint.active:
        raise NotFound(f"no webhook endpoint {endpoint_id} for team {team_id}")
    return endpoint


def _check_team(
    session: Session, *, principal: Principal, team_id: int, patient_data: bool = False
) -> None:
    """Coordinators of the team; an admin too for what carries no patient data (listing and
    deleting endpoints). Deliveries hold patient ids and sentences, and a registration decides
    where they go: those are the team's coordinators' alone."""
    if principal.role not in {"coordinator", "admin"}:
        raise Forbidden("only a care team's coordinators or an admin manage its webhooks")
    if principal.role == "admin" and patient_data:
        raise Forbidden(
            "webhook deliveries carry patient data: only the team's coordinators register "
            "endpoints and read or resend deliveries"
        )
    check_team(session, principal=principal, team_id=team_id, admins=True)
