"""How fast the service stores nights and runs detection, on SQLite and PostgreSQL.

    .venv/bin/python benchmarks/serve_store.py [--patients 200] [--days 180] [--postgres URL]

Measures store_nights (first load, then the same nights again as an upsert), run_detection for
every patient on the last day, and processing of one real Apple Health upload by the worker.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
from sqlalchemy import text

from api.clock import FixedClock
from api.db import make_engine, make_session_factory, transaction
from api.migrations import upgrade
from api.services.detection import run_detection
from api.services.nights import store_nights
from api.services.patients import ensure_patient
from api.services.uploads import Received, create_upload
from api.settings import Settings
from api.unit_of_work import UnitOfWork
from api.worker import UploadWorker
from ingest.schema import NIGHTS

APPLE = Path(__file__).resolve().parents[1] / "fixtures" / "nights" / "apple_export.xml"


def cohort(patients: int, days: int, start: date) -> dict[str, pl.DataFrame]:
    rng = np.random.default_rng(7)
    out = {}
    for p in range(patients):
        pid = f"b{p:04d}"
        dates = [start + timedelta(days=d) for d in range(days)]
        sleep = rng.normal(430, 40, days)
        out[pid] = pl.DataFrame(
            {
                "patient_id": [pid] * days,
                "date": dates,
                "sleep_total_min": sleep,
                "sleep_main_min": sleep,
                "sleep_onset_min": rng.normal(660, 30, days),
                "sleep_midpoint_min": rng.normal(900, 30, days),
                "sleep_efficiency": rng.uniform(0.8, 0.95, days),
                "sleep_periods": [1] * days,
                "sleep_source": ["oura"] * days,
                "hrv_sdnn_ms": [None] * days,
                "hrv_rmssd_ms": rng.normal(45, 8, days),
                "resting_hr_bpm": rng.normal(60, 3, days),
                "steps": rng.normal(7000, 1500, days),
                "utc_offset_min": [60] * days,
                "has_sleep": [True] * days,
                "has_hrv": [True] * days,
                "has_resting_hr": [True] * days,
                "has_steps": [True] * days,
            },
            schema=NIGHTS,
        )
    return out


def bench(url: str, patients: int, days: int) -> None:
    engine = make_engine(url)
    upgrade(engine)
    factory = make_session_factory(engine)
    start = date(2025, 1, 1)
    frames = cohort(patients, days, start)
    now = datetime(2025, 7, 1, tzinfo=UTC)
    with transaction(factory) as s:
        for pid in frames:
            ensure_patient(s, patient_id=pid, team_name="bench", now=now)
    for label in ("insert", "upsert"):
        t = time.perf_counter()
        with transaction(factory) as s:
            for pid, frame in frames.items():
                store_nights(s, patient_id=pid, nights=frame, now=now)
        elapsed = time.perf_counter() - t
        rows = patients * days
        print(f"  store_nights {label}: {rows} nights in {elapsed:.2f} s ({rows / elapsed:,.0f}/s)")
    day = start + timedelta(days=days - 1)
    t = time.perf_counter()
    with transaction(factory) as s:
        opened = run_detection(UnitOfWork(s), day=day, now=now)
    print(
        f"  run_detection, {patients} patients: {time.perf_counter() - t:.2f} s,"
        f" {len(opened)} alerts"
    )
    with tempfile.TemporaryDirectory() as spool:
        path = Path(spool) / "a.upload"
        path.write_bytes(APPLE.read_bytes())
        with transaction(factory) as s:
            create_upload(
                s,
                patient_id="b0000",
                received=Received(path, uuid.uuid4().hex, 1, "a.xml"),
                now=now,
            )
        worker = UploadWorker(factory, settings=Settings(database_url=url), clock=FixedClock(now))
        t = time.perf_counter()
        worker.drain()
        print(
            f"  one Apple Health upload ({APPLE.stat().st_size} bytes):"
            f" {time.perf_counter() - t:.2f} s"
        )
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--patients", type=int, default=200)
    parser.add_argument("--days", type=int, default=180)
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        print("SQLite")
        bench(f"sqlite:///{folder}/bench.sqlite", args.patients, args.days)
    server = make_engine(args.postgres, isolation_level="AUTOCOMMIT")
    name = f"phenowatch_bench_{uuid.uuid4().hex[:8]}"
    with server.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        print("PostgreSQL")
        url = args.postgres.rsplit("/", 1)[0] + f"/{name}"
        bench(url, args.patients, args.days)
    finally:
        with server.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        server.dispose()


if __name__ == "__main__":
    main()
