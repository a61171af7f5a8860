"""Webhook catch-up after a receiver outage: how long after the care team's receiver is back
does the last waiting webhook arrive?

A care team's receiver on 127.0.0.1 goes down. During the outage (3 minutes by default) item-9
PHQ-9 answers arrive through the PHQ-9 service (each tries its urgent webhook at once, which
fails) together with routine alerts (a data gap); the service's own scheduler runs the delivery
job every ``webhook_delivery_interval_seconds`` (5 s) on the wall clock, as ``phenowatch serve``
does. Then the receiver comes back, and the benchmark measures when the last urgent and the
last of all webhooks arrived, counted from the moment it was back.

    .venv/bin/python -m benchmarks.service.catch_up --outage 180 \
        --out benchmarks/results/catch_up.json
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
from sqlalchemy import func, select

from api.clock import SystemClock
from api.db import make_engine, make_session_factory, transaction
from api.migrations import upgrade
from api.scheduler import Scheduler
from api.services.alerts import open_alert
from api.services.phq9_submissions import submit_answers
from api.settings import Settings
from api.store.webhooks import Delivery, DeliveryStatus
from api.unit_of_work import unit_of_work
from api.webhooks.dispatch import Outbound
from ingest.schema import PHQ9
from tests.api.webhook_receiver import WebhookReceiver
from tests.api.webhook_world import add_endpoint, add_patient, add_team, alert_signal


def run(*, outage: float, urgent: int, routine: int, limit: float) -> dict[str, object]:
    folder = Path(tempfile.mkdtemp(prefix="phenowatch-catch-up-"))
    settings = Settings(
        database_url=f"sqlite:///{folder / 'catch_up.sqlite'}",
        run_worker=False,
        spool_dir=folder / "spool",
        webhook_allow_private=True,  # the receiver is on 127.0.0.1
    )
    engine = make_engine(settings.database_url)
    upgrade(engine)
    factory = make_session_factory(engine)
    clock = SystemClock()
    outbound = Outbound.from_settings(settings)
    receiver = WebhookReceiver()  # not started: the outage begins now
    team_id = add_team(factory, "catch-up", now=clock.now())
    endpoint = add_endpoint(
        factory,
        team_id=team_id,
        url=receiver.url(),
        event_types=("alert.opened", "alert.refired"),
        now=clock.now(),
    )
    with transaction(factory) as session:
        for number in range(urgent + routine):
            add_patient(session, team_id=team_id, patient_id=f"p{number:03d}", now=clock.now())
    receiver.secrets["/hook"] = endpoint.secret
    scheduler = Scheduler(engine=engine, factory=factory, settings=settings, clock=clock)
    scheduler.start()
    # the outage begins at a random moment of the delivery job's cycle, as a real one would
    time.sleep(random.uniform(0, settings.webhook_delivery_interval_seconds))
    started = time.monotonic()
    try:
        events = sorted(
            [(outage * k / max(urgent, 1), "urgent", k) for k in range(urgent)]
            + [(outage * (k + 0.5) / max(routine, 1), "routine", k) for k in range(routine)]
        )
        for at, kind, number in events:
            time.sleep(max(0.0, started + at - time.monotonic()))
            with unit_of_work(factory, clock=clock, write_lock=True, outbound=outbound) as work:
                if kind == "urgent":
                    submit_answers(
                        work,
                        patient_id=f"p{number:03d}",
                        entries=_item_9_answer(clock.now()),
                        now=clock.now(),
                    )
                else:
                    patient = f"p{urgent + number:03d}"
                    gap = alert_signal(patient, kind="data_gap", on=clock.now().date())
                    open_alert(work, signal=gap, now=clock.now())
        time.sleep(max(0.0, started + outage - time.monotonic()))
        receiver.start()
        back = time.monotonic()
        total = urgent + routine
        while len(receiver.received) < total and time.monotonic() - back < limit:
            time.sleep(0.2)
        arrivals = list(receiver.received)
    finally:
        scheduler.shutdown()
        receiver.stop()
    with factory() as session:
        delivered = session.scalar(
            select(func.count())
            .select_from(Delivery)
            .where(Delivery.status == DeliveryStatus.DELIVERED)
        )
    engine.dispose()
    urgent_times = [
        r.arrived_at - back for r in arrivals if r.payload["data"]["kind"] != "data_gap"
    ]
    all_times = [r.arrived_at - back for r in arrivals]
    return {
        "outage_seconds": outage,
        "urgent_webhooks": urgent,
        "routine_webhooks": routine,
        "arrived": len(arrivals),
        "delivered_in_database": delivered,
        "last_urgent_after_back_s": round(max(urgent_times), 1) if urgent_times else None,
        "last_of_all_after_back_s": round(max(all_times), 1) if all_times else None,
        "first_after_back_s": round(min(all_times), 1) if all_times else None,
        "duplicates": sum(n - 1 for n in receiver.webhook_id_counts().values()),
        "delivery_job_interval_s": settings.webhook_delivery_interval_seconds,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def _item_9_answer(now: datetime) -> pl.DataFrame:
    items = {f"item_{n}": 1 for n in range(1, 9)} | {"item_9": 2}
    row = {
        "patient_id": "",
        "answered_at": now - timedelta(seconds=1),
        **items,
        "total": sum(items.values()),
        "difficulty": 1,
        "instrument": "phq9",
        "source": "benchmark",
    }
    return pl.DataFrame([row], schema=PHQ9)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--outage", type=float, default=180.0, help="seconds the receiver is down")
    parser.add_argument("--urgent", type=int, default=20, help="item-9 answers during the outage")
    parser.add_argument("--routine", type=int, default=20, help="routine alerts during the outage")
    parser.add_argument("--limit", type=float, default=600.0, help="give up after this many s")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    result = run(outage=args.outage, urgent=args.urgent, routine=args.routine, limit=args.limit)
    text = json.dumps(result, indent=2)
    print(text)
    if args.out is not None:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
