"""The service's test world, run over SQLite and PostgreSQL alike.

``db_url`` is parametrised over a SQLite file and PostgreSQL (marked ``postgres``; a database of
its own per test session, migrated once and emptied between tests, dropped at the end). When
PostgreSQL does not answer the PostgreSQL half is skipped with the reason, unless
PHENOWATCH_REQUIRE_POSTGRES=1 (CI), where that is a failure.
"""

from __future__ import annotations

import os
import shutil
import uuid
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi import FastAPI
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from api.app import create_app
from api.clock import FixedClock
from api.db import make_engine, make_session_factory, transaction
from api.migrations import upgrade
from api.services import patients, tokens
from api.settings import Settings
from api.store import Base

POSTGRES_URL = os.environ.get(
    "PHENOWATCH_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REQUIRE_POSTGRES = os.environ.get("PHENOWATCH_REQUIRE_POSTGRES") == "1"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
#: a Fernet key for the tests' webhook secrets (a real deployment sets its own)
TEST_SECRET_KEY = "Zm9yLXRlc3RzLW9ubHktMzItYnl0ZXMtb2Yta2V5ISE="

with warnings.catch_warnings():
    # starlette's TestClient still runs on httpx and says so on import
    warnings.filterwarnings("ignore", "Using `httpx`")
    from fastapi.testclient import TestClient


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for every test (migrating is the slow part)."""
    path = tmp_path_factory.mktemp("template") / "phenowatch.sqlite"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for this test session; dropped at the end."""
    server = make_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT", poolclass=None)
    name = f"phenowatch_serve_{uuid.uuid4().hex[:10]}"
    try:
        with server.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as error:
        server.dispose()
        reason = f"PostgreSQL not reachable at {POSTGRES_URL}: {type(error).__name__}: {error}"
        if REQUIRE_POSTGRES:
            pytest.fail(reason + " (PHENOWATCH_REQUIRE_POSTGRES=1)")
        pytest.skip(reason)
    url = make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    try:
        yield url
    finally:
        with server.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        server.dispose()


@pytest.fixture(
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty database for one test."""
    if request.param == "sqlite":
        target = tmp_path / "phenowatch.sqlite"
        shutil.copy(request.getfixturevalue("sqlite_template"), target)
        return f"sqlite:///{target}"
    url: str = request.getfixturevalue("postgres_database")
    # DELETE is much quicker than TRUNCATE on a handful of rows; ids need not restart
    with request.getfixturevalue("postgres_cleaner").begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(table.delete())
    return url


@pytest.fixture(scope="session")
def postgres_cleaner(postgres_database: str) -> Iterator[Engine]:
    engine = make_engine(postgres_database, pool_size=1)
    yield engine
    engine.dispose()


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=db_url,
        migrate_on_start=False,
        run_worker=False,
        run_scheduler=False,
        spool_dir=tmp_path / "spool",
        upload_max_bytes=2 * 1024 * 1024,
        upload_lease_seconds=60,
        secret_keys=TEST_SECRET_KEY,
        webhook_allow_private=True,  # the tests' webhook receivers listen on 127.0.0.1
    )


@dataclass
class World:
    """Two care teams: A (coordinator ``coord_a``; patients p1, p2) and B (``coord_b``; p3),
    an admin, and a token for each. Tokens are the secrets a client would send."""

    team_a: int
    team_b: int
    coord_a: str
    coord_b: str
    admin: str
    p1: str
    p2: str
    p3: str

    @staticmethod
    def auth(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def world(engine: Engine, clock: FixedClock) -> World:
    now = clock.now()
    with transaction(make_session_factory(engine)) as s:
        team_a = patients.create_team(s, name="Team A", now=now)
        team_b = patients.create_team(s, name="Team B", now=now)
        coord_a = patients.create_user(
            s, email="a@care.example", name="A", role="coordinator", now=now
        )
        coord_b = patients.create_user(
            s, email="b@care.example", name="B", role="coordinator", now=now
        )
        admin = patients.create_user(
            s, email="admin@care.example", name="Ad", role="admin", now=now
        )
        patients.add_member(s, user_id=coord_a.id, team_id=team_a.id, now=now)
        patients.add_member(s, user_id=coord_b.id, team_id=team_b.id, now=now)
        for pid, team in (("p1", team_a), ("p2", team_a), ("p3", team_b)):
            patients.create_patient(s, patient_id=pid, team_id=team.id, now=now)

        def token(**owner: object) -> str:
            return tokens.issue_token(s, now=now, **owner)[1]  # type: ignore[arg-type]

        return World(
            team_a=team_a.id,
            team_b=team_b.id,
            coord_a=token(user_id=coord_a.id),
            coord_b=token(user_id=coord_b.id),
            admin=token(user_id=admin.id),
            p1=token(patient_id="p1"),
            p2=token(patient_id="p2"),
            p3=token(patient_id="p3"),
        )


@pytest.fixture
def app(settings: Settings, engine: Engine, clock: FixedClock) -> FastAPI:
    return create_app(settings, clock=clock, engine=engine)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client
