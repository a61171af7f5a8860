"""Helpers for the webhook tests: a care team, patients, urgent alerts, and registered endpoints.

The databases are the suite's own (tests/api/conftest.py: ``engine`` runs every test on SQLite
and on PostgreSQL, really committed, so several workers can share an outbox).
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from api.db import make_session_factory, transaction
from api.services.alerts import open_alert
from api.services.patients import create_patient, create_team
from api.store.alerts import Alert
from api.store.people import Patient
from api.store.webhooks import EVENT_TYPES, WebhookEndpoint
from api.unit_of_work import UnitOfWork
from api.webhooks.dispatch import Outbound
from api.webhooks.signing import generate_secret
from detect.signals import Kind, Severity, Signal

T0 = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
#: how the tests send: to their receivers on 127.0.0.1
LOCAL = Outbound(allow_private=True)


@pytest.fixture(name="webhook_db")
def webhook_db_fixture(engine: Engine) -> sessionmaker[Session]:
    """A session factory over the suite's migrated database (SQLite, then PostgreSQL)."""
    return make_session_factory(engine)


def add_team(factory: sessionmaker[Session], name: str = "north", *, now: datetime = T0) -> int:
    with transaction(factory) as session:
        return create_team(session, name=name, now=now).id


def add_endpoint(
    factory: sessionmaker[Session],
    *,
    team_id: int,
    url: str,
    event_types: tuple[str, ...] = EVENT_TYPES,
    now: datetime = T0,
) -> WebhookEndpoint:
    with transaction(factory) as session:
        endpoint = WebhookEndpoint(
            team_id=team_id,
            url=url,
            secret=generate_secret(),
            event_types=list(event_types),
            created_at=now,
        )
        session.add(endpoint)
        session.flush()
        return endpoint


def add_patient(session: Session, *, team_id: int, patient_id: str, now: datetime = T0) -> Patient:
    return create_patient(session, patient_id=patient_id, team_id=team_id, now=now)


#: kind -> (severity, explanation, detector) of the signals the webhook tests open alerts for
SIGNALS: dict[Kind, tuple[Severity, str, str]] = {
    "phq9_safety": ("urgent", "PHQ-9 item 9 answered 1 (several days)", "phenowatch.phq9"),
    "data_gap": ("info", "No sleep data for 4 nights.", "phenowatch.gaps"),
}


def alert_signal(patient_id: str, *, kind: Kind = "phq9_safety", on: date = T0.date()) -> Signal:
    severity, explanation, detector = SIGNALS[kind]
    return Signal(
        patient_id=patient_id,
        kind=kind,
        severity=severity,
        fired_on=on,
        window_start=on,
        window_end=on,
        explanation=explanation,
        detector=detector,
        detector_version="1",
    )


def new_alert(work: UnitOfWork, *, patient_id: str, now: datetime = T0) -> Alert:
    """Opens an urgent safety alert through the alert service (which enqueues its webhooks)."""
    alert = open_alert(work, signal=alert_signal(patient_id, on=now.date()), now=now)
    assert alert is not None
    return alert
