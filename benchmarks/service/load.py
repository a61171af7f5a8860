"""An open-loop load generator: requests are due on a fixed schedule, whatever the server does.

A closed loop (the next request waits for the previous answer) slows down with the server and
hides its stalls. Here request ``i`` is due at ``start + i / rate``; a fixed set of keep-alive
connections takes due requests in order, and each latency is measured from the request's due
time, so a request that had to wait for a free connection counts its wait (no coordinated
omission, the way wrk2 measures). Service time, from the actual send, is reported too.

The client is a minimal HTTP/1.1 GET over asyncio streams: a general-purpose client spends
more CPU per request than the server under test, and this machine has two cores.
"""

from __future__ import annotations

import asyncio
import dataclasses
import statistics
import time
from dataclasses import dataclass
from urllib.parse import urlsplit


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
    #: CPU the generator itself spent per request (this process), to show it is not the limit
    client_cpu_ms: float = float("nan")
    #: CPU the server's processes (and PostgreSQL's backends, when given) spent per request
    server_cpu_ms: float = float("nan")


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))]


class _Connection:
    def __init__(self, host: str, port: int, request: bytes) -> None:
        self.host, self.port, self.request = host, port, request
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def get(self, timeout: float) -> int:
        """Sends the GET and reads the whole answer; returns the status code."""
        if self.reader is None or self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        reader = self.reader
        self.writer.write(self.request)
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {
            k.strip().lower(): v.strip()
            for k, _, v in (line.partition(":") for line in lines[1:] if line)
        }
        length = int(headers.get("content-length", "0"))
        if length:
            await asyncio.wait_for(reader.readexactly(length), timeout)
        if headers.get("connection", "").lower() == "close":
            self.close()
        return status

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


async def _run(
    url: str, *, rate: float, duration_s: float, headers: dict[str, str], connections: int
) -> LoadResult:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    head = [f"GET {path} HTTP/1.1", f"Host: {host}:{port}"]
    head += [f"{name}: {value}" for name, value in headers.items()]
    request = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1")
    total = int(rate * duration_s)
    latencies: list[float] = []
    service_times: list[float] = []
    errors = 0
    next_index = 0
    start = time.perf_counter()

    async def worker() -> None:
        nonlocal next_index, errors
        connection = _Connection(host, port, request)
        while next_index < total:
            index = next_index
            next_index += 1
            due = start + index / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            sent = time.perf_counter()
            try:
                ok = await connection.get(timeout=10.0) == 200
            except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError):
                connection.close()
                ok = False
            done = time.perf_counter()
            if ok:
                latencies.append((done - due) * 1000)
                service_times.append((done - sent) * 1000)
            else:
                errors += 1
        connection.close()

    await asyncio.gather(*(worker() for _ in range(connections)))
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
    connections: int = 32,
) -> LoadResult:
    """GETs ``url`` ``rate`` times a second for ``duration_s`` seconds over ``connections``
    keep-alive connections; latency percentiles from each request's due time."""
    cpu_before = time.process_time()
    result = asyncio.run(
        _run(url, rate=rate, duration_s=duration_s, headers=headers or {}, connections=connections)
    )
    client = (time.process_time() - cpu_before) * 1000 / max(1, result.sent)
    return dataclasses.replace(result, client_cpu_ms=round(client, 3))
