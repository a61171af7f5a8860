"""Failed authentications per client address, in memory: the limit behind 429s, and the
sampling that keeps a flood of bad tokens from writing an audit row (and taking SQLite's write
lock) for each one.

An address may fail ``per_minute`` times in a sliding minute; the next attempt is answered 429
with ``Retry-After`` until the oldest failure leaves the window. Of an address's failures in a
window only the first is audited, and the moment it is blocked: the rest are counted (the
audit row of the next window says how many were not written). Each process keeps its own
counts; the limit is per process, which bounds a guesser all the same.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass

WINDOW_SECONDS = 60.0
#: addresses remembered at most; the least recently failing are forgotten first
MAX_ADDRESSES = 10_000


@dataclass(frozen=True)
class Failure:
    """What to do with one failed authentication."""

    audit: bool  # write an audit row for this one
    blocked: bool  # this failure reached the limit
    unaudited_before: int  # failures of this address not written since the last audited one


class AuthFailures:
    def __init__(
        self,
        *,
        per_minute: int,
        window: float = WINDOW_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = per_minute
        self.window = window
        self.monotonic = monotonic
        self._lock = threading.Lock()
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._unaudited: dict[str, int] = {}

    def retry_after(self, address: str) -> int | None:
        """Seconds until ``address`` may try again, or None when it may now."""
        now = self.monotonic()
        with self._lock:
            times = self._recent(address, now)
            if times is None or len(times) < self.limit:
                return None
            return max(1, math.ceil(times[0] + self.window - now))

    def failed(self, address: str) -> Failure:
        now = self.monotonic()
        with self._lock:
            times = self._recent(address, now)
            if times is None:
                times = self._failures[address] = deque()
            times.append(now)
            self._failures.move_to_end(address)
            while len(self._failures) > MAX_ADDRESSES:
                forgotten, _ = self._failures.popitem(last=False)
                self._unaudited.pop(forgotten, None)
            blocked = len(times) == self.limit
            audit = len(times) == 1 or blocked
            if not audit:
                self._unaudited[address] = self._unaudited.get(address, 0) + 1
                return Failure(audit=False, blocked=False, unaudited_before=0)
            return Failure(
                audit=True, blocked=blocked, unaudited_before=self._unaudited.pop(address, 0)
            )

    def _recent(self, address: str, now: float) -> deque[float] | None:
        times = self._failures.get(address)
        if times is None:
            return None
        while times and times[0] <= now - self.window:
            times.popleft()
        return times
