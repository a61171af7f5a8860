"""phenowatch's tables. Importing this package registers every model on ``Base.metadata``."""

from __future__ import annotations

from api.store.alerts import Alert, AlertEvent, SignalRecord
from api.store.audit import AuditEntry
from api.store.base import Base
from api.store.calendar import CalendarNote
from api.store.health import Night, Phq9Entry, Phq9Submission
from api.store.people import CareTeam, Membership, Patient, User
from api.store.tokens import ApiToken
from api.store.uploads import Upload
from api.store.web import SignInLink, WebSession
from api.store.webhooks import Delivery, DeliveryAttempt, WebhookEndpoint

__all__ = [
    "Alert",
    "AlertEvent",
    "ApiToken",
    "AuditEntry",
    "Base",
    "CalendarNote",
    "CareTeam",
    "Delivery",
    "DeliveryAttempt",
    "Membership",
    "Night",
    "Patient",
    "Phq9Entry",
    "Phq9Submission",
    "SignInLink",
    "SignalRecord",
    "Upload",
    "User",
    "WebSession",
    "WebhookEndpoint",
]
