"""The detection job reads only a trailing window of each patient's data; judged on any day,
that window gives exactly the signals of the whole stored history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
from sqlalchemy import Engine, select

from api.db import make_session_factory, transaction
from api.replay.days import ARRIVES_ON, with_arrival
from api.replay.window import StoredWindow
from api.services.detection import detection_inputs, latest_nights, lookback_days
from api.services.nights import load_nights, store_nights
from api.services.patients import ensure_patient
from api.services.phq9 import load_phq9, store_phq9, submit_phq9_many
from api.store import SignalRecord
from api.unit_of_work import UnitOfWork
from detect import DEFAULT, detect_day
from detect.phq9_rules import phq9_submission_signals
from simulate import simulate_cohort
from tests.api.serve_data import phq9_frame

T0 = datetime(2025, 1, 1, tzinfo=UTC)


def _signals(signals: list) -> list[tuple]:
    return [
        (s.patient_id, s.kind, s.severity, s.fired_on, s.window_start, s.window_end, s.explanation)
        for s in signals
    ]


def test_the_detection_window_gives_the_signals_of_the_whole_history(engine: Engine) -> None:
    cohort = simulate_cohort(12, 200, 3)
    # one patient whose remission lies far outside the 56-day recent window: mild answers in
    # between, then a relapse, which only the remembered remission state can call
    far = cohort.start + timedelta(days=10)
    entries = [(far, [0, 0, 1, 1, 0, 0, 0, 0, 0])]
    entries += [(far + timedelta(days=30 * k), [1, 1, 1, 1, 1, 1, 1, 0, 0]) for k in (1, 2, 3)]
    entries += [(far + timedelta(days=130), [2, 2, 2, 1, 1, 1, 1, 1, 0])]
    late = pl.concat(
        phq9_frame("late", datetime.combine(d, datetime.min.time(), UTC), items)
        for d, items in entries
    )
    phq9 = pl.concat([cohort.phq9, late], how="vertical_relaxed")
    factory = make_session_factory(engine)
    ids = [*cohort.patient_ids, "late"]
    with transaction(factory) as s:
        for pid in ids:
            ensure_patient(s, patient_id=pid, team_name="t", now=T0)
        store_nights(s, patient_id=None, nights=cohort.nights, now=T0)
        for (pid,), rows in phq9.partition_by("patient_id", as_dict=True).items():
            store_phq9(s, patient_id=str(pid), entries=rows, now=T0)
    config = DEFAULT
    with factory() as s:
        every_night = load_nights(s, patient_ids=ids)
        every_answer = load_phq9(s, patient_ids=ids)
        judged: list[tuple] = []
        for offset in range(200):
            day = cohort.start + timedelta(days=offset)
            nights, answers = detection_inputs(s, patient_ids=ids, day=day, config=config)
            assert nights["date"].min() >= day - timedelta(days=lookback_days(config))
            assert lookback_days(config) <= 150
            windowed = _signals(detect_day(nights, answers, day, config))
            whole = _signals(detect_day(every_night, every_answer, day, config))
            assert windowed == whole
            judged += whole
    assert {"passive_change", "phq9_relapse", "data_gap"} <= {kind for _, kind, *_ in judged}
    relapse_day = far + timedelta(days=130)
    with factory() as s:
        nights, answers = detection_inputs(s, patient_ids=["late"], day=relapse_day, config=config)
    assert [(s.kind, s.fired_on) for s in detect_day(nights, answers, relapse_day, config)] == [
        ("phq9_relapse", relapse_day)
    ]


def test_a_day_of_submissions_at_once_stores_the_signals_each_answer_gives_alone(
    engine: Engine,
) -> None:
    cohort = simulate_cohort(8, 240, 5)
    config = DEFAULT
    factory = make_session_factory(engine)
    with transaction(factory) as s:
        for pid in cohort.patient_ids:
            ensure_patient(s, patient_id=pid, team_name="t", now=T0)
    by_day = cohort.phq9.with_columns(day=pl.col("answered_at").dt.date()).partition_by(
        "day", as_dict=True, maintain_order=True
    )
    for _, rows in sorted(by_day.items()):
        with transaction(factory) as s:
            submit_phq9_many(
                UnitOfWork(s),
                entries=rows.drop("day").with_columns(submitted_at=pl.col("answered_at")),
            )
    # each answer judged alone against every earlier answer of its patient
    truth = [
        (s.patient_id, s.kind, s.fired_on, s.explanation)
        for entry in cohort.phq9.sort("answered_at", "patient_id").iter_slices(1)
        for s in phq9_submission_signals(entry, cohort.phq9, config)
    ]
    with factory() as s:
        stored = s.execute(
            select(
                SignalRecord.patient_id,
                SignalRecord.kind,
                SignalRecord.fired_on,
                SignalRecord.explanation,
            ).order_by(SignalRecord.id)
        ).all()
    assert len(truth) > 5
    assert [tuple(row) for row in stored] == truth


def test_the_replays_copy_of_the_window_holds_the_rows_the_database_gives(
    engine: Engine,
) -> None:
    """StoredWindow (the replay's detection inputs) against detection_inputs and latest_nights,
    day by day, as nights arrive (a later upload filling a value and a coverage flag of a
    stored night) and answers are submitted (one at an answer time already stored)."""
    cohort = simulate_cohort(6, 200, 4)
    nights = with_arrival(cohort.nights)
    factory = make_session_factory(engine)
    ids = list(cohort.patient_ids)
    first = cohort.start + timedelta(days=150)
    with transaction(factory) as s:
        for pid in ids:
            ensure_patient(s, patient_id=pid, team_name="t", now=T0)
        early = nights.filter(pl.col(ARRIVES_ON) < first).drop(ARRIVES_ON)
        store_nights(s, patient_id=None, nights=early, now=T0)
        answered = pl.col("answered_at").dt.date()
        earlier = cohort.phq9.filter(answered < first)
        for (pid,), rows in earlier.partition_by("patient_id", as_dict=True).items():
            store_phq9(s, patient_id=str(pid), entries=rows, now=T0)
    window = StoredWindow(DEFAULT)
    for offset in range(50):
        day = first + timedelta(days=offset)
        now = datetime.combine(day, datetime.min.time(), UTC)
        with transaction(factory) as s:
            arriving = nights.filter(pl.col(ARRIVES_ON) == day).drop(ARRIVES_ON)
            if offset == 10:
                # a re-export that measured an earlier night's resting heart rate after all
                again = cohort.nights.filter(pl.col("date") == day - timedelta(days=3))
                arriving = pl.concat(
                    [
                        arriving,
                        again.with_columns(
                            pl.lit(51.0).alias("resting_hr_bpm"),
                            pl.lit(True).alias("has_resting_hr"),
                        ),
                    ]
                )
            store_nights(s, patient_id=None, nights=arriving, now=now)
            window.stored(s, arriving)
            answers = cohort.phq9.filter(answered == day)
            if offset == 20:
                # an answer time stored before: the stored entry stays
                answers = pl.concat(
                    [answers, earlier.tail(1).with_columns(pl.lit(27, pl.Int8).alias("total"))]
                )
            work = UnitOfWork(s)
            submit_phq9_many(work, entries=answers.with_columns(submitted_at=pl.col("answered_at")))
            window.answered(s, answers)
            window.refresh(s, day=day)
            some = ids[offset % 3 :: 2]
            # a patient's last complete local night may be the UTC day before or after
            for night in (day - timedelta(days=1), day, day + timedelta(days=1)):
                copy = window(s, patient_ids=some, day=night, config=DEFAULT)
                stored = detection_inputs(s, patient_ids=some, day=night, config=DEFAULT)
                assert copy[0].equals(stored[0]) and copy[1].equals(stored[1])
            # the latest night with an offset, which decides the local night each is judged on
            since = day - timedelta(days=lookback_days(DEFAULT))
            latest = latest_nights(s, patient_ids=some, since=since)
            assert window.latest_nights(s, patient_ids=some, since=since) == latest
            assert len(latest) == len(some)
