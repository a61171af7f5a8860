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
from api.store.alerts import Alert
from api.store.people import CareTeam, Patient
from api.store.webhooks import EVENT_TYPES, WebhookEndpoint
from api.webhooks.signing import generate_secret

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
        team = CareTeam(name=name, created_at=T0)
        session.add(team)
        session.flush()
        return team.id


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
    patient = Patient(id=patient_id, team_id=team_id, created_at=T0)
    session.add(patient)
    session.flush()
    return patient


def new_alert(
    session: Session, *, patient_id: str, kind: str = "phq9_safety", severity: str = "urgent"
) -> Alert:
    alert = Alert(
        patient_id=patient_id,
        kind=kind,
        severity=severity,
        status="open",
        evidence={},
        explanation="PHQ-9 item 9 answered 1 (several days)",
        detector="phq9_rules",
        detector_version="1",
        fired_on=date(2026, 11, 24),
        window_start=date(2026, 11, 24),
        window_end=date(2026, 11, 24),
        last_fired_on=date(2026, 11, 24),
        opened_at=T0,
    )
    session.add(alert)
    session.flush()
    return alert
