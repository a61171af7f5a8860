"""An open-loop load generator: requests start on a fixed schedule, whatever the server does.

A closed loop (the next request waits for the previous answer) slows down with the server and
hides its stalls. Here request ``i`` is due at ``start + i / rate``; its latency is measured
from that due time, so a request that could not even start on time counts as slow
(no coordinated omission). Service time (from the actual send) is reported too.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from dataclasses import dataclass

import httpx


@dataclass(frozen=True)
class LoadResult:
    rate: float
    duration_s: float
    sent: int
    ok: int
    errors: int
    achieved_rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    service_p50_ms: float
    service_p99_ms: float


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


async def _run(
    url: str, *, rate: float, duration_s: float, headers: dict[str, str], max_connections: int
) -> LoadResult:
    total = int(rate * duration_s)
    latencies: list[float] = []
    service_times: list[float] = []
    errors = 0
    limits = httpx.Limits(
        max_connections=max_connections, max_keepalive_connections=max_connections
    )
    async with httpx.AsyncClient(headers=headers, limits=limits, timeout=10.0) as client:
        start = time.perf_counter()

        async def one(index: int) -> None:
            nonlocal errors
            due = start + index / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            sent = time.perf_counter()
            try:
                response = await client.get(url)
                ok = response.status_code == 200
            except httpx.HTTPError:
                ok = False
            done = time.perf_counter()
            if ok:
                latencies.append((done - due) * 1000)
                service_times.append((done - sent) * 1000)
            else:
                errors += 1

        await asyncio.gather(*(one(index) for index in range(total)))
        elapsed = time.perf_counter() - start
    return LoadResult(
        rate=rate,
        duration_s=duration_s,
        sent=total,
        ok=len(latencies),
        errors=errors,
        achieved_rps=round(len(latencies) / elapsed, 1),
        p50_ms=round(statistics.median(latencies), 2) if latencies else float("nan"),
        p90_ms=round(percentile(latencies, 0.90), 2),
        p99_ms=round(percentile(latencies, 0.99), 2),
        max_ms=round(max(latencies), 2) if latencies else float("nan"),
        service_p50_ms=round(statistics.median(service_times), 2)
        if service_times
        else float("nan"),
        service_p99_ms=round(percentile(service_times, 0.99), 2),
    )


def run_fixed_rate(
    url: str,
    *,
    rate: float = 200.0,
    duration_s: float = 20.0,
    headers: dict[str, str] | None = None,
    max_connections: int = 64,
) -> LoadResult:
    """GETs ``url`` ``rate`` times a second for ``duration_s`` seconds; latency percentiles."""
    return asyncio.run(
        _run(
            url,
            rate=rate,
            duration_s=duration_s,
            headers=headers or {},
            max_connections=max_connections,
        )
    )
