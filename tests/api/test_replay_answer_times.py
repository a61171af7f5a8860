"""A replayed answer reaches the service at its answer time, as a live one does: after the
day's sweep and the care team's round when it was given after them."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import polars as pl
from sqlalchemy import Engine, select

from api.clock import FixedClock
from api.db import make_session_factory
from api.replay.days import Timings, at, day_range, replay_days
from api.store import Alert
from tests.api.serve_data import phq9_frame
from tests.detect.synth import START, nights

#: Tonga (UTC+13): at the 23:00 UTC sweep it is already noon of the next local day
TONGA = 13 * 60


def test_an_answer_after_the_care_teams_round_opens_a_new_alert_not_a_refiring(
    engine: Engine,
) -> None:
    frame = nights(1, 120, seed=7).with_columns(utc_offset_min=pl.lit(TONGA, pl.Int32))
    days = day_range(START + timedelta(days=100), START + timedelta(days=119))
    first = days[0]

    def answer(day_index: int, hour: int, minute: int, total: int) -> pl.DataFrame:
        when = datetime.combine(first + timedelta(days=day_index), time(hour, minute), UTC)
        items = [min(3, max(0, total - 3 * i)) for i in range(8)] + [0]
        return phq9_frame("p000", when, items).with_columns(utc_offset_min=pl.lit(TONGA, pl.Int32))

    phq9 = pl.concat(
        [
            answer(-20, 20, 0, 2),  # in remission before the replay
            answer(0, 20, 0, 12),  # relapse: opens an alert, local date first + 1
            # on the day the care team resolves it (7 days after local first + 1), a worse
            # answer at 23:45 UTC, 12:45 in Tonga: after the team's 23:30 round
            answer(8, 23, 45, 18),
        ]
    )
    replay_days(
        make_session_factory(engine),
        nights=frame,
        phq9=phq9,
        patient_ids=["p000"],
        days=days,
        clock=FixedClock(at(first, time(0, 0))),
        team_name="t",
        timings=Timings(),
        resolve_after=7,
    )
    with make_session_factory(engine)() as session:
        relapses = session.execute(
            select(Alert.fired_on, Alert.status, Alert.explanation)
            .where(Alert.kind == "phq9_relapse")
            .order_by(Alert.id)
        ).all()
    # the live service resolves the first alert at 23:30 and is then sent the answer, which
    # opens a new alert on its local date; submitted before the round, it refired the first
    # alert, which the team then resolved, and the worse answer was never seen as open
    assert [(fired, status) for fired, status, _ in relapses] == [
        (first + timedelta(days=1), "resolved"),
        (first + timedelta(days=9), "resolved"),
    ]
    assert "reached 18" in relapses[1].explanation
