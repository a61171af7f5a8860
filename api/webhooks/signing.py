"""Standard Webhooks signing: secrets, message ids and the three signature headers.

A receiver verifies a delivery with any Standard Webhooks library, for example
``standardwebhooks.Webhook(secret).verify(body, headers)``. The signature covers
``{webhook-id}.{webhook-timestamp}.{body}``, so the body must be sent byte for byte as signed.
"""

from __future__ import annotations

import base64
import secrets
import uuid
from datetime import UTC, datetime
from math import floor

from standardwebhooks import Webhook

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32


def generate_secret() -> str:
    """A fresh endpoint secret, ``whsec_`` followed by 32 random bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def new_message_id() -> str:
    """The webhook-id of one event for one endpoint; it stays the same on every retry so a
    receiver can drop duplicates."""
    return f"msg_{uuid.uuid4().hex}"


def signed_headers(*, secret: str, message_id: str, body: str, sent_at: datetime) -> dict[str, str]:
    """The headers of one delivery attempt.

    ``sent_at`` is the wall-clock time of the attempt: receivers reject timestamps more than a
    few minutes from their own clock, so a retry is signed afresh with its own time."""
    if sent_at.tzinfo is None:
        raise ValueError("sent_at must be timezone-aware")
    signature = Webhook(secret).sign(message_id, sent_at.astimezone(UTC), body)
    return {
        "content-type": "application/json",
        "webhook-id": message_id,
        "webhook-timestamp": str(floor(sent_at.timestamp())),
        "webhook-signature": signature,
    }
