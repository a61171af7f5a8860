"""One unit of work: a transaction and what is to happen once it has committed.

The request dependency (api.auth) and the background jobs (worker, scheduler, replay) open
their transactions here and nowhere else. Services never commit; a service that changes an
alert takes the ``UnitOfWork`` (not only its session), so the webhook deliveries it queues and
the links they carry travel as typed fields a reader can follow, and urgent ones are attempted
as soon as the transaction has committed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TypeVar

from sqlalchemy.orm import Session, sessionmaker

from api.clock import Clock
from api.db import begin_immediate
from api.webhooks.dispatch import Outbound, deliver_now

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass
class UnitOfWork:
    """A transaction's session, the service's external base URL for links in webhook payloads
    (empty: links are paths alone), and the urgent deliveries to attempt once it commits."""

    session: Session
    public_url: str = ""
    deliver_after_commit: list[int] = field(default_factory=list)
    #: how the urgent deliveries are sent (secret keys, addresses allowed)
    outbound: Outbound = field(default_factory=Outbound)


@contextmanager
def unit_of_work(
    factory: sessionmaker[Session],
    *,
    clock: Clock,
    public_url: str = "",
    write_lock: bool = False,
    outbound: Outbound | None = None,
) -> Iterator[UnitOfWork]:
    """Commits on success, rolls back on error; after a commit, attempts the urgent deliveries.

    ``write_lock``: a transaction that reads then writes takes SQLite's write lock at BEGIN, so
    no other writer overtakes it between the two (PostgreSQL: an ordinary transaction)."""
    with factory() as session:
        work = UnitOfWork(session, public_url=public_url, outbound=outbound or Outbound())
        with session.begin():
            if write_lock:
                begin_immediate(session)
            yield work
    deliver_urgent(factory, work.deliver_after_commit, clock=clock, outbound=work.outbound)


def run_job(
    factory: sessionmaker[Session],
    job: Callable[[UnitOfWork], T],
    *,
    clock: Clock,
    public_url: str = "",
    outbound: Outbound | None = None,
) -> T:
    """Runs a job that reads then writes as one unit of work holding the write lock."""
    with unit_of_work(
        factory, clock=clock, public_url=public_url, write_lock=True, outbound=outbound
    ) as work:
        return job(work)


def deliver_urgent(
    factory: sessionmaker[Session],
    delivery_ids: list[int],
    *,
    clock: Clock,
    outbound: Outbound | None = None,
) -> None:
    if not delivery_ids:
        return
    try:
        deliver_now(delivery_ids, session_factory=factory, now=clock.now(), outbound=outbound)
    except Exception:
        # the delivery job retries whatever was not sent; the alert itself is stored
        log.exception("immediate webhook delivery failed; the delivery job will retry")
