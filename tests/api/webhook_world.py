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
from detect.signals import Signal

T0 = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
#: how the tests send: to their receivers on 127.0.0.1
LOCAL = Outbound(allow_private=True)


@pytest.fixture(name="webhook_db")
def webhook_db_fixture(engine: Engine) -> sessionmaker[Session]:
    """A session factory over the suite's migrated database (SQLite, then PostgreSQL)."""
    return make_session_factory(engine)


def add_team(factory: sessionmaker[Session], name: str = "north") -> int:
    with transaction(factory) as session:
        return create_team(session, name=name, now=T0).id


def add_endpoint(
    factory: sessionmaker[Session],
    *,
    team_id: int,
    url: str,
    event_types: tuple[str, ...] = EVENT_TYPES,
) -> WebhookEndpoint:
    with transaction(factory) as session:
        endpoint = WebhookEndpoint(
            team_id=team_id,
            url=url,
            secret=generate_secret(),
            event_types=list(event_types),
            created_at=T0,
        )
        session.add(endpoint)
        session.flush()
        return endpoint


def add_patient(session: Session, *, team_id: int, patient_id: str) -> Patient:
    return create_patient(session, patient_id=patient_id, team_id=team_id, now=T0)


def safety_signal(patient_id: str, *, on: date = T0.date()) -> Signal:
    return Signal(
        patient_id=patient_id,
        kind="phq9_safety",
        severity="urgent",
        fired_on=on,
        window_start=on,
        window_end=on,
        explanation="PHQ-9 item 9 answered 1 (several days)",
        detector="phenowatch.phq9",
        detector_version="1",
    )


def new_alert(work: UnitOfWork, *, patient_id: str, now: datetime = T0) -> Alert:
    """Opens an urgent safety alert through the alert service (which enqueues its webhooks)."""
    alert = open_alert(work, signal=safety_signal(patient_id, on=now.date()), now=now)
    assert alert is not None
    return alert
