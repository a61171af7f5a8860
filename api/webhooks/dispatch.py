"""Sending the outbox: claim due deliveries, POST them signed, record every attempt, retry.

Two entry points:

- ``deliver_due(session_factory, now=...)`` — the scheduler's job, every few seconds. It claims
  up to ``limit`` due deliveries, sends them and returns how many it attempted. Any number of
  workers may run it at once against the same database: a claim is a short transaction that
  takes the rows with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL (``BEGIN IMMEDIATE`` on SQLite)
  and leases them by moving ``next_attempt_at`` past the send timeout, so a delivery is sent by
  one worker at a time and, if that worker dies mid-send, again by another after the lease.
- ``deliver_now(delivery_ids, session_factory=..., now=...)`` — the urgent path. It is
  synchronous: it claims exactly those deliveries and makes their first attempt (all endpoints
  in parallel, each bounded by ``policy.urgent_timeout``) before returning, so the PHQ-9 request
  that raised an item-9 alert does not answer before its webhooks went out. A failed first
  attempt is scheduled for retry like any other and ``deliver_due`` takes it from there.

Retries use exponential backoff with full jitter (a uniformly random wait between zero and
``base_delay * 2 ** (attempts - 1)``, capped at ``max_delay``) and stop after ``max_attempts``:
the delivery is then ``failed`` (dead) and keeps its attempt log for the care team to inspect.
A 2xx answer is success; anything else, a timeout or a refused connection is a failure.
"""

from __future__ import annotations

import functools
import random
import ssl
import time
import uuid
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import ColumnElement, Select, select, update
from sqlalchemy.orm import Session, joinedload, sessionmaker

from api.db import begin_immediate
from api.services import audit
from api.store.webhooks import Delivery, DeliveryAttempt, DeliveryStatus
from api.webhooks.signing import signed_headers

USER_AGENT = "phenowatch-webhooks/1"


@dataclass(frozen=True)
class RetryPolicy:
    # With full jitter the 11 waits add up to about 7 hours on average (at most 14.5): a
    # receiver down for a night still gets every alert once it is back.
    max_attempts: int = 12
    base_delay: timedelta = timedelta(seconds=30)
    max_delay: timedelta = timedelta(hours=6)
    timeout: float = 5.0  # seconds per attempt from the scheduled job
    urgent_timeout: float = 2.0  # seconds per attempt from deliver_now, inside a request
    # A claimed delivery is not due again before this, so a worker that died mid-send is
    # replaced but a live one is never overtaken.
    lease: timedelta = timedelta(seconds=60)

    def delay_after(self, attempts: int, *, rng: random.Random | None = None) -> timedelta:
        """The wait before the next attempt, after ``attempts`` failed ones (full jitter)."""
        ceiling = min(
            self.max_delay.total_seconds(),
            self.base_delay.total_seconds() * 2 ** max(attempts - 1, 0),
        )
        return timedelta(seconds=(rng or random).uniform(0, ceiling))


DEFAULT_POLICY = RetryPolicy()


@dataclass(frozen=True)
class _Claimed:
    """What a send needs, read in the claim transaction so the send holds no session."""

    delivery_id: int
    claim_token: str
    url: str
    secret: str
    message_id: str
    payload: str


@dataclass(frozen=True)
class _Outcome:
    status_code: int | None
    error: str | None
    duration_ms: float

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def deliver_due(
    session_factory: sessionmaker[Session],
    *,
    now: datetime,
    limit: int = 50,
    policy: RetryPolicy = DEFAULT_POLICY,
) -> int:
    """Claims and sends up to ``limit`` deliveries due at ``now``; returns how many were tried."""
    due = (
        select(Delivery.id)
        .where(Delivery.status == DeliveryStatus.PENDING, Delivery.next_attempt_at <= now)
        .order_by(Delivery.next_attempt_at, Delivery.id)
        .limit(limit)
    )
    guard = (Delivery.status == DeliveryStatus.PENDING, Delivery.next_attempt_at <= now)
    claimed = _claim(session_factory, due, guard, now=now, policy=policy)
    _send_all(session_factory, claimed, now=now, policy=policy, timeout=policy.timeout)
    return len(claimed)


def deliver_now(
    delivery_ids: Iterable[int],
    *,
    session_factory: sessionmaker[Session],
    now: datetime,
    policy: RetryPolicy = DEFAULT_POLICY,
) -> int:
    """Makes the first attempt of these deliveries before returning; returns how many were tried.

    Call it after the transaction that enqueued them committed. Deliveries already claimed
    or sent by a worker are skipped, so calling it can never send an event twice."""
    ids = list(delivery_ids)
    if not ids:
        return 0
    # Not yet tried and not held by a worker; independent of the clock, so a caller on a
    # clock of its own (replay, tests) still sends at once.
    guard = (
        Delivery.status == DeliveryStatus.PENDING,
        Delivery.attempts == 0,
        Delivery.claim_token.is_(None),
    )
    wanted = select(Delivery.id).where(Delivery.id.in_(ids), *guard)
    claimed = _claim(session_factory, wanted, guard, now=now, policy=policy)
    _send_all(session_factory, claimed, now=now, policy=policy, timeout=policy.urgent_timeout)
    return len(claimed)


def _claim(
    session_factory: sessionmaker[Session],
    candidates: Select[int],
    guard: tuple[ColumnElement[bool], ...],
    *,
    now: datetime,
    policy: RetryPolicy,
) -> list[_Claimed]:
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
            _Claimed(
                delivery_id=row.id,
                claim_token=token,
                url=row.endpoint.url,
                secret=row.endpoint.secret,
                message_id=row.message_id,
                payload=row.payload,
            )
            for row in rows
        ]
        session.commit()
    return claimed


def _send_all(
    session_factory: sessionmaker[Session],
    claimed: Sequence[_Claimed],
    *,
    now: datetime,
    policy: RetryPolicy,
    timeout: float,
) -> None:
    if not claimed:
        return
    with httpx.Client(timeout=timeout, follow_redirects=False, verify=_tls_context()) as client:
        send = functools.partial(_post, client)
        if len(claimed) == 1:
            outcomes = [send(claimed[0])]
        else:
            # Slow endpoints must not hold up the others; a few threads suffice since each
            # send is bounded by the timeout.
            with ThreadPoolExecutor(max_workers=min(8, len(claimed))) as pool:
                outcomes = list(pool.map(send, claimed))
    _record(session_factory, list(zip(claimed, outcomes, strict=True)), now=now, policy=policy)


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """Built once: loading the CA store costs tens of milliseconds, too much for every batch
    and for the item-9 path."""
    return ssl.create_default_context()


def _post(client: httpx.Client, item: _Claimed) -> _Outcome:
    headers = signed_headers(
        secret=item.secret,
        message_id=item.message_id,
        body=item.payload,
        # the wall clock, not the service's: receivers refuse signatures whose timestamp is
        # far from their own time, whatever clock a replay runs on
        sent_at=datetime.now(UTC),
    )
    headers["user-agent"] = USER_AGENT
    started = time.perf_counter()
    try:
        response = client.post(item.url, content=item.payload.encode(), headers=headers)
    except httpx.HTTPError as error:
        return _Outcome(None, _describe(error), _elapsed_ms(started))
    refused = None if response.is_success else f"HTTP {response.status_code}"
    return _Outcome(response.status_code, refused, _elapsed_ms(started))


def _describe(error: httpx.HTTPError) -> str:
    text = str(error) or "no detail"
    return f"{type(error).__name__}: {text}"[:500]


def _elapsed_ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)


def _record(
    session_factory: sessionmaker[Session],
    sent: Sequence[tuple[_Claimed, _Outcome]],
    *,
    now: datetime,
    policy: RetryPolicy,
) -> None:
    """Records the outcomes of one batch in one transaction (one commit, not one per send)."""
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
                _apply(session, delivery, outcome, now=now, policy=policy)
        session.commit()


def _apply(
    session: Session, delivery: Delivery, outcome: _Outcome, *, now: datetime, policy: RetryPolicy
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
    delivery.attempts += 1
    delivery.claim_token = None
    if outcome.succeeded:
        delivery.status = DeliveryStatus.DELIVERED
        delivery.delivered_at = now
        delivery.next_attempt_at = None
        delivery.last_error = None
    elif delivery.attempts >= policy.max_attempts:
        delivery.status = DeliveryStatus.FAILED
        delivery.next_attempt_at = None
        delivery.last_error = outcome.error
    else:
        delivery.next_attempt_at = now + policy.delay_after(delivery.attempts)
        delivery.last_error = outcome.error
