"""A shift most of a team's patients show at once (a holiday) is noted once for the team by
the nightly run, alerts none of them, and is read only by that team's coordinators, in the API
(audited like every team read) and on the inbox."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import polars as pl
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from api.clock import FixedClock
from api.db import make_session_factory, transaction
from api.scheduler import Scheduler
from api.services import patients
from api.services.nights import store_nights
from api.settings import Settings
from api.store import Alert, AuditEntry
from tests.api.conftest import World
from tests.api.test_web_inbox import sign_in
from tests.detect.synth import START, nights

ONSET, DAYS = 120, 126
#: the middle of sleep 2 h later from the same night on (5 SDs of the synthetic noise)
HOLIDAY = {"sleep_midpoint_min": 5.0}


def _team_nights(engine: Engine, clock: FixedClock, world: World) -> list[str]:
    """Team A gets 12 more patients whose sleep all moves later together; team B 6 stable
    ones. Returns team A's new patients."""
    shifted = nights(12, DAYS, seed=14, shift=HOLIDAY, onset=ONSET).with_columns(
        ("a" + pl.col("patient_id")).alias("patient_id")
    )
    stable = nights(6, DAYS, seed=15).with_columns(("b" + pl.col("patient_id")).alias("patient_id"))
    with transaction(make_session_factory(engine)) as s:
        for frame, team in ((shifted, world.team_a), (stable, world.team_b)):
            for pid in frame["patient_id"].unique().sort():
                patients.create_patient(s, patient_id=pid, team_id=team, now=clock.now())
            store_nights(s, patient_id=None, nights=frame, now=clock.now())
    return shifted["patient_id"].unique().sort().to_list()


def test_a_team_that_shifts_together_gets_one_note_and_no_alert_for_it(
    client: TestClient, world: World, engine: Engine, clock: FixedClock, settings: Settings
) -> None:
    shifted = _team_nights(engine, clock, world)
    scheduler = Scheduler(
        engine=engine, factory=make_session_factory(engine), settings=settings, clock=clock
    )
    last = START + timedelta(days=DAYS - 1)
    for offset in range(ONSET, DAYS):
        clock.set(datetime.combine(START + timedelta(days=offset), time(23), UTC))
        scheduler.detect_everyone()
    with transaction(make_session_factory(engine)) as s:
        alerts = s.scalars(select(Alert).where(Alert.patient_id.in_(shifted))).all()
        sleep = {"sleep_midpoint_min", "sleep_total_min", "sleep_irregularity_min"}
        assert not [a for a in alerts if a.kind == "passive_change" and sleep & set(a.metrics)]

    mine = client.get(f"/v1/teams/{world.team_a}/calendar-notes", headers=world.auth(world.coord_a))
    assert mine.status_code == 200, mine.text
    [note] = mine.json()["items"]
    assert note["metric"] == "sleep_midpoint_min" and note["unit"] == "min"
    assert note["shift"] >= 60 and note["team_id"] == world.team_a
    # the team's 12 shifted patients have the nights; p1 and p2 sent none
    assert note["patients"] == 12 and note["people"] >= 10
    assert (note["first_day"], note["last_day"]) == (
        (START + timedelta(days=ONSET)).isoformat(),
        last.isoformat(),
    )
    assert note["explanation"].startswith("The middle of sleep moved ")
    assert "a calendar effect, not an alert for each patient" in note["explanation"]

    # team B: its own view is empty, team A's is no team of theirs
    theirs = client.get(
        f"/v1/teams/{world.team_b}/calendar-notes", headers=world.auth(world.coord_b)
    )
    assert theirs.status_code == 200 and theirs.json()["items"] == []
    other = client.get(
        f"/v1/teams/{world.team_a}/calendar-notes", headers=world.auth(world.coord_b)
    )
    assert other.status_code == 404
    for token in (world.p1, world.admin):
        refused = client.get(f"/v1/teams/{world.team_a}/calendar-notes", headers=world.auth(token))
        assert refused.status_code == 403
    with transaction(make_session_factory(engine)) as s:
        audit = s.scalars(
            select(AuditEntry).where(AuditEntry.action == "list_calendar_notes")
        ).all()
        assert [(a.resource, a.outcome) for a in audit] == [
            (f"GET /v1/teams/{world.team_a}/calendar-notes", "ok"),
            (f"GET /v1/teams/{world.team_b}/calendar-notes", "ok"),
            (f"GET /v1/teams/{world.team_a}/calendar-notes", "not_found"),
            (f"GET /v1/teams/{world.team_a}/calendar-notes", "denied"),
            (f"GET /v1/teams/{world.team_a}/calendar-notes", "denied"),
        ]

    # the inbox: team A's coordinator reads the note once, team B's does not
    sign_in(client, world.coord_a)
    page = client.get("/inbox")
    assert page.text.count(note["explanation"]) == 1 and "Calendar notes" in page.text
    client.cookies.clear()
    sign_in(client, world.coord_b)
    assert "Calendar notes" not in client.get("/inbox").text


def test_the_next_night_of_the_same_shift_extends_its_note(
    client: TestClient, world: World, engine: Engine, clock: FixedClock, settings: Settings
) -> None:
    _team_nights(engine, clock, world)
    scheduler = Scheduler(
        engine=engine, factory=make_session_factory(engine), settings=settings, clock=clock
    )
    for offset in (ONSET + 2, ONSET + 3):
        clock.set(datetime.combine(START + timedelta(days=offset), time(23), UTC))
        scheduler.detect_everyone()
    items = client.get(
        f"/v1/teams/{world.team_a}/calendar-notes", headers=world.auth(world.coord_a)
    ).json()["items"]
    assert [(n["first_day"], n["last_day"]) for n in items] == [
        (
            (START + timedelta(days=ONSET)).isoformat(),
            (START + timedelta(days=ONSET + 3)).isoformat(),
        )
    ]
