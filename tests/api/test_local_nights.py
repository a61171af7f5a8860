"""The scheduler judges each patient's last complete local night, and a PHQ-9 answer on the
patient's local date, wherever they live: timestamps near midnight at UTC-8 and UTC+13."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import polars as pl
from sqlalchemy import Engine, select

from api.clock import FixedClock
from api.db import make_session_factory, transaction
from api.scheduler import Scheduler
from api.services.detection import last_complete_nights
from api.services.nights import store_nights
from api.services.phq9 import store_phq9
from api.settings import Settings
from api.store import Alert
from detect import DEFAULT
from tests.api.conftest import World
from tests.api.serve_data import phq9_frame
from tests.detect.synth import nights

LOS_ANGELES, LONDON, AUCKLAND = -480, 0, 780  # minutes east of UTC (Auckland in summer)
SAFETY = [1, 1, 1, 1, 0, 0, 0, 0, 2]


def _store(engine: Engine, offsets: dict[str, int], last: dict[str, date]) -> None:
    """Ten nights for each patient up to its ``last`` date, at its offset."""
    with transaction(make_session_factory(engine)) as s:
        for k, (pid, offset) in enumerate(offsets.items()):
            first = last[pid] - timedelta(days=9)
            frame = nights(1, 10, seed=k).with_columns(
                pl.lit(pid).alias("patient_id"),
                pl.date_range(first, last[pid], eager=True).alias("date"),
                pl.lit(offset, pl.Int32).alias("utc_offset_min"),
            )
            store_nights(s, patient_id=pid, nights=frame, now=datetime(2026, 3, 1, tzinfo=UTC))


def _judged(engine: Engine, now: datetime) -> dict[str, date]:
    with transaction(make_session_factory(engine)) as s:
        groups = last_complete_nights(s, ["p1", "p2", "p3"], now=now, config=DEFAULT)
    return {pid: day for day, ids in groups.items() for pid in ids}


def test_the_nightly_run_judges_each_patients_last_complete_local_night(
    engine: Engine, world: World
) -> None:
    offsets = {"p1": LOS_ANGELES, "p2": LONDON, "p3": AUCKLAND}
    last = {"p1": date(2026, 3, 1), "p2": date(2026, 3, 1), "p3": date(2026, 3, 2)}
    _store(engine, offsets, last)
    # 03:00 UTC on 2 March: 19:00 on 1 March in Los Angeles (last night ended on 1 March), 03:00
    # in London (asleep: the night of 2 March is not over), 16:00 on 2 March in Auckland
    assert _judged(engine, datetime(2026, 3, 2, 3, 0, tzinfo=UTC)) == {
        "p1": date(2026, 3, 1),
        "p2": date(2026, 3, 1),
        "p3": date(2026, 3, 2),
    }
    # 07:30 UTC on 2 March is 23:30 on 1 March in Los Angeles: still the night of 1 March
    assert _judged(engine, datetime(2026, 3, 2, 7, 30, tzinfo=UTC))["p1"] == date(2026, 3, 1)
    # 11:30 on 2 March in Los Angeles: the night of 2 March has not arrived, and noon is not
    # past; at 12:30 it counts as complete
    assert _judged(engine, datetime(2026, 3, 2, 19, 30, tzinfo=UTC))["p1"] == date(2026, 3, 1)
    assert _judged(engine, datetime(2026, 3, 2, 20, 30, tzinfo=UTC))["p1"] == date(2026, 3, 2)
    # 00:30 on 3 March in Auckland (11:30 UTC on 2 March): the night of 3 March is under way
    assert _judged(engine, datetime(2026, 3, 2, 11, 30, tzinfo=UTC))["p3"] == date(2026, 3, 2)
    # once a night has arrived it is judged, before noon too: 08:00 on 2 March in London
    _store(engine, {"p2": LONDON}, {"p2": date(2026, 3, 2)})
    assert _judged(engine, datetime(2026, 3, 2, 8, 0, tzinfo=UTC))["p2"] == date(2026, 3, 2)


def test_the_nightly_run_alerts_on_an_answer_of_the_patients_local_day(
    engine: Engine, world: World, settings: Settings
) -> None:
    """Answers stored without being judged (an import): the nightly run finds each on the
    patient's own date, 1 March in Los Angeles at 23:30 and 2 March in Auckland at 00:30, though
    in UTC they are 2 March 07:30 and 1 March 11:30."""
    offsets = {"p1": LOS_ANGELES, "p3": AUCKLAND}
    _store(engine, offsets, {"p1": date(2026, 3, 1), "p3": date(2026, 3, 2)})
    factory = make_session_factory(engine)
    with transaction(factory) as s:
        for pid, at, offset in (
            ("p1", datetime(2026, 3, 2, 7, 30, tzinfo=UTC), LOS_ANGELES),
            ("p3", datetime(2026, 3, 1, 11, 30, tzinfo=UTC), AUCKLAND),
        ):
            entry = phq9_frame(pid, at, SAFETY).with_columns(
                pl.lit(offset, pl.Int32).alias("utc_offset_min")
            )
            store_phq9(s, patient_id=pid, entries=entry, now=at)
    # 10:00 UTC on 2 March: 02:00 on 2 March in Los Angeles, 23:00 on 2 March in Auckland
    clock = FixedClock(datetime(2026, 3, 2, 10, 0, tzinfo=UTC))
    scheduler = Scheduler(engine=engine, factory=factory, settings=settings, clock=clock)
    assert scheduler.detect_everyone() == 2
    with transaction(factory) as s:
        alerts = s.execute(select(Alert.patient_id, Alert.kind, Alert.fired_on)).all()
    assert sorted(alerts) == [
        ("p1", "phq9_safety", date(2026, 3, 1)),
        ("p3", "phq9_safety", date(2026, 3, 2)),
    ]
