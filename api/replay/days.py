"""Feed a cohort's frames day by day through the service, under a simulated clock.

Each simulated day is one transaction, in the order the live service would see it:

* at ``NIGHTS_SYNC`` the nights that ended that day are stored as the upload worker stores them
  (``store_nights``) and their patients are marked for detection; a night without any data
  arrives only with the next night that has some (see ``with_arrival``);
* every PHQ-9 entry answered that day (UTC: the replay's days are the service's clock) is
  submitted at its own answer time and judged at once, through ``submit_phq9_many``: the code of
  the PHQ-9 route's ``submit_phq9``, given the day's submissions together. The rules judge it on
  the patient's local date (``detect.phq9_rules.answered_on``), as the live service does. An
  answer reaches the service at its answer time, so one given after ``DETECTION_AT`` (noon of
  the next local day at UTC+13, whose night the sweep already judges; 08:00 in Tokyo, 18:00 in
  New York) is submitted after the sweep, and one after ``CARE_TEAM_AT`` after the care
  team's round, not before them as its UTC date alone would have it;
* at ``DETECTION_AT`` the scheduler's nightly sweep judges the day for every patient, those
  who sent nothing included (a wearable that stops syncing is told by its silence), through
  the detection job (``run_due_detection`` with every patient marked), opening alerts and
  queueing their webhook deliveries, and stores the team's calendar notes as the nightly run
  does (``note_calendar``);
* at ``CARE_TEAM_AT``, with a care-team policy (``resolve_after`` days), the replay's care team
  resolves the alerts that first fired that long ago (see ``api.replay.care_team``).

The live service judges a patient when new data arrives and sweeps every patient once a
night; here the day-end sweep covers both, judging each patient once a day with the day's data.

Nights and answers dated before the first replayed day are stored beforehand as history,
without judgement; anything after the last replayed day is left out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from time import perf_counter

import polars as pl
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from api.clock import FixedClock
from api.replay.care_team import care_team, resolve_stale
from api.replay.window import StoredWindow
from api.services.calendar_notes import note_calendar
from api.services.detection import run_due_detection
from api.services.nights import store_nights
from api.services.patients import ensure_patient
from api.services.phq9 import SUBMITTED_AT, store_phq9, submit_phq9_many
from api.services.tokens import Principal
from api.store import Patient
from api.unit_of_work import UnitOfWork, unit_of_work

NIGHTS_SYNC = time(12, 0)
ARRIVES_ON = "_arrives_on"
DETECTION_AT = time(23, 0)
CARE_TEAM_AT = time(23, 30)
#: patients per UPDATE of the day-end sweep's marks (well under any bound-parameter limit)
MARK_CHUNK = 900

#: called after each simulated day with (days done, days in all, the day)
DayProgress = Callable[[int, int, date], None]


class Timings:
    """Wall-clock seconds spent in each stage, added up over the days."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def measure(self, stage: str) -> Iterator[None]:
        started = perf_counter()
        try:
            yield
        finally:
            spent = perf_counter() - started
            self.seconds[stage] = self.seconds.get(stage, 0.0) + spent


def at(day: date, moment: time) -> datetime:
    return datetime.combine(day, moment, UTC)


def replay_days(
    factory: sessionmaker[Session],
    *,
    nights: pl.DataFrame,
    phq9: pl.DataFrame,
    patient_ids: Sequence[str],
    days: Sequence[date],
    clock: FixedClock,
    team_name: str,
    timings: Timings,
    progress: DayProgress | None = None,
    resolve_after: int | None = None,
) -> None:
    """Replays ``days``; with ``resolve_after`` (days, above 0) the replay's care team resolves
    each alert that long after it first fired, else alerts stay open as nobody answers them."""
    if not days:
        return
    policy: CareTeamPolicy | None = None
    first, last = days[0], days[-1]
    clock.set(at(first, time(0, 0)))
    with timings.measure("history"), unit_of_work(factory, clock=clock) as work:
        session = work.session
        for patient_id in patient_ids:
            ensure_patient(session, patient_id=patient_id, team_name=team_name, now=clock.now())
        _store_history(session, nights, phq9, before=first, now=clock.now())
        if resolve_after:
            principal = care_team(session, team_name=team_name, now=clock.now())
            policy = CareTeamPolicy(principal, resolve_after)
    answered_on = pl.col("answered_at").dt.date()
    in_range = phq9.filter(answered_on.is_between(first, last))
    nights = with_arrival(nights)
    arrives = pl.col(ARRIVES_ON)
    nights_by_day = _by_day(nights.filter(arrives.is_between(first, last)), arrives)
    phq9_by_day = _by_day(in_range, answered_on)
    window = StoredWindow()
    for done, day in enumerate(days, start=1):
        with unit_of_work(factory, clock=clock) as work:
            replay_day(
                work,
                day=day,
                nights=nights_by_day.get(day),
                phq9=phq9_by_day.get(day),
                clock=clock,
                timings=timings,
                policy=policy,
                everyone=patient_ids,
                window=window,
            )
        if progress is not None:
            progress(done, len(days), day)


def replay_day(
    work: UnitOfWork,
    *,
    day: date,
    nights: pl.DataFrame | None,
    phq9: pl.DataFrame | None,
    clock: FixedClock,
    timings: Timings,
    policy: CareTeamPolicy | None = None,
    everyone: Sequence[str] = (),
    window: StoredWindow | None = None,
) -> None:
    """One simulated day, in the caller's unit of work; the day-end sweep judges ``everyone``
    (and the patients marked by the day's data). With ``window`` (kept by the caller from day
    to day) the detection job reads the rows it judges from that copy of the database's."""
    session = work.session
    if nights is not None and nights.height:
        clock.set(at(day, NIGHTS_SYNC))
        with timings.measure("store nights"):
            # every patient's sync of the day in one upsert (store_nights keeps each row's id)
            store_nights(session, patient_id=None, nights=nights, now=clock.now())
            if window is not None:
                window.stored(session, nights)
            mark_due(session, nights["patient_id"].unique().sort().to_list(), now=clock.now())
    sweep, rounds = at(day, DETECTION_AT), at(day, CARE_TEAM_AT)
    answered = pl.col("answered_at")
    if phq9 is not None:
        before = phq9.filter(answered < sweep)
        submit_answers(work, before, clock, timings)
        if window is not None:
            with timings.measure("submit PHQ-9"):
                window.answered(session, before)
    clock.set(sweep)
    with timings.measure("detection job"):
        for lo in range(0, len(everyone), MARK_CHUNK):
            mark_due(session, everyone[lo : lo + MARK_CHUNK], now=clock.now())
        if window is not None:
            window.refresh(session, day=day)
        run_due_detection(
            work,
            now=clock.now(),
            inputs=window,
            latest=window.latest_nights if window is not None else None,
        )
        # the nightly sweep's calendar notes for the team, which alert no one
        note_calendar(session, day=day, now=clock.now(), inputs=window)
    if phq9 is not None:
        late = answered < rounds if policy is not None else answered.is_not_null()
        submit_answers(work, phq9.filter(answered >= sweep, late), clock, timings)
    if policy is not None:
        clock.set(rounds)
        with timings.measure("care team"):
            resolve_stale(
                work, day=day, after=policy.after, principal=policy.principal, now=clock.now()
            )
        if phq9 is not None:
            submit_answers(work, phq9.filter(answered >= rounds), clock, timings)
    if phq9 is not None and window is not None:
        with timings.measure("submit PHQ-9"):
            # the window is read at the next sweep: the answers after this one, at once
            window.answered(session, phq9.filter(answered >= sweep))


def submit_answers(
    work: UnitOfWork, phq9: pl.DataFrame, clock: FixedClock, timings: Timings
) -> None:
    """Submits every answer at its own answer time, as one submit_phq9 call per patient and
    answer time would, judged in the order they were answered."""
    if phq9.height == 0:
        return
    latest = phq9["answered_at"].max()  # the day's answers all have their time
    if isinstance(latest, datetime):
        clock.set(latest)
    with timings.measure("submit PHQ-9"):
        submit_phq9_many(work, entries=phq9.with_columns(pl.col("answered_at").alias(SUBMITTED_AT)))


@dataclass(frozen=True)
class CareTeamPolicy:
    principal: Principal  # the replay's care team (api.replay.care_team)
    after: int  # days after an alert first fired


def mark_due(session: Session, patient_ids: Sequence[str], *, now: datetime) -> None:
    """``mark_for_detection`` for many patients in one statement (an existing mark is older
    and stays, as there)."""
    session.execute(
        update(Patient)
        .where(Patient.id.in_(list(patient_ids)), Patient.detection_due_at.is_(None))
        .values(detection_due_at=now)
    )


def _store_history(
    session: Session, nights: pl.DataFrame, phq9: pl.DataFrame, *, before: date, now: datetime
) -> None:
    old_nights = with_arrival(nights).filter(pl.col(ARRIVES_ON) < before).drop(ARRIVES_ON)
    for (patient_id,), rows in old_nights.partition_by("patient_id", as_dict=True).items():
        store_nights(session, patient_id=str(patient_id), nights=rows, now=now)
    old_phq9 = phq9.filter(pl.col("answered_at").dt.date() < before)
    for (patient_id,), rows in old_phq9.partition_by("patient_id", as_dict=True).items():
        store_phq9(session, patient_id=str(patient_id), entries=rows, now=now)


def with_arrival(nights: pl.DataFrame) -> pl.DataFrame:
    """Adds the day each night reaches the service: a night with data arrives on its date; a
    night without any (a gap the nights builder fills in) arrives with the next night that has
    data, since an export only shows the gap once something follows it. A silent patient's
    export does not change, its upload is a duplicate, and nothing is marked for detection."""
    has_data = pl.any_horizontal("has_sleep", "has_hrv", "has_resting_hr", "has_steps")
    arrival = pl.when(has_data).then(pl.col("date")).backward_fill().over("patient_id")
    return (
        nights.drop(ARRIVES_ON, strict=False)
        .sort("patient_id", "date")
        .with_columns(arrival.alias(ARRIVES_ON))
        .filter(pl.col(ARRIVES_ON).is_not_null())
    )


def _by_day(frame: pl.DataFrame, day: pl.Expr) -> dict[date, pl.DataFrame]:
    if frame.height == 0:
        return {}
    keyed = frame.with_columns(day.alias("_day"))
    return {
        key: rows.drop("_day", ARRIVES_ON, strict=False)
        for (key,), rows in keyed.partition_by("_day", as_dict=True, maintain_order=True).items()
    }


def replay_span(nights: pl.DataFrame, phq9: pl.DataFrame) -> tuple[date, date] | None:
    """The first and last day with a night or a PHQ-9 answer."""
    days = [d for d in (nights["date"].min(), nights["date"].max()) if isinstance(d, date)]
    days += [
        a.date()
        for a in (phq9["answered_at"].min(), phq9["answered_at"].max())
        if isinstance(a, datetime)
    ]
    return (min(days), max(days)) if days else None


def day_range(first: date, last: date) -> list[date]:
    return [first + timedelta(days=k) for k in range((last - first).days + 1)]
