"""Uploads: queued and processed off the request, idempotent, capped in size, and every kind of
bad input ends as a clear failure that stores nothing."""

from __future__ import annotations

import io
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

import ingest
from api.app import create_app
from api.clock import FixedClock
from api.db import make_session_factory
from api.settings import Settings
from api.store import Night, Patient, Upload
from api.worker import UploadWorker
from tests.api.conftest import World
from tests.api.serve_data import APPLE_EXPORT, APPLE_ZIP, FIXTURES


def _worker(engine: Engine, settings: Settings, clock: FixedClock) -> UploadWorker:
    return UploadWorker(make_session_factory(engine), settings=settings, clock=clock)


def _upload(client: TestClient, token: str, path: Path, **headers: str):
    return client.post(
        f"/v1/patients/p1/uploads?filename={path.name}",
        content=path.read_bytes(),
        headers={"Authorization": f"Bearer {token}", **headers},
    )


def _count(engine: Engine, what: object) -> int:
    with make_session_factory(engine)() as s:
        return int(s.scalar(select(func.count()).select_from(what)) or 0)  # type: ignore[arg-type]


def test_an_export_is_queued_then_processed_into_nights(
    client: TestClient, world: World, engine: Engine, settings: Settings, clock: FixedClock
) -> None:
    response = _upload(client, world.p1, APPLE_EXPORT)
    assert response.status_code == 202
    status_url = response.headers["Location"]
    assert response.json()["status_url"] == status_url
    assert client.get(status_url, headers=world.auth(world.p1)).json()["status"] == "queued"

    assert _worker(engine, settings, clock).drain() == [response.json()["id"]]

    upload = client.get(status_url, headers=world.auth(world.p1)).json()
    assert (upload["status"], upload["nights_added"], upload["error"]) == ("done", 4, None)
    nights = client.get("/v1/patients/p1/nights", headers=world.auth(world.coord_a)).json()
    expected = ingest.build_nights(ingest.load(APPLE_EXPORT, patient_id="p1").samples)
    assert [(n["date"], n["sleep_total_min"], n["steps"]) for n in nights] == [
        (d.isoformat(), total, steps)
        for d, total, steps in expected.select("date", "sleep_total_min", "steps").iter_rows()
    ]
    with make_session_factory(engine)() as s:
        assert s.get(Patient, "p1").detection_due_at == clock.now()  # type: ignore[union-attr]
    assert list(settings.spool_dir.iterdir()) == []  # the bytes are gone once stored


def test_the_same_file_twice_or_a_retried_key_is_stored_once(
    client: TestClient, world: World, engine: Engine, settings: Settings, clock: FixedClock
) -> None:
    first = _upload(client, world.p1, APPLE_EXPORT, **{"Idempotency-Key": "k-1"})
    again = _upload(client, world.p1, APPLE_EXPORT)
    retried = _upload(client, world.p1, APPLE_ZIP, **{"Idempotency-Key": "k-1"})
    assert first.json()["id"] == again.json()["id"] == retried.json()["id"]
    assert (again.json()["duplicate"], retried.json()["duplicate"]) == (True, True)
    assert _count(engine, Upload) == 1

    _worker(engine, settings, clock).drain()
    nights = _count(engine, Night)
    after = _upload(client, world.p1, APPLE_EXPORT)
    assert after.json()["status"] == "done" and after.json()["id"] == first.json()["id"]
    assert _worker(engine, settings, clock).drain() == []
    assert _count(engine, Night) == nights
    assert len(list(settings.spool_dir.iterdir())) == 0


def test_overlapping_exports_fill_nights_without_duplicating_them(
    client: TestClient, world: World, engine: Engine, settings: Settings, clock: FixedClock
) -> None:
    _upload(client, world.p1, APPLE_EXPORT)
    _upload(client, world.p1, APPLE_ZIP)
    _worker(engine, settings, clock).drain()
    with make_session_factory(engine)() as s:
        dates = s.scalars(select(Night.date).where(Night.patient_id == "p1")).all()
    assert len(dates) == len(set(dates)) >= 4


def test_an_upload_over_the_size_cap_is_refused_while_streaming(
    client: TestClient, world: World, engine: Engine, settings: Settings
) -> None:
    chunk = b"x" * 65536
    chunks = settings.upload_max_bytes // len(chunk) + 2

    def body() -> Iterator[bytes]:  # no Content-Length: the bytes are counted as they come
        for _ in range(chunks):
            yield chunk

    response = client.post("/v1/patients/p1/uploads", content=body(), headers=world.auth(world.p1))
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["limit"] == settings.upload_max_bytes
    assert _count(engine, Upload) == 0
    assert not settings.spool_dir.exists() or list(settings.spool_dir.iterdir()) == []


BAD_EXPORTS = [
    ("unknown-format", "notes.txt", b"just some text, not an export"),
    ("malformed-file", "truncated_sleepData.json",
     (FIXTURES / "garmin" / "broken" / "truncated_sleepData.json").read_bytes()),
    ("unsafe-input", "billion_laughs.xml",
     (FIXTURES / "hostile" / "billion_laughs.xml").read_bytes()),
    ("unsafe-input", "zip_slip.zip", (FIXTURES / "hostile" / "zip_slip.zip").read_bytes()),
    ("invalid-value", "total_mismatch.json",
     (FIXTURES / "phq9" / "bad" / "total_mismatch.json").read_bytes()),
]  # fmt: skip


@pytest.mark.parametrize(("code", "name", "content"), BAD_EXPORTS, ids=[b[1] for b in BAD_EXPORTS])
def test_bad_input_fails_the_upload_with_the_parsers_message_and_stores_nothing(
    client: TestClient,
    world: World,
    engine: Engine,
    settings: Settings,
    clock: FixedClock,
    code: str,
    name: str,
    content: bytes,
) -> None:
    response = client.post(
        f"/v1/patients/p1/uploads?filename={name}", content=content, headers=world.auth(world.p1)
    )
    assert response.status_code == 202
    _worker(engine, settings, clock).drain()
    upload = client.get(response.headers["Location"], headers=world.auth(world.p1)).json()
    assert upload["status"] == "failed"
    assert upload["error"].startswith(name), upload["error"]
    assert _count(engine, Night) == 0
    with make_session_factory(engine)() as s:
        assert s.get(Patient, "p1").detection_due_at is None  # type: ignore[union-attr]


def _zip_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, content in members.items():
            zf.writestr(name, content)
    return buffer.getvalue()


def _post(client: TestClient, world: World, name: str, content: bytes) -> str:
    response = client.post(
        f"/v1/patients/p1/uploads?filename={name}", content=content, headers=world.auth(world.p1)
    )
    assert response.status_code == 202
    return str(response.headers["Location"])


def test_a_zipped_folder_holding_the_vendors_zip_is_read_and_what_was_left_out_is_listed(
    client: TestClient, world: World, engine: Engine, settings: Settings, clock: FixedClock
) -> None:
    merged = FIXTURES / "fitbit" / "merged"
    body = _zip_bytes(
        {
            "Health/export.zip": APPLE_ZIP.read_bytes(),
            "fitbit/sleep.json": (merged / "sleep.json").read_bytes(),
            "fitbit/steps.json": b'[{"dateTime": "2020-03-28 09:00:00", "va',
            "notes.txt": b"slept badly",
        }
    )
    status_url = _post(client, world, "phone.zip", body)
    _worker(engine, settings, clock).drain()
    upload = client.get(status_url, headers=world.auth(world.p1)).json()
    assert upload["status"] == "done" and upload["nights_added"] > 4
    left_out = {(w["kind"], w["file"]): w for w in upload["warnings"]}
    assert ("file_not_read", "phone.zip!notes.txt") in left_out
    refused = left_out[("file_refused", "phone.zip!fitbit/steps.json")]
    assert "not valid JSON" in refused["reason"]
    skipped = left_out[("record_skipped", "phone.zip!fitbit/sleep.json")]
    assert skipped["count"] == 1 and "'unknown'" in skipped["reason"]
    assert "logId 30000000002" in skipped["record"]


def test_an_upload_of_which_nothing_could_be_read_fails_naming_the_files_it_saw(
    client: TestClient, world: World, engine: Engine, settings: Settings, clock: FixedClock
) -> None:
    body = _zip_bytes(
        {"notes.txt": b"slept badly", "sleep-2024-01-10.json": b'[{"logId": 1, "dateOfSleep": '}
    )
    status_url = _post(client, world, "upload.zip", body)
    _worker(engine, settings, clock).drain()
    upload = client.get(status_url, headers=world.auth(world.p1)).json()
    assert upload["status"] == "failed"
    assert upload["error"].startswith("upload.zip: no export phenowatch reads was found in it")
    assert "upload.zip!notes.txt" in upload["error"]
    assert "refused upload.zip!sleep-2024-01-10.json" in upload["error"]
    assert _count(engine, Night) == 0


def test_an_upload_with_no_data_in_its_files_fails(
    client: TestClient, world: World, engine: Engine, settings: Settings, clock: FixedClock
) -> None:
    score = FIXTURES / "fitbit" / "takeout" / "Fitbit" / "Sleep Score" / "sleep_score.csv"
    status_url = _post(client, world, "scores.zip", _zip_bytes({"s.csv": score.read_bytes()}))
    _worker(engine, settings, clock).drain()
    upload = client.get(status_url, headers=world.auth(world.p1)).json()
    assert upload["status"] == "failed"
    assert upload["error"] == (
        "scores.zip: no sleep, heart rate, step or PHQ-9 data was found in scores.zip!s.csv"
    )


def test_an_empty_body_is_a_problem_not_an_upload(client: TestClient, world: World) -> None:
    response = client.post("/v1/patients/p1/uploads", content=b"", headers=world.auth(world.p1))
    assert response.status_code == 422
    assert response.json()["field"] == "body"


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_serve_processes_uploads_in_its_own_worker_thread(
    world: World, engine: Engine, settings: Settings, clock: FixedClock
) -> None:
    app = create_app(settings.model_copy(update={"run_worker": True}), clock=clock, engine=engine)
    with TestClient(app) as client:
        location = _upload(client, world.p1, APPLE_EXPORT).headers["Location"]
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            status = client.get(location, headers=world.auth(world.p1)).json()["status"]
            if status in ("done", "failed"):
                break
            time.sleep(0.05)
    assert status == "done"
