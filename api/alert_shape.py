"""An alert's public shape, given by one function to every interface that shows alerts.

The REST API (``routes/schemas.py``), webhook payloads (``webhooks/outbox.py``), a patient's
timeline (``services/timeline.py``), the replay's ``alerts.jsonl`` and its report
(``replay/outputs.py``, ``report/model.py``) and any new interface (FHIR, the web inbox) take an
alert from ``alert_shape``: the same names and the same values everywhere. Values stay Python
(``date``, ``datetime``, ``str``, ``int``); each interface writes them in its own format and
picks the fields it shows, in its own order, with ``fields``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row

from api.store import Alert

#: every public field of an alert, in the API's order
ALERT_FIELDS = (
    "id",
    "patient_id",
    "kind",
    "severity",
    "status",
    "explanation",
    "detector",
    "detector_version",
    "fired_on",
    "window_start",
    "window_end",
    "last_fired_on",
    "opened_at",
    "acknowledged_at",
    "resolved_at",
    "escalated_at",
    # the coordinator who took the alert on (None: nobody yet)
    "assignee_user_id",
)
#: what every interface shows of an alert at the least, in this order
ALERT_SUMMARY = (
    "kind",
    "severity",
    "status",
    "fired_on",
    "window_start",
    "window_end",
    "explanation",
)
#: the names of the metrics whose change the alert reports, from its evidence
METRICS = "metrics"


def alert_shape(alert: Alert | Row[Any], *, fields: Sequence[str] = ALERT_FIELDS) -> dict[str, Any]:
    """The alert's public fields named in ``fields``, in that order.

    ``alert`` is a stored alert or a row of its columns (a listing page reads no evidence);
    ``metrics`` is one of the fields only for a stored alert, whose evidence is at hand."""
    shape: dict[str, Any] = {}
    for name in fields:
        if name == METRICS:
            if not isinstance(alert, Alert):
                raise TypeError("an alert's metrics come from its evidence: pass the Alert")
            shape[name] = list((alert.evidence or {}).get(METRICS, []))
        elif name in ALERT_FIELDS:
            shape[name] = getattr(alert, name)
        else:
            raise ValueError(f"{name!r} is not a public field of an alert")
    return shape


def detected_issue_id(alert_id: int) -> str:
    """The id of an alert's FHIR DetectedIssue (its Task and Flag share it), as webhook payloads
    and the FHIR interface both name it."""
    return str(alert_id)
