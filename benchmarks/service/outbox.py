"""Outbox drain rate: how fast workers calling ``deliver_due`` empty a backlog of deliveries
into a local receiver that verifies every signature, and whether any event arrived twice."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from api.services.alerts import open_alert
from api.store.webhooks import Delivery, DeliveryStatus, WebhookEndpoint
from api.unit_of_work import UnitOfWork
from api.webhooks.dispatch import Outbound, deliver_due
from api.webhooks.signing import generate_secret
from detect.signals import Signal
from tests.api.webhook_receiver import WebhookReceiver

LOCAL = Outbound(allow_private=True)  # the receiver is on 127.0.0.1


@dataclass(frozen=True)
class DrainResult:
    events: int
    workers: int
    seconds: float
    per_second: float
    delivered: int
    waiting_for_retry: int  # first attempt failed; the next is scheduled (backoff)
    duplicates: int


def drain(
    factory: sessionmaker[Session],
    *,
    team_id: int,
    patient_ids: list[str],
    events: int = 500,
    workers: int = 2,
) -> DrainResult:
    receiver = WebhookReceiver().start()
    now = datetime.now(UTC)
    try:
        with factory() as session, session.begin():
            secret = generate_secret()
            session.add(
                WebhookEndpoint(
                    team_id=team_id,
                    url=receiver.url(),
                    secret=secret,
                    event_types=["alert.opened"],
                    created_at=now,
                )
            )
            session.flush()
            receiver.secrets["/hook"] = secret
            work = UnitOfWork(session)  # info alerts: every delivery is left to the workers
            for patient_id in patient_ids[-events:]:
                open_alert(work, signal=_data_gap(patient_id, now), now=now)
        started = time.perf_counter()

        def work() -> None:
            while deliver_due(factory, now=datetime.now(UTC), limit=50, outbound=LOCAL):
                pass

        threads = [threading.Thread(target=work) for _ in range(workers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        seconds = time.perf_counter() - started
        with factory() as session:
            rows = session.execute(
                select(Delivery.status, func.count()).group_by(Delivery.status)
            ).tuples()
            statuses = {status: count for status, count in rows}
        counts = receiver.webhook_id_counts()
    finally:
        receiver.stop()
    return DrainResult(
        events=events,
        workers=workers,
        seconds=round(seconds, 2),
        per_second=round(events / seconds, 1),
        delivered=statuses.get(DeliveryStatus.DELIVERED, 0),
        waiting_for_retry=statuses.get(DeliveryStatus.PENDING, 0),
        duplicates=sum(count - 1 for count in counts.values()),
    )


def _data_gap(patient_id: str, now: datetime) -> Signal:
    return Signal(
        patient_id=patient_id,
        kind="data_gap",
        severity="info",
        fired_on=now.date(),
        window_start=now.date(),
        window_end=now.date(),
        explanation="No sleep data for 4 nights.",
        detector="benchmark",
        detector_version="1",
    )
