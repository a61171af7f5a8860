"""Silence in a replay: the day-end sweep judges every patient, those who sent nothing too."""

from __future__ import annotations

from datetime import time, timedelta

import polars as pl
from sqlalchemy import Engine, select

from api.clock import FixedClock
from api.db import make_session_factory
from api.replay.days import Timings, at, day_range, replay_days
from api.store import Alert
from ingest.schema import PHQ9, empty
from tests.detect.synth import START, nights

DAYS, STOP = 150, 120


def test_a_wearable_that_stops_and_a_measure_that_stops_each_raise_one_data_gap(
    engine: Engine,
) -> None:
    frame = nights(6, DAYS, seed=51)
    stop = START + timedelta(days=STOP)
    # p000's wearable stops syncing; p001's sleep stops while the rest goes on
    frame = frame.filter((pl.col("patient_id") != "p000") | (pl.col("date") < stop))
    frame = frame.with_columns(
        pl.when((pl.col("patient_id") == "p001") & (pl.col("date") >= stop))
        .then(None)
        .otherwise(pl.col(c))
        .alias(c)
        for c in ("sleep_total_min", "sleep_main_min", "sleep_midpoint_min", "sleep_onset_min")
    ).with_columns(has_sleep=pl.col("sleep_total_min").is_not_null())
    days = day_range(START + timedelta(days=100), START + timedelta(days=DAYS - 1))
    replay_days(
        make_session_factory(engine),
        nights=frame,
        phq9=empty(PHQ9),
        patient_ids=sorted(frame["patient_id"].unique()),
        days=days,
        clock=FixedClock(at(days[0], time(0, 0))),
        team_name="t",
        timings=Timings(),
        resolve_after=7,
    )
    with make_session_factory(engine)() as session:
        gaps = session.execute(
            select(Alert.patient_id, Alert.fired_on, Alert.explanation).where(
                Alert.kind == "data_gap"
            )
        ).all()
    by_patient = {pid: (fired, text) for pid, fired, text in gaps}
    last = stop - timedelta(days=1)
    assert len(gaps) == 2, gaps  # one per episode, though each is resolved after a week
    fired, text = by_patient["p000"]
    assert fired <= stop + timedelta(days=4)
    assert text.startswith(f"The wearable has sent no data since {last.day} {last:%b %Y}")
    fired, text = by_patient["p001"]
    assert text.startswith(f"No sleep data since {last.day} {last:%b %Y}, while")
