"""Periodic work: detection for patients with new data, nightly detection for everyone,
escalation of unacknowledged urgent alerts, and webhook delivery.

Every replica runs a scheduler, but only the leader runs the jobs: on PostgreSQL the holder of
a session-level advisory lock on a dedicated connection (re-tried while not held); on SQLite the
single process is the leader. Each job is one unit of work (api.unit_of_work.run_job).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import Connection, Engine, text
from sqlalchemy.orm import Session, sessionmaker

from api.clock import Clock
from api.services.alerts import escalate_overdue
from api.services.calendar_notes import note_calendar
from api.services.detection import NIGHT_COMPLETE_AFTER, run_detection, run_due_detection
from api.settings import Settings
from api.store import Alert
from api.unit_of_work import UnitOfWork, run_job
from api.webhooks.dispatch import Outbound, deliver_due

log = logging.getLogger(__name__)

#: the advisory lock key: "phenowatch" folded into a signed 64-bit integer
LEADER_LOCK_KEY = 0x7068656E6F776174 - (1 << 63)


class LeaderLock:
    """Leadership among replicas sharing one database."""

    def __init__(self, engine: Engine, *, retry_seconds: float = 0.0) -> None:
        self.engine = engine
        #: a follower asks again at most this often (the leader may hold on for days)
        self.retry_seconds = retry_seconds
        self._connection: Connection | None = None
        self._mutex = threading.Lock()
        self._last_try = float("-inf")

    @property
    def shared(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    def is_leader(self) -> bool:
        """True while this process holds the lock; tries to take it when it does not."""
        if not self.shared:
            return True
        with self._mutex:
            if self._connection is not None:
                try:
                    self._connection.exec_driver_sql("SELECT 1")
                    return True
                except Exception:
                    log.warning("leader connection lost; leadership released")
                    self._drop()
            if time.monotonic() - self._last_try < self.retry_seconds:
                return False
            self._last_try = time.monotonic()
            return self._try_acquire()

    def release(self) -> None:
        with self._mutex:
            if self._connection is not None:
                with contextlib.suppress(Exception):
                    self._connection.execute(
                        text("SELECT pg_advisory_unlock(:key)"), {"key": LEADER_LOCK_KEY}
                    )
                self._drop()

    def _try_acquire(self) -> bool:
        connection = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            held = connection.execute(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": LEADER_LOCK_KEY}
            ).scalar_one()
        except Exception:
            connection.close()
            log.warning("could not ask for leadership; will retry", exc_info=True)
            return False
        if held:
            self._connection = connection
            log.info("this process is the scheduler leader")
            return True
        connection.close()
        return False

    def _drop(self) -> None:
        if self._connection is not None:
            try:
                self._connection.invalidate()
                self._connection.close()
            except Exception:
                pass
            self._connection = None


class Scheduler:
    """An APScheduler 3 BackgroundScheduler whose jobs run only on the leader."""

    def __init__(
        self,
        *,
        engine: Engine,
        factory: sessionmaker[Session],
        settings: Settings,
        clock: Clock,
    ) -> None:
        self.factory = factory
        self.settings = settings
        self.clock = clock
        self.outbound = Outbound.from_settings(settings)
        self.leader = LeaderLock(engine, retry_seconds=settings.leader_retry_seconds)
        self._scheduler = BackgroundScheduler(timezone="UTC")
        self._add(
            "leader", lambda: self.leader.is_leader(), settings.leader_retry_seconds, always=True
        )
        self._add("detect-due", self.detect_due, settings.detection_interval_seconds)
        self._add("escalate", self.escalate, settings.escalation_interval_seconds)
        self._scheduler.add_job(
            self._leading(self.detect_everyone),
            CronTrigger(hour=settings.nightly_detection_hour, minute=0, timezone="UTC"),
            id="detect-nightly",
            coalesce=True,
            max_instances=1,
        )
        self._add("deliver-webhooks", self.deliver, settings.webhook_delivery_interval_seconds)

    # the jobs, each callable directly (tests, replay) ------------------------------------------

    def detect_due(self) -> int:
        return len(
            run_job(
                self.factory,
                lambda work: run_due_detection(work, now=self.clock.now()),
                clock=self.clock,
                public_url=self.settings.public_url,
                outbound=self.outbound,
            )
        )

    def detect_everyone(self) -> int:
        """The nightly sweep: every patient judged, and the teams' calendar notes."""
        now = self.clock.now()

        def nightly(work: UnitOfWork) -> list[Alert]:
            opened = run_detection(work, now=now)
            # the teams' notes on the night a patient at UTC has completed by now
            note_calendar(work.session, day=(now - NIGHT_COMPLETE_AFTER).date(), now=now)
            return opened

        return len(
            run_job(
                self.factory,
                nightly,
                clock=self.clock,
                public_url=self.settings.public_url,
                outbound=self.outbound,
            )
        )

    def escalate(self) -> int:
        after = timedelta(minutes=self.settings.escalate_after_minutes)
        return len(
            run_job(
                self.factory,
                lambda work: escalate_overdue(work, now=self.clock.now(), after=after),
                clock=self.clock,
                public_url=self.settings.public_url,
                outbound=self.outbound,
            )
        )

    def deliver(self) -> int:
        return deliver_due(self.factory, now=self.clock.now(), outbound=self.outbound)

    # life cycle --------------------------------------------------------------------------------

    def start(self) -> None:
        self.leader.is_leader()
        self._scheduler.start()

    def shutdown(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=True)
        self.leader.release()

    def _add(
        self, name: str, job: Callable[[], Any], seconds: int, *, always: bool = False
    ) -> None:
        self._scheduler.add_job(
            job if always else self._leading(job),
            IntervalTrigger(seconds=seconds),
            id=name,
            coalesce=True,
            max_instances=1,
        )

    def _leading(self, job: Callable[[], Any]) -> Callable[[], None]:
        def run() -> None:
            if not self.leader.is_leader():
                return
            try:
                job()
            except Exception:
                log.exception("scheduled job %s failed", getattr(job, "__name__", job))

        return run
