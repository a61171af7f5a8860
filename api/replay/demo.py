"""The newcomer's demo: a small simulated cohort replayed into the database the server will
use, a care team with a coordinator, and ready tokens for the coordinator and every patient.

The cohort ends yesterday, so the served API looks current. Everything lives under one folder
(``./var/demo`` by default) that is started afresh on each run.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

import polars as pl
from sqlalchemy import select

from api.clock import SystemClock
from api.db import make_engine, make_session_factory
from api.replay.run import ReplayResult, replay_cohort
from api.services import patients, tokens
from api.services.alert_inbox import assign
from api.services.alerts import acknowledge, escalate_overdue
from api.services.phq9 import submit_phq9
from api.services.tokens import SYSTEM, Principal
from api.store import Alert, CareTeam
from api.unit_of_work import UnitOfWork, unit_of_work
from api.web.sessions import make_sign_in_link
from api.webhooks.secret_box import SecretBox
from ingest.schema import PHQ9
from simulate import simulate_cohort
from simulate.writers.cohort_folder import write_cohort

TEAM = "Demo care team"
#: the demo's care team resolves an alert six weeks after it fired, so the inbox opens with
#: the last six weeks' alerts still waiting (the replay's default of 7 days left one open)
RESOLVE_AFTER = 42
#: a one-time sign-in link printed by the demo works this long
LINK_MINUTES = 60
COORDINATOR_EMAIL = "coordinator@demo.example"
#: the file that marks a folder as the demo's, so that a later run may empty it
DEMO_MARK = ".phenowatch-demo"


class NotADemoFolder(Exception):
    """The folder given to the demo holds something else: it is never emptied."""


@dataclass(frozen=True)
class DemoSetup:
    folder: Path
    database_url: str
    replay: ReplayResult
    team_id: int
    coordinator_token: str
    sign_in_link: str  # the secret of a one-time sign-in link for the coordinator
    patient_id: str  # a patient with alerts, for the tour
    patient_token: str
    tokens_file: Path  # patient_id,token for every patient
    #: encrypts the webhook secrets of the demo's service (PHENOWATCH_SECRET_KEYS)
    secret_key: str = field(default_factory=SecretBox.new_key)

    @property
    def report(self) -> Path:
        return self.replay.out / "report.html"


def demo_database_url(folder: Path) -> str:
    return f"sqlite:///{(folder / 'phenowatch.sqlite').resolve()}"


def setup_demo(
    folder: Path,
    *,
    patients_n: int = 24,
    days: int = 180,
    seed: int = 7,
    database_url: str | None = None,
    today: date | None = None,
) -> DemoSetup:
    """Simulates, replays and creates the people and tokens; ``folder`` is emptied first
    (only when it is empty or an earlier demo's, never any other folder)."""
    if folder.is_dir() and any(folder.iterdir()) and not (folder / DEMO_MARK).is_file():
        raise NotADemoFolder(f"{folder} is not empty and not a phenowatch demo folder")
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    (folder / DEMO_MARK).write_text("made by `phenowatch demo`; emptied by the next run\n")
    today = today or SystemClock().now().date()
    cohort = simulate_cohort(patients_n, days, seed, start=today - timedelta(days=days))
    write_cohort(cohort, folder / "cohort")
    url = database_url or demo_database_url(folder)
    replayed = replay_cohort(
        folder / "cohort",
        folder / "replay",
        database_url=url,
        team_name=TEAM,
        resolve_after=RESOLVE_AFTER,
    )
    engine = make_engine(url)
    try:
        clock = SystemClock()
        with unit_of_work(make_session_factory(engine), clock=clock, write_lock=True) as work:
            session = work.session
            now = clock.now()
            team = session.scalar(select(CareTeam).where(CareTeam.name == TEAM))
            if team is None:  # an empty cohort replays no patient, so no team either
                team = patients.create_team(session, name=TEAM, now=now)
            user = patients.create_user(
                session,
                email=COORDINATOR_EMAIL,
                name="Demo coordinator",
                role="coordinator",
                now=now,
            )
            patients.add_member(session, user_id=user.id, team_id=team.id, now=now)
            _, coordinator_token = tokens.issue_token(
                session, now=now, user_id=user.id, label="demo coordinator"
            )
            patient_tokens = {
                pid: tokens.issue_token(session, now=now, patient_id=pid, label="demo")[1]
                for pid in replayed.nights["patient_id"].unique().sort().to_list()
            }
            team_id = team.id
            link = make_sign_in_link(session, user_id=user.id, now=now, minutes=LINK_MINUTES)
            if patient_tokens:
                _todays_work(work, list(patient_tokens), user_id=user.id, now=now)
    finally:
        engine.dispose()
    tokens_file = folder / "patient_tokens.csv"
    pl.DataFrame(
        {"patient_id": list(patient_tokens), "token": list(patient_tokens.values())}
    ).write_csv(tokens_file)
    tour_patient = _tour_patient(replayed, list(patient_tokens))
    return DemoSetup(
        folder=folder,
        database_url=url,
        replay=replayed,
        team_id=team_id,
        coordinator_token=coordinator_token,
        sign_in_link=link,
        patient_id=tour_patient,
        patient_token=patient_tokens.get(tour_patient, ""),
        tokens_file=tokens_file,
    )


def _todays_work(work: UnitOfWork, patient_ids: list[str], *, user_id: int, now: datetime) -> None:
    """What a coordinator finds on a real morning: a patient answered item 9 of the PHQ-9 two
    hours ago and nobody has acknowledged it (so it is escalated), and a colleague's alert was
    acknowledged and taken on. Everything goes through the services the API calls."""
    answered = now - timedelta(hours=2)
    row = {f"item_{i}": v for i, v in enumerate(ITEM9_ANSWER, 1)} | {
        "patient_id": patient_ids[-1],
        "answered_at": answered,
        "total": sum(ITEM9_ANSWER),
        "difficulty": 1,
        "instrument": "phq9",
        "source": "demo",
    }
    frame = pl.DataFrame([row], schema=PHQ9)
    submit_phq9(work, patient_id=patient_ids[-1], entries=frame, actor=SYSTEM, now=answered)
    escalate_overdue(work, now=now, after=timedelta(minutes=30))
    coordinator = Principal(role="coordinator", user_id=user_id)
    waiting = work.session.scalars(
        select(Alert.id)
        .where(Alert.status == "open", Alert.kind == "passive_change")
        .order_by(Alert.opened_at)
        .limit(1)
    ).first()
    if waiting is not None:
        acknowledge(work, alert_id=waiting, principal=coordinator, now=now, note="Calling today.")
        assign(work.session, alert_id=waiting, principal=coordinator, now=now)


#: the demo's item-9 answer: moderately severe, item 9 "several days"
ITEM9_ANSWER = (2, 2, 2, 2, 1, 2, 2, 1, 1)


def _tour_patient(replayed: ReplayResult, patient_ids: list[str]) -> str:
    """The first patient with a passive-change alert (the most telling timeline), else the first."""
    passive = replayed.alerts.filter(pl.col("kind") == "passive_change")["patient_id"]
    for pid in passive.sort().to_list():
        if pid in patient_ids:
            return str(pid)
    return patient_ids[0] if patient_ids else ""


def env_lines(setup: DemoSetup, url: str) -> list[str]:
    """Shell lines that set what the README's examples use."""
    return [
        f"export PHENOWATCH_URL={url}",
        f"export PHENOWATCH_DATABASE_URL={setup.database_url}",
        f"export COORDINATOR_TOKEN={setup.coordinator_token}",
        f"export TEAM_ID={setup.team_id}",
        f"export PATIENT_ID={setup.patient_id}",
        f"export PATIENT_TOKEN={setup.patient_token}",
        f"export PHENOWATCH_SECRET_KEYS={setup.secret_key}",
    ]
