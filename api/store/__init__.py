"""phenowatch's tables. Importing this package registers every model on ``Base.metadata``."""

from __future__ import annotations

import importlib.util

from api.store.alerts import Alert, AlertEvent, SignalRecord
from api.store.audit import AuditEntry
from api.store.base import Base
from api.store.health import Night, Phq9Entry
from api.store.people import CareTeam, Membership, Patient, User
from api.store.tokens import ApiToken
from api.store.uploads import Upload

# webhook endpoints and deliveries live in their own module (revision 0002_webhooks)
if importlib.util.find_spec("api.store.webhooks") is not None:
    importlib.import_module("api.store.webhooks")

__all__ = [
    "Alert",
    "AlertEvent",
    "ApiToken",
    "AuditEntry",
    "Base",
    "CareTeam",
    "Membership",
    "Night",
    "Patient",
    "Phq9Entry",
    "SignalRecord",
    "Upload",
    "User",
]
