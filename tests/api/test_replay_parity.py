"""Replay raises the alerts the live service raises for the same data on the same days.

The live side is driven through the real API under the same kind of simulated clock: each day
every patient uploads their Garmin export as it stands that day (a zip, processed by the upload
worker), answers the PHQ-9 through POST /phq9 at the minute they answered it, and the
scheduler's detection job runs at 23:00 UTC. With the replay's care-team policy on, a
coordinator then resolves through POST /v1/alerts/{id}/resolve, at 23:30 UTC, every alert that
first fired that many days ago, as the replay's care team does. An answer given after the
detection job or the coordinator's round is posted after it.
"""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import polars as pl
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.clock import FixedClock
from api.db import transaction
from api.replay import replay_cohort
from api.replay.care_team import resolution_note
from api.replay.outputs import read_alerts_jsonl
from api.scheduler import Scheduler
from api.services import patients, tokens
from api.settings import Settings
from api.worker import UploadWorker
from simulate import simulate_cohort
from tests.api.replay_cohort import (
    AGGREGATOR,
    WELLNESS,
    garmin_records,
    phq9_records,
    write_garmin_cohort,
)

PATIENTS, DAYS, SEED = 3, 120, 3
COMPARED = [
    "patient_id",
    "kind",
    "severity",
    "fired_on",
    "window_start",
    "window_end",
    "explanation",
    "detector_version",
]


def export_as_of(sleep: list[dict], uds: list[dict], day: date) -> bytes:
    """The patient's Garmin export zip as it would stand on ``day``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(
            str(WELLNESS / "export_1_sleepData.json"),
            json.dumps([r for r in sleep if r["calendarDate"] <= day.isoformat()]),
        )
        archive.writestr(
            str(AGGREGATOR / "UDSFile_export.json"),
            json.dumps([r for r in uds if r["calendarDate"] <= day.isoformat()]),
        )
    return buffer.getvalue()


def alert_pages(client: TestClient, token: str, **params: object) -> list[dict]:
    """Every alert the coordinator sees, page by page."""
    items: list[dict] = []
    cursor = None
    while True:
        page = client.get(
            "/v1/alerts",
            params={"limit": 200, **params} | ({"cursor": cursor} if cursor else {}),
            headers={"Authorization": f"Bearer {token}"},
        )
        assert page.status_code == 200, page.text
        items += page.json()["items"]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            return items


def live_alerts(tmp_path: Path, resolve_after: int | None) -> pl.DataFrame:
    cohort = simulate_cohort(PATIENTS, DAYS, SEED)
    first = cohort.start
    clock = FixedClock(datetime.combine(first, time(0), UTC))
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'live.sqlite'}",
        run_scheduler=False,
        run_worker=False,
        spool_dir=tmp_path / "spool",
    )
    app = create_app(settings, clock=clock)
    with TestClient(app) as client:
        factory = app.state.session_factory
        with transaction(factory) as session:
            team = patients.create_team(session, name="replay", now=clock.now())
            user = patients.create_user(
                session, email="c@example.org", name="c", role="coordinator", now=clock.now()
            )
            patients.add_member(session, user_id=user.id, team_id=team.id, now=clock.now())
            coordinator = tokens.issue_token(session, now=clock.now(), user_id=user.id)[1]
            patient_tokens = {}
            for pid in cohort.patient_ids:
                patients.create_patient(session, patient_id=pid, team_id=team.id, now=clock.now())
                patient_tokens[pid] = tokens.issue_token(session, now=clock.now(), patient_id=pid)[
                    1
                ]
        worker = UploadWorker(factory, settings=settings, clock=clock)
        scheduler = Scheduler(
            engine=app.state.engine, factory=factory, settings=settings, clock=clock
        )
        exports = {
            pid: garmin_records(cohort.nights.filter(pl.col("patient_id") == pid))
            for pid in cohort.patient_ids
        }
        answers = [
            (datetime.fromisoformat(entry["answered_at"]), entry)
            for pid in cohort.patient_ids
            for entry in phq9_records(cohort.phq9.filter(pl.col("patient_id") == pid))
        ]
        answers.sort(key=lambda pair: (pair[0], pair[1]["patient_id"]))
        for offset in range(DAYS):
            day = first + timedelta(days=offset)
            clock.set(datetime.combine(day, time(12), UTC))
            for pid, (sleep, uds) in exports.items():
                auth = {"Authorization": f"Bearer {patient_tokens[pid]}"}
                sent = client.post(
                    f"/v1/patients/{pid}/uploads",
                    params={"filename": "garmin.zip"},
                    content=export_as_of(sleep, uds, day),
                    headers=auth | {"Content-Type": "application/octet-stream"},
                )
                assert sent.status_code == 202, sent.text
            worker.drain()

            def answer_until(end: datetime, day: date = day) -> None:
                """Posts the day's answers given before ``end``, each at its answer time."""
                while answers and answers[0][0] < end:
                    answered_at, entry = answers.pop(0)
                    if answered_at.astimezone(UTC).date() < day:
                        continue  # before the first day: the replay stores it as history
                    clock.set(answered_at)
                    auth = {"Authorization": f"Bearer {patient_tokens[entry['patient_id']]}"}
                    posted = client.post(
                        f"/v1/patients/{entry['patient_id']}/phq9", json=entry, headers=auth
                    )
                    assert posted.status_code == 201, posted.text

            answer_until(datetime.combine(day, time(23), UTC))
            clock.set(datetime.combine(day, time(23), UTC))
            scheduler.detect_due()
            # the nightly sweep over every patient, which the replay runs at each day's end
            scheduler.detect_everyone()
            if resolve_after:
                answer_until(datetime.combine(day, time(23, 30), UTC))
                clock.set(datetime.combine(day, time(23, 30), UTC))
                due = (day - timedelta(days=resolve_after)).isoformat()
                for status in ("open", "acknowledged"):
                    for alert in alert_pages(client, coordinator, status=status, fired_to=due):
                        resolved = client.post(
                            f"/v1/alerts/{alert['id']}/resolve",
                            json={"note": resolution_note(resolve_after)},
                            headers={"Authorization": f"Bearer {coordinator}"},
                        )
                        assert resolved.status_code == 200, resolved.text
            answer_until(datetime.combine(day + timedelta(days=1), time(0), UTC))
        rows = alert_pages(client, coordinator)
    frame = pl.DataFrame(rows).select(COMPARED) if rows else pl.DataFrame(schema=COMPARED)
    return frame.with_columns(
        pl.col(c).str.to_date() for c in ("fired_on", "window_start", "window_end")
    ).sort(COMPARED)


@pytest.mark.slow
@pytest.mark.parametrize("resolve_after", [None, 7], ids=["nobody-resolves", "resolved-after-7"])
def test_replay_raises_the_alerts_the_live_api_raises(
    tmp_path: Path, resolve_after: int | None
) -> None:
    cohort = write_garmin_cohort(tmp_path / "cohort", patients=PATIENTS, days=DAYS, seed=SEED)
    replayed = replay_cohort(cohort, tmp_path / "out", resolve_after=resolve_after)
    from_replay = read_alerts_jsonl(tmp_path / "out" / "alerts.jsonl").select(COMPARED)
    live = live_alerts(tmp_path, resolve_after)
    # the cohort is chosen so that every path shows: passive changes, PHQ-9 relapse and safety
    assert {"passive_change", "phq9_relapse", "phq9_safety"} <= set(from_replay["kind"])
    only_replay = from_replay.join(live, on=COMPARED, how="anti", nulls_equal=True)
    only_live = live.join(from_replay, on=COMPARED, how="anti", nulls_equal=True)
    assert only_replay.to_dicts() == only_live.to_dicts() == []
    assert replayed.alerts.height == live.height
    if resolve_after:
        # the policy shows: some patient has two alerts of one kind, the first resolved
        assert from_replay.select("patient_id", "kind").is_duplicated().any()
