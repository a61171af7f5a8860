"""The owner of each background transaction: one unit of work per job, committed or rolled
back as a whole, then urgent webhook deliveries it queued are attempted at once."""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from sqlalchemy.orm import Session, sessionmaker

from api.clock import Clock
from api.db import begin_immediate
from api.services.alerts import DELIVER_NOW_KEY, PUBLIC_URL_KEY

log = logging.getLogger(__name__)
T = TypeVar("T")


@contextmanager
def unit_of_work(
    factory: sessionmaker[Session], *, clock: Clock, public_url: str = ""
) -> Iterator[Session]:
    """Commits on success, rolls back on error; after a commit, sends the urgent deliveries."""
    with factory() as session:
        session.info[PUBLIC_URL_KEY] = public_url
        with session.begin():
            yield session
        deliver_urgent(factory, session.info.pop(DELIVER_NOW_KEY, []), clock=clock)


def run_job(factory: sessionmaker[Session], job: Callable[[Session], T], *, clock: Clock) -> T:
    """Runs a job that reads then writes as one transaction holding SQLite's write lock from
    the start (PostgreSQL: an ordinary transaction)."""
    with unit_of_work(factory, clock=clock) as session:
        begin_immediate(session)
        return job(session)


def deliver_urgent(
    factory: sessionmaker[Session], delivery_ids: list[int], *, clock: Clock
) -> None:
    if not delivery_ids:
        return
    try:
        dispatch = importlib.import_module("api.webhooks.dispatch")
    except ImportError:
        return
    try:
        dispatch.deliver_now(delivery_ids, session_factory=factory, now=clock.now())
    except Exception:
        # the delivery job retries whatever was not sent; the alert itself is stored
        log.exception("immediate webhook delivery failed; the delivery job will retry")
