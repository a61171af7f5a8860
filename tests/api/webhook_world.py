"""A small world for the webhook tests: migrated databases, a care team, patients, alerts.

Both backends run the real migrations. PostgreSQL tests get a schema of their own, so they
can commit freely (several workers need committed rows) without touching anyone else's data.
"""

from __future__ import annotations

import os
import uuid
import warnings
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from api.db import make_engine, make_session_factory, transaction
from api.migrations import upgrade
from api.services.alerts import open_alert
from api.services.patients import create_patient, create_team
from api.store.alerts import Alert
from api.store.people import Patient
from api.store.webhooks import EVENT_TYPES, WebhookEndpoint
from api.webhooks.signing import generate_secret
from detect.signals import Signal

POSTGRES_URL = os.environ.get(
    "PHENOWATCH_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
T0 = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)


def migrate(engine: Engine) -> None:
    with warnings.catch_warnings():
        # alembic >= 1.16 nags about a config option the in-code configuration does not set
        warnings.filterwarnings("ignore", "No path_separator found", DeprecationWarning)
        upgrade(engine)


def sqlite_engine(folder: Path) -> Engine:
    engine = make_engine(f"sqlite:///{folder / 'phenowatch.sqlite'}")
    migrate(engine)
    return engine


@pytest.fixture(name="postgres_engine")
def postgres_engine_fixture() -> Iterator[Engine]:
    schema = f"webhooks_{uuid.uuid4().hex[:12]}"
    admin = make_engine(POSTGRES_URL)
    try:
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as error:  # the server is absent: say so rather than fail obscurely
        admin.dispose()
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_URL}: {error}")
    engine = make_engine(
        POSTGRES_URL, connect_args={"options": f"-csearch_path={schema}"}, pool_size=8
    )
    try:
        migrate(engine)
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(
    name="webhook_db", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def webhook_db_fixture(request: pytest.FixtureRequest, tmp_path: Path) -> sessionmaker[Session]:
    """A session factory over a migrated database, once per backend."""
    if request.param == "sqlite":
        engine = sqlite_engine(tmp_path)
        request.addfinalizer(engine.dispose)
    else:
        engine = request.getfixturevalue("postgres_engine")
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


def new_alert(session: Session, *, patient_id: str, now: datetime = T0) -> Alert:
    """Opens an urgent safety alert through the alert service (which enqueues its webhooks)."""
    alert = open_alert(session, signal=safety_signal(patient_id, on=now.date()), now=now)
    assert alert is not None
    return alert
