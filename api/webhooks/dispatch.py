"""Sending the outbox: claim due deliveries, POST them signed, record every attempt, retry.

Two entry points:

- ``deliver_due(session_factory, now=...)`` — the scheduler's job, every few seconds. It claims
  up to ``limit`` due deliveries, sends them and returns how many it attempted. Any number of
  workers may run it at once against the same database: a claim is a short transaction that
  takes the rows with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL (``BEGIN IMMEDIATE`` on SQLite)
  and leases them by moving ``next_attempt_at`` past the send timeout, so a delivery is sent by
  one worker at a time and, if that worker dies mid-send, again by another after the lease.
- ``deliver_now(delivery_ids, session_factory=..., now=...)`` — the urgent path. It is
  synchronous: it claims those deliveries and makes their first attempt (all endpoints in
  parallel) before returning, so the PHQ-9 request that raised an item-9 alert does not answer
  before its webhooks went out. The sends share one budget (``policy.urgent_timeout`` seconds
  in all, however many endpoints): a send still running when it runs out is handed to the
  background job at once, not counted as a failure. A failed first attempt is scheduled for
  retry like any other and ``deliver_due`` takes it from there.

Catch-up after an outage: while an endpoint fails, one of its waiting deliveries (urgent
first) is tried early every ``policy.probe_interval``; such an early try does not count
towards ``max_attempts``. The first 2xx answer from the endpoint makes its whole backlog due at
once, and ``deliver_due`` sends it in the same call, urgent deliveries first.

Retries use exponential backoff with full jitter (a uniformly random wait between zero and
``base_delay * 2 ** (attempts - 1)``, capped at ``max_delay``) and stop after ``max_attempts``:
the delivery is then ``failed`` (dead) and keeps its attempt log for the care team to inspect.
A 2xx answer is success; anything else, a timeout, a refused connection or any error while
sending is a failed attempt of that delivery alone. The care team's attempt log shows only a
coarse reason (``NO_ANSWER``, ``REFUSED``...): which error, which status code, is for the
service's log, so the log is no port scanner.
"""

from __future__ import annotations

import functools
import random
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Select, select, update
from sqlalchemy.orm import Session, joinedload, sessionmaker

from api.db import begin_immediate
from api.services import audit
from api.settings import Settings
from api.store.webhooks import Delivery, DeliveryAttempt, DeliveryStatus, WebhookEndpoint
from api.webhooks.secret_box import SecretBox
from api.webhooks.sending import URGENT_PARALLEL, Claimed, Outcome, send_all


@dataclass(frozen=True)
class RetryPolicy:
    # With full jitter the 11 waits add up to about 7 hours on average (at most 14.5): a
    # receiver down for a night still gets every alert once it is back.
    max_attempts: int = 12
    base_delay: timedelta = timedelta(seconds=30)
    max_delay: timedelta = timedelta(hours=6)
    timeout: float = 5.0  # seconds per attempt from the scheduled job
    # seconds deliver_now may hold its caller (a patient's PHQ-9 request) in all
    urgent_timeout: float = 2.0
    # A claimed delivery is not due again before this, so a worker that died mid-send is
    # replaced but a live one is never overtaken.
    lease: timedelta = timedelta(seconds=60)
    # how often a failing endpoint is tried early, to learn it is back
    probe_interval: timedelta = timedelta(seconds=10)
    # batches deliver_due sends at once after an endpoint came back
    catch_up_batches: int = 40

    def delay_after(self, attempts: int, *, rng: random.Random | None = None) -> timedelta:
        """The wait before the next attempt, after ``attempts`` failed ones (full jitter)."""
        ceiling = min(
            self.max_delay.total_seconds(),
            self.base_delay.total_seconds() * 2 ** max(attempts - 1, 0),
        )
        return timedelta(seconds=(rng or random).uniform(0, ceiling))


DEFAULT_POLICY = RetryPolicy()


@dataclass(frozen=True)
class Outbound:
    """What sends need besides the database: how to retry, the keys that open the endpoints'
    secrets, and whether non-public addresses may be reached (tests and development only)."""

    policy: RetryPolicy = DEFAULT_POLICY
    secrets: SecretBox = field(default_factory=SecretBox)
    allow_private: bool = False

    @classmethod
    def from_settings(cls, settings: Settings) -> Outbound:
        return cls(
            secrets=SecretBox.from_setting(settings.secret_keys),
            allow_private=settings.webhook_allow_private,
        )


def deliver_due(
    session_factory: sessionmaker[Session],
    *,
    now: datetime,
    limit: int = 50,
    outbound: Outbound | None = None,
) -> int:
    """Claims and sends up to ``limit`` deliveries due at ``now``, and tries each failing
    endpoint early when its time came; when an endpoint answered again, sends its backlog at
    once (more batches, urgent first). Returns how many deliveries were tried."""
    outbound = outbound or Outbound()
    policy = outbound.policy
    send = functools.partial(
        send_all,
        timeout=policy.timeout,
        secrets=outbound.secrets,
        allow_private=outbound.allow_private,
    )
    tried = 0
    for _ in range(policy.catch_up_batches):
        due = (
            select(Delivery.id)
            .where(Delivery.status == DeliveryStatus.PENDING, Delivery.next_attempt_at <= now)
            .order_by(Delivery.urgent.desc(), Delivery.next_attempt_at, Delivery.id)
            .limit(limit)
        )
        guard = (Delivery.status == DeliveryStatus.PENDING, Delivery.next_attempt_at <= now)
        claimed = _claim(session_factory, due, guard, now=now, policy=policy)
        claimed += _claim_probes(
            session_factory, now=now, policy=policy, busy={c.endpoint_id for c in claimed}
        )
        # the urgent deliveries of a batch go out before the others are started
        sent, _ = send([c for c in claimed if c.urgent])
        sent += send([c for c in claimed if not c.urgent])[0]
        recovered = _record(session_factory, sent, now=now, policy=policy)
        tried += len(claimed)
        if not recovered:
            break
    return tried


def deliver_now(
    delivery_ids: Iterable[int],
    *,
    session_factory: sessionmaker[Session],
    now: datetime,
    outbound: Outbound | None = None,
) -> int:
    """Makes the first attempt of these deliveries before returning; returns how many were tried.

    Call it after the transaction that enqueued them committed. Deliveries already claimed
    or sent by a worker are skipped, so calling it can never send an event twice."""
    ids = list(delivery_ids)
    if not ids:
        return 0
    outbound = outbound or Outbound()
    policy = outbound.policy
    # Not yet tried and not held by a worker; independent of the clock, so a caller on a
    # clock of its own (replay, tests) still sends at once.
    guard = (
        Delivery.status == DeliveryStatus.PENDING,
        Delivery.attempts == 0,
        Delivery.claim_token.is_(None),
    )
    wanted = select(Delivery.id).where(Delivery.id.in_(ids), *guard).limit(URGENT_PARALLEL)
    claimed = _claim(session_factory, wanted, guard, now=now, policy=policy)
    sent, unfinished = send_all(
        claimed,
        timeout=policy.timeout,
        budget=policy.urgent_timeout,
        secrets=outbound.secrets,
        allow_private=outbound.allow_private,
    )
    _record(session_factory, sent, now=now, policy=policy)
    _hand_back(session_factory, unfinished, now=now)
    return len(claimed)


def _claim(
    session_factory: sessionmaker[Session],
    candidates: Select[int],
    guard: tuple[ColumnElement[bool], ...],
    *,
    now: datetime,
    policy: RetryPolicy,
) -> list[Claimed]:
    token = uuid.uuid4().hex
    with session_factory() as session:
        begin_immediate(session)  # opens the transaction, holding SQLite's write lock
        ids = session.scalars(candidates.with_for_update(skip_locked=True)).all()
        if not ids:
            session.rollback()
            return []
        # The guard repeats the selection's condition: should two claims ever read the same
        # rows, only one update matches them. PostgreSQL's row locks already prevent it, and
        # on SQLite BEGIN IMMEDIATE does; this keeps it true whatever the isolation.
        session.execute(
            update(Delivery)
            .where(Delivery.id.in_(ids), *guard)
            .values(next_attempt_at=now + policy.lease, claim_token=token)
            .execution_options(synchronize_session=False)
        )
        rows = session.scalars(
            select(Delivery)
            .options(joinedload(Delivery.endpoint))
            .where(Delivery.claim_token == token)
            .order_by(Delivery.id)
        ).all()
        claimed = [
            Claimed(
                delivery_id=row.id,
                endpoint_id=row.endpoint_id,
                claim_token=token,
                url=row.endpoint.url,
                secret=row.endpoint.secret,
                message_id=row.message_id,
                payload=row.payload,
                urgent=row.urgent,
            )
            for row in rows
        ]
        session.commit()
    return claimed


def _claim_probes(
    session_factory: sessionmaker[Session],
    *,
    now: datetime,
    policy: RetryPolicy,
    busy: set[int],
) -> list[Claimed]:
    """Claims, for each failing endpoint whose early try is due (and that has nothing in this
    batch), its most urgent, oldest waiting delivery."""
    token = uuid.uuid4().hex
    claimed: list[Claimed] = []
    with session_factory() as session:
        begin_immediate(session)
        endpoints = session.scalars(
            select(WebhookEndpoint)
            .where(WebhookEndpoint.next_probe_at <= now, WebhookEndpoint.active.is_(True))
            .with_for_update(skip_locked=True)
        ).all()
        for endpoint in endpoints:
            if endpoint.id in busy:
                continue
            delivery = session.scalar(
                select(Delivery)
                .where(
                    Delivery.endpoint_id == endpoint.id,
                    Delivery.status == DeliveryStatus.PENDING,
                    Delivery.claim_token.is_(None),
                )
                .order_by(Delivery.urgent.desc(), Delivery.id)
                .limit(1)
                .with_for_update(skip_locked=True)
            )
            if delivery is None:
                endpoint.next_probe_at = None  # nothing waits for it any more
                continue
            endpoint.next_probe_at = now + policy.lease  # one early try at a time
            scheduled = delivery.next_attempt_at or now
            delivery.next_attempt_at = now + policy.lease
            delivery.claim_token = token
            claimed.append(
                Claimed(
                    delivery_id=delivery.id,
                    endpoint_id=endpoint.id,
                    claim_token=token,
                    url=endpoint.url,
                    secret=endpoint.secret,
                    message_id=delivery.message_id,
                    payload=delivery.payload,
                    urgent=delivery.urgent,
                    probe_of=scheduled,
                )
            )
        session.commit()
    return claimed


def _hand_back(
    session_factory: sessionmaker[Session], unfinished: Sequence[Claimed], *, now: datetime
) -> None:
    """Gives sends that overran the urgent budget to the background job, due at once."""
    if not unfinished:
        return
    with session_factory() as session, session.begin():
        for item in unfinished:
            session.execute(
                update(Delivery)
                .where(Delivery.id == item.delivery_id, Delivery.claim_token == item.claim_token)
                .values(claim_token=None, next_attempt_at=now)
                .execution_options(synchronize_session=False)
            )


def _record(
    session_factory: sessionmaker[Session],
    sent: Sequence[tuple[Claimed, Outcome]],
    *,
    now: datetime,
    policy: RetryPolicy,
) -> bool:
    """Records the outcomes of one batch in one transaction (one commit, not one per send).
    An endpoint that answered 2xx gets its whole backlog due now; one that failed is tried
    early again after ``probe_interval``. Returns whether an endpoint came back."""
    if not sent:
        return False
    with session_factory() as session:
        begin_immediate(session)  # read-then-write: take SQLite's write lock up front
        rows = session.scalars(
            select(Delivery)
            .where(Delivery.id.in_([item.delivery_id for item, _ in sent]))
            .with_for_update()
        ).all()
        by_id = {row.id: row for row in rows}
        for item, outcome in sent:
            delivery = by_id.get(item.delivery_id)
            # deleted meanwhile, or its lease ran out and another worker holds it now
            if delivery is not None and delivery.claim_token == item.claim_token:
                _apply(session, delivery, item, outcome, now=now, policy=policy)
        answered = {item.endpoint_id for item, outcome in sent if outcome.succeeded}
        failing = {item.endpoint_id for item, outcome in sent} - answered
        recovered = False
        if answered:
            backlog = session.execute(
                update(Delivery)
                .where(
                    Delivery.endpoint_id.in_(answered),
                    Delivery.status == DeliveryStatus.PENDING,
                    Delivery.claim_token.is_(None),
                    Delivery.next_attempt_at > now,
                )
                .values(next_attempt_at=now)
                .execution_options(synchronize_session=False)
            )
            recovered = bool(getattr(backlog, "rowcount", 0))
            session.execute(
                update(WebhookEndpoint)
                .where(WebhookEndpoint.id.in_(answered))
                .values(next_probe_at=None)
                .execution_options(synchronize_session=False)
            )
        if failing:
            session.execute(
                update(WebhookEndpoint)
                .where(WebhookEndpoint.id.in_(failing))
                .values(next_probe_at=now + policy.probe_interval)
                .execution_options(synchronize_session=False)
            )
        session.commit()
    return recovered


def _apply(
    session: Session,
    delivery: Delivery,
    item: Claimed,
    outcome: Outcome,
    *,
    now: datetime,
    policy: RetryPolicy,
) -> None:
    session.add(
        DeliveryAttempt(
            delivery_id=delivery.id,
            attempted_at=now,
            status_code=outcome.status_code,
            error=outcome.error,
            duration_ms=outcome.duration_ms,
        )
    )
    audit.record_webhook_send(
        session,
        delivery_id=delivery.id,
        endpoint_id=delivery.endpoint_id,
        payload=delivery.payload,
        sent=outcome.succeeded,
        now=now,
    )
    delivery.claim_token = None
    if outcome.succeeded:
        delivery.attempts += 1
        delivery.status = DeliveryStatus.DELIVERED
        delivery.delivered_at = now
        delivery.next_attempt_at = None
        delivery.last_error = None
        return
    delivery.last_error = outcome.error
    if item.probe_of is not None:
        # an early try of a failing endpoint: the delivery keeps its own schedule
        delivery.next_attempt_at = item.probe_of
        return
    delivery.attempts += 1
    if delivery.attempts >= policy.max_attempts:
        delivery.status = DeliveryStatus.FAILED
        delivery.next_attempt_at = None
    else:
        delivery.next_attempt_at = now + policy.delay_after(delivery.attempts)
