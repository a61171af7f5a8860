"""Engine and session factory from a database URL.

Built by the app factory, the worker and the command line, never at import time. SQLite gets
the pragmas phenowatch relies on: foreign keys enforced, WAL so readers never block the writer,
and a busy timeout so concurrent writers wait instead of failing.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

SQLITE_BUSY_TIMEOUT_MS = 30_000
#: connections a process keeps once it has needed them. SQLAlchemy's default of 5 made a burst
#: of requests open and close extra PostgreSQL connections (a backend start each: 161 in 10 s
#: at 200 requests/s), which slowed the burst further.
POOL_SIZE = 20


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url``; creates the parent folder of a SQLite file on first use.

    Bound parameters are hidden from error messages: they carry PHI and token digests."""
    kwargs.setdefault("hide_parameters", True)
    parsed = make_url(url)
    in_memory = parsed.database in (None, "", ":memory:")
    if "poolclass" not in kwargs and not (parsed.get_backend_name() == "sqlite" and in_memory):
        kwargs.setdefault("pool_size", POOL_SIZE)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        connect_args = kwargs.setdefault("connect_args", {})
        connect_args.setdefault("timeout", SQLITE_BUSY_TIMEOUT_MS / 1000)
        # a request's session may be used from more than one thread of the pool (never at once)
        connect_args.setdefault("check_same_thread", False)
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        # pysqlite's own transaction handling defers BEGIN; take it over so that a write
        # transaction is one BEGIN IMMEDIATE (see begin_immediate) and reads see one snapshot.
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # we issue BEGIN ourselves (see _sqlite_begin)
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_begin(connection: Any) -> None:
    connection.exec_driver_sql(connection.get_execution_options().get("sqlite_begin", "BEGIN"))


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def begin_immediate(session: Session) -> None:
    """On SQLite, make the session's next transaction take the write lock at BEGIN.

    A claim that reads then writes (a queue item, a lease) must not be overtaken between its
    read and its write; PostgreSQL uses row locks for that, SQLite has one writer at a time."""
    if session.get_bind().dialect.name == "sqlite":
        with warnings.catch_warnings():
            # already inside a begun transaction: it keeps the mode it began with
            warnings.filterwarnings("ignore", "Connection is already established")
            session.connection(execution_options={"sqlite_begin": "BEGIN IMMEDIATE"})


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A bare transaction (commit on success, roll back on any error) for set-up and
    administration. Work that may change an alert runs in ``api.unit_of_work.unit_of_work``:
    the alert services take its ``UnitOfWork``, so they cannot be called with a bare session."""
    with factory() as session, session.begin():
        yield session
