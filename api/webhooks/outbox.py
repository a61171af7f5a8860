"""The transactional outbox: alert changes become deliveries in the caller's transaction.

The payload a care team's system receives (``Content-Type: application/json``)::

    {
      "type": "alert.opened",            # alert.opened | alert.refired | alert.acknowledged
                                         # | alert.resolved | alert.escalated
      "timestamp": "2026-11-24T08:15:02Z",  # when the change happened (UTC, ISO 8601)
      "data": {
        "alert_id": 42,
        "patient_id": "p-0012",          # the opaque id the team enrolled the patient under
        "team_id": 3,
        "kind": "phq9_safety",           # phq9_safety | phq9_relapse | passive_change | data_gap
        "severity": "urgent",            # urgent | high | moderate | info
        "status": "open",                # open | acknowledged | resolved (after this change)
        "fired_on": "2026-11-24",
        "window_start": "2026-11-24", "window_end": "2026-11-24",
        "explanation": "PHQ-9 item 9 answered 1 (several days) on 2026-11-24",
        "opened_at": "...", "acknowledged_at": null, "resolved_at": null, "escalated_at": null,
        "url": "https://phenowatch.example.org/v1/alerts/42",  # GET it with a team token
        "detected_issue_id": "42"        # the alert as FHIR: GET /fhir/DetectedIssue/42
      },
      "firing": {                        # alert.refired only: the new firing's own signal
        "fired_on": "2026-11-26", "window_start": "2026-11-26", "window_end": "2026-11-26",
        "explanation": "On the PHQ-9 of 26 Nov 2026 the patient scored item 9 ... 2 of 3; ...",
        "metrics": ["phq9_item_9"]
      }
    }

``data`` tells the alert's story: the day, window and sentence of the signal that opened it.
``alert.refired`` is sent when an urgent alert fires again while it is open or acknowledged
(every PHQ-9 answer with item 9 above zero does); ``firing`` is that new firing.

Headers follow Standard Webhooks (``webhook-id``, ``webhook-timestamp``, ``webhook-signature``,
see ``api.webhooks.signing``). ``webhook-id`` is the same on every retry of one event for one
endpoint; receivers should treat it as an idempotency key. Events of one alert may arrive out
of order after retries: order them by ``timestamp`` or read the alert at ``url``.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.alert_shape import ALERT_SUMMARY, alert_shape, detected_issue_id
from api.store.alerts import Alert, SignalRecord
from api.store.people import Patient
from api.store.webhooks import EVENT_TYPES, Delivery, DeliveryStatus, WebhookEndpoint
from api.webhooks.signing import new_message_id

#: the alert's fields in a payload's ``data`` (its id as ``alert_id``), the receivers' contract
PAYLOAD_FIELDS = (
    "patient_id",
    *ALERT_SUMMARY,
    "opened_at",
    "acknowledged_at",
    "resolved_at",
    "escalated_at",
)
#: which alert timestamp marks each event
_EVENT_TIME_FIELD = {
    "alert.opened": "opened_at",
    "alert.acknowledged": "acknowledged_at",
    "alert.resolved": "resolved_at",
    "alert.escalated": "escalated_at",
}


def enqueue(
    session: Session,
    *,
    alert: Alert,
    event_type: str,
    now: datetime,
    public_url: str = "",
    firing: SignalRecord | None = None,
) -> list[Delivery]:
    """Adds one pending delivery per active endpoint of the alert's care team that subscribes
    to ``event_type``; returns them (flushed, so their ids are known). Never commits.

    ``now`` is the time of the change on the alert service's clock, so deliveries are due on
    the same clock as everything else. ``public_url`` is the service's external base URL
    (``Settings.public_url``) for the alert link; without it the link is the path alone."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown webhook event type {event_type!r}; known: {EVENT_TYPES}")
    # the patient's team's endpoints in one query (a team without any, the usual case for an
    # alert of a replay or a small clinic, costs no second one)
    endpoints = session.scalars(
        select(WebhookEndpoint)
        .join(Patient, Patient.team_id == WebhookEndpoint.team_id)
        .where(Patient.id == alert.patient_id, WebhookEndpoint.active.is_(True))
        .order_by(WebhookEndpoint.id)
    ).all()
    subscribed = [endpoint for endpoint in endpoints if endpoint.subscribes_to(event_type)]
    if not subscribed:
        return []
    team_id = subscribed[0].team_id
    session.flush()  # the alert's id is needed in the payload
    payload = render_payload(
        alert,
        team_id=team_id,
        event_type=event_type,
        now=now,
        public_url=public_url,
        firing=firing,
    )
    deliveries = [
        Delivery(
            endpoint_id=endpoint.id,
            alert_id=alert.id,
            event_type=event_type,
            message_id=new_message_id(),
            payload=payload,
            status=DeliveryStatus.PENDING,
            urgent=alert.severity == "urgent",
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
        for endpoint in subscribed
    ]
    session.add_all(deliveries)
    session.flush()
    return deliveries


def render_payload(
    alert: Alert,
    *,
    team_id: int | None,
    event_type: str,
    now: datetime,
    public_url: str = "",
    firing: SignalRecord | None = None,
) -> str:
    """The JSON text of one event, compact and with sorted keys (it is signed as is)."""
    occurred_at = _event_time(alert, event_type) or now
    data = {
        "alert_id": alert.id,
        "team_id": team_id,
        **alert_shape(alert, fields=PAYLOAD_FIELDS),
        "url": f"{public_url.rstrip('/')}/v1/alerts/{alert.id}",
        "detected_issue_id": detected_issue_id(alert.id),
    }
    event: dict[str, Any] = {"type": event_type, "timestamp": occurred_at, "data": data}
    if firing is not None:
        event["firing"] = {
            "fired_on": firing.fired_on,
            "window_start": firing.window_start,
            "window_end": firing.window_end,
            "explanation": firing.explanation,
            "metrics": firing.metrics,
        }
    return json.dumps(event, default=_json_value, sort_keys=True, separators=(",", ":"))


def _event_time(alert: Alert, event_type: str) -> datetime | None:
    """The alert's own time of the event; None for a refiring (its time is the caller's now)."""
    field = _EVENT_TIME_FIELD.get(event_type)
    return getattr(alert, field) if field else None


def _json_value(value: Any) -> str:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"cannot put {type(value).__name__} in a webhook payload")
