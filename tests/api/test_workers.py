"""Real worker processes on one queue, a worker killed mid-upload, and scheduler leadership."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from api.clock import FixedClock
from api.db import make_engine, make_session_factory, transaction
from api.scheduler import Scheduler
from api.services.uploads import Received, create_upload
from api.settings import Settings
from api.store import Alert, AuditEntry, Night, Upload
from api.worker import UploadWorker
from tests.api.conftest import World
from tests.api.serve_data import APPLE_EXPORT

ROOT = Path(__file__).resolve().parents[2]


def _spawn(url: str, mode: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.api.worker_process", url, mode],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def _queue(engine: Engine, tmp: Path, clock: FixedClock, files: list[tuple[str, bytes]]) -> None:
    with transaction(make_session_factory(engine)) as s:
        for index, (name, content) in enumerate(files):
            path = tmp / f"{index}.upload"
            path.write_bytes(content)
            digest = f"{index:064d}"
            create_upload(
                s,
                patient_id="p1",
                received=Received(path, digest, len(content), name),
                now=clock.now(),
            )


def _safety_answers(day: int) -> bytes:
    return json.dumps({"answered_at": f"2026-02-{day:02d}T09:00:00Z", "items": [1] * 9}).encode()


@pytest.mark.slow
def test_two_worker_processes_share_the_queue_and_do_each_upload_once(
    db_url: str, engine: Engine, world: World, clock: FixedClock, tmp_path: Path
) -> None:
    exports = [
        (f"export{i}.xml", APPLE_EXPORT.read_bytes() + f"<!-- {i} -->".encode()) for i in range(6)
    ]
    answers = [(f"phq9-{d}.json", _safety_answers(d)) for d in range(1, 7)]
    _queue(
        engine,
        tmp_path,
        clock,
        [item for pair in zip(exports, answers, strict=True) for item in pair],
    )

    with _spawn(db_url, "drain") as one, _spawn(db_url, "drain") as two:
        outputs = [one.communicate(timeout=240), two.communicate(timeout=240)]
    assert [one.returncode, two.returncode] == [0, 0], outputs

    with make_session_factory(engine)() as s:
        uploads = s.scalars(select(Upload)).all()
        processed = s.scalars(
            select(AuditEntry.resource).where(AuditEntry.action == "upload.process")
        ).all()
        alerts = s.scalars(select(Alert).where(Alert.kind == "phq9_safety")).all()
        nights = s.scalar(select(func.count()).select_from(Night))
    assert {u.status for u in uploads} == {"done"} and {u.attempts for u in uploads} == {1}
    assert sorted(r.split()[0] for r in processed) == sorted(f"upload:{u.id}" for u in uploads)
    assert len(alerts) == 1  # twelve answers with item 9, one active safety alert
    assert nights == 4
    print("work split between processes:", sorted(r.split()[-1] for r in processed))


def test_a_worker_killed_mid_upload_leaves_no_nights_and_the_upload_is_retried(
    db_url: str, engine: Engine, world: World, clock: FixedClock, tmp_path: Path
) -> None:
    _queue(engine, tmp_path, clock, [("export.xml", APPLE_EXPORT.read_bytes())])
    with _spawn(db_url, "hold") as victim:
        assert victim.stdout is not None and victim.stderr is not None
        line = victim.stdout.readline()
        assert line.strip() == "holding", line + victim.stderr.read()
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=30)

    factory = make_session_factory(engine)
    with factory() as s:
        upload = s.scalars(select(Upload)).one()
        assert (upload.status, upload.attempts) == ("processing", 1)
        assert s.scalar(select(func.count()).select_from(Night)) == 0

    settings = Settings(database_url=db_url, upload_lease_seconds=60)
    retry = FixedClock(upload.lease_until + timedelta(seconds=1))  # type: ignore[operator]
    assert UploadWorker(factory, settings=settings, clock=FixedClock(clock.now())).drain() == []
    assert UploadWorker(factory, settings=settings, clock=retry).drain() == [upload.id]
    with factory() as s:
        upload = s.get(Upload, upload.id)  # type: ignore[assignment]
        assert (upload.status, upload.attempts, upload.nights_added) == ("done", 2, 4)
        assert s.scalar(select(func.count()).select_from(Night)) == 4


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
@pytest.mark.postgres
def test_of_two_schedulers_only_one_leads_until_it_stops(
    db_url: str, clock: FixedClock, settings: Settings
) -> None:
    engines = [make_engine(db_url), make_engine(db_url)]
    first, second = (
        Scheduler(engine=e, factory=make_session_factory(e), settings=settings, clock=clock)
        for e in engines
    )
    ran: list[str] = []
    try:
        assert first.leader.is_leader() is True
        assert second.leader.is_leader() is False
        assert first.leader.is_leader() is True  # kept, not re-contested
        second._leading(lambda: ran.append("second"))()
        first._leading(lambda: ran.append("first"))()
        assert ran == ["first"]
        first.shutdown()
        second.leader.retry_seconds = 0  # followers ask again only every so often
        assert second.leader.is_leader() is True
    finally:
        second.shutdown()
        for e in engines:
            e.dispose()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_on_sqlite_the_single_process_leads(
    engine: Engine, clock: FixedClock, settings: Settings
) -> None:
    scheduler = Scheduler(
        engine=engine, factory=make_session_factory(engine), settings=settings, clock=clock
    )
    assert scheduler.leader.is_leader() is True


def test_only_the_current_claim_can_extend_or_finish_an_upload(
    engine: Engine, world: World, clock: FixedClock, tmp_path: Path
) -> None:
    from api.services import uploads

    _queue(engine, tmp_path, clock, [("export.xml", APPLE_EXPORT.read_bytes())])
    factory = make_session_factory(engine)
    lease = timedelta(minutes=1)
    with transaction(factory) as s:
        first = uploads.claim_next(s, now=clock.now(), lease=lease)
        assert first is not None and first.attempts == 1
    expired = clock.now() + lease + timedelta(seconds=1)
    with transaction(factory) as s:  # the first worker went silent: claimed again
        second = uploads.claim_next(s, now=expired, lease=lease)
        assert second is not None and second.attempts == 2
    with transaction(factory) as s:
        later = expired + timedelta(seconds=30)
        assert uploads.extend_lease(s, upload_id=second.id, attempt=1, until=later) is False
        assert uploads.extend_lease(s, upload_id=second.id, attempt=2, until=later) is True
        assert uploads.hold(s, upload_id=second.id, attempt=1) is None
        assert uploads.hold(s, upload_id=second.id, attempt=2) is not None
    with transaction(factory) as s:  # a live lease is not taken
        assert uploads.claim_next(s, now=expired + timedelta(seconds=20), lease=lease) is None
