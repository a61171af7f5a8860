"""Sending one batch of webhook deliveries over HTTP: signed, in parallel, each send bounded,
and whatever goes wrong a failed attempt of that delivery alone (never of the batch).

Nothing here touches the database: ``api.webhooks.dispatch`` claims the deliveries, hands
them here as ``Claimed`` values and records the ``Outcome`` of each."""

from __future__ import annotations

import functools
import logging
import ssl
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx

from api.webhooks.addresses import NOT_ALLOWED, UrlRefused, target
from api.webhooks.secret_box import SecretBox, SecretKeyMissing
from api.webhooks.signing import signed_headers

log = logging.getLogger(__name__)


class _WithoutQueryStrings(logging.Filter):
    """httpx logs every request's URL at INFO; an endpoint's query string may carry a token of
    the team's, so it is left out of those records."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                arg.copy_with(query=None) if isinstance(arg, httpx.URL) and arg.query else arg
                for arg in record.args
            )
        return True


logging.getLogger("httpx").addFilter(_WithoutQueryStrings())
USER_AGENT = "phenowatch-webhooks/1"
#: the reasons a care team is shown for a failed attempt
NO_ANSWER = "no answer: the endpoint could not be reached or did not answer in time"
REFUSED = "refused: the endpoint answered with a status other than 2xx"
NOT_SENT = "not sent: the request could not be made"
#: parallel sends of the urgent path (more wait for the background job, due at once)
URGENT_PARALLEL = 16


@dataclass(frozen=True)
class Claimed:
    """What a send needs, read in the claim transaction so the send holds no session."""

    delivery_id: int
    endpoint_id: int
    claim_token: str
    url: str
    secret: str
    message_id: str
    payload: str
    #: an early try of a failing endpoint: on failure its schedule goes back to this
    probe_of: datetime | None = None
    urgent: bool = False


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    error: str | None
    duration_ms: float

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def send_all(
    claimed: Sequence[Claimed],
    *,
    timeout: float,
    budget: float | None = None,
    secrets: SecretBox,
    allow_private: bool,
) -> tuple[list[tuple[Claimed, Outcome]], list[Claimed]]:
    """Sends in parallel, each send bounded by ``timeout`` seconds; returns the outcomes and,
    with a ``budget``, the sends still running when ``budget`` seconds in all have passed
    (their outcome is not waited for, and no outcome of theirs is recorded)."""
    if not claimed:
        return [], []
    client = httpx.Client(timeout=timeout, follow_redirects=False, verify=_tls_context())
    send = functools.partial(_post, client, secrets=secrets, allow_private=allow_private)
    if len(claimed) == 1 and budget is None:
        with client:
            return [(claimed[0], send(claimed[0]))], []
    # Slow endpoints must not hold up the others.
    workers = min(8 if budget is None else URGENT_PARALLEL, len(claimed))
    pool = ThreadPoolExecutor(max_workers=workers)
    futures: dict[Future[Outcome], Claimed] = {pool.submit(send, item): item for item in claimed}
    done, _ = wait(futures, timeout=budget)
    pool.shutdown(wait=False, cancel_futures=True)
    if len(done) == len(futures):
        client.close()
    else:  # a straggler still uses the client: close it when the last one ends
        threading.Thread(target=_close_when_done, args=(client, list(futures)), daemon=True).start()
    sent = [(futures[f], f.result()) for f in futures if f in done]
    unfinished = [futures[f] for f in futures if f not in done]
    return sent, unfinished


def _close_when_done(client: httpx.Client, futures: list[Future[Outcome]]) -> None:
    wait(futures)
    client.close()


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """Built once: loading the CA store costs tens of milliseconds, too much for every batch
    and for the item-9 path."""
    return ssl.create_default_context()


def _post(
    client: httpx.Client, item: Claimed, *, secrets: SecretBox, allow_private: bool
) -> Outcome:
    """One attempt; whatever goes wrong is this delivery's failed attempt, never the batch's.
    The address is checked again and the send pinned to it (``api.webhooks.addresses``)."""
    started = time.perf_counter()
    try:
        where = target(item.url, allow_private=allow_private)
        headers = signed_headers(
            secret=secrets.open(item.secret),
            message_id=item.message_id,
            body=item.payload,
            # the wall clock, not the service's: receivers refuse signatures whose timestamp
            # is far from their own time, whatever clock a replay runs on
            sent_at=datetime.now(UTC),
        )
        headers["user-agent"] = USER_AGENT
        extensions = {}
        if where.host_header is not None:
            headers["host"] = where.host_header
        if where.sni_hostname is not None and where.url.startswith("https:"):
            extensions["sni_hostname"] = where.sni_hostname
        response = client.post(
            where.url, content=item.payload.encode(), headers=headers, extensions=extensions
        )
    except UrlRefused as error:
        _log_failure(item, f"address refused ({error})")
        return Outcome(None, NOT_ALLOWED, _elapsed_ms(started))
    except SecretKeyMissing as error:
        log.error("webhook delivery %s: %s", item.delivery_id, error)
        return Outcome(None, NOT_SENT, _elapsed_ms(started))
    except httpx.TransportError as error:
        _log_failure(item, type(error).__name__)
        return Outcome(None, NO_ANSWER, _elapsed_ms(started))
    except Exception as error:
        _log_failure(item, type(error).__name__)
        return Outcome(None, NOT_SENT, _elapsed_ms(started))
    if response.is_success:
        return Outcome(response.status_code, None, _elapsed_ms(started))
    _log_failure(item, f"HTTP {response.status_code}")
    return Outcome(None, REFUSED, _elapsed_ms(started))


def _log_failure(item: Claimed, detail: str) -> None:
    # the endpoint's id, never its URL (a query string may carry a token of the team's)
    log.info(
        "webhook delivery %s to endpoint %s failed: %s", item.delivery_id, item.endpoint_id, detail
    )


def _elapsed_ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)
