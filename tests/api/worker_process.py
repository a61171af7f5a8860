"""A worker process for the multi-process tests: ``python -m tests.api.worker_process URL MODE``.

MODE ``drain`` processes uploads until the queue is empty; ``hold`` claims one upload, stores
its nights and then waits inside the uncommitted transaction (printing ``holding``), so that
the test can kill it at exactly that point."""

from __future__ import annotations

import sys
import time

from api.clock import SystemClock
from api.db import make_engine, make_session_factory
from api.settings import Settings
from api.worker import UploadWorker


def main(url: str, mode: str) -> None:
    settings = Settings(database_url=url, upload_lease_seconds=60, migrate_on_start=False)
    factory = make_session_factory(make_engine(url))

    def hold() -> None:
        print("holding", flush=True)
        time.sleep(600)

    worker = UploadWorker(
        factory,
        settings=settings,
        clock=SystemClock(),
        before_commit=hold if mode == "hold" else None,
    )
    done = worker.drain()
    print(f"done {len(done)}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
