"""detect_range equals detect_day day by day; no signal depends on data after its day."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from detect import detect_day, detect_range
from ingest.schema import PHQ9
from tests.detect.synth import START, nights


def phq9_entries() -> pl.DataFrame:
    rows = [
        ("p000", 20, [0] * 9),
        ("p000", 34, [1, 1, 1, 1, 1, 1, 1, 1, 0]),
        ("p000", 48, [2, 2, 1, 2, 1, 1, 1, 1, 1]),  # relapse after remission, item 9
        ("p001", 30, [1, 1, 1, 1, 0, 0, 0, 0, 0]),
        ("p001", 44, [2, 2, 2, 1, 1, 1, 1, 1, 0]),  # reliable rise
    ]
    return pl.DataFrame(
        [
            {
                "patient_id": pid,
                "answered_at": datetime.combine(
                    START + timedelta(days=d), datetime.min.time()
                ).replace(hour=9, tzinfo=UTC),
                **{f"item_{i + 1}": v for i, v in enumerate(items)},
                "total": sum(items),
                "difficulty": 1,
                "instrument": "phq9",
                "source": "json",
            }
            for pid, d, items in rows
        ],
        schema=PHQ9,
    )


def cohort() -> pl.DataFrame:
    shift = {"sleep_total_min": -2.5, "hrv_rmssd_ms": -2.5, "steps": -2.5}
    planted = nights(3, 140, seed=5, shift=shift, onset=100)
    gappy = nights(1, 140, seed=6).with_columns(pl.lit("p009").alias("patient_id"))
    gappy = gappy.filter(
        (pl.col("date") < START + timedelta(days=110)) | (pl.col("date").dt.day() % 4 == 0)
    )
    return pl.concat([planted, gappy])


def test_detect_range_equals_detect_day_every_day() -> None:
    frame, phq = cohort(), phq9_entries()
    start, end = START + timedelta(days=40), START + timedelta(days=139)
    ranged = detect_range(frame, phq, start, end)
    daily = []
    day = start
    while day <= end:
        daily += detect_day(frame, phq, day)
        day += timedelta(days=1)
    assert {s.kind for s in ranged} == {"passive_change", "data_gap", "phq9_relapse", "phq9_safety"}
    assert daily == ranged


@pytest.mark.parametrize("cut_day", [48, 104, 112, 125])
def test_signals_do_not_depend_on_data_after_their_day(cut_day: int) -> None:
    frame, phq = cohort(), phq9_entries()
    cut = START + timedelta(days=cut_day)
    start = START + timedelta(days=30)
    full = detect_range(frame, phq, start, START + timedelta(days=139))
    truncated = detect_range(
        frame.filter(pl.col("date") <= cut),
        phq.filter(pl.col("answered_at").dt.date() <= cut),
        start,
        cut,
    )
    assert [s for s in full if s.fired_on <= cut] == truncated
    assert truncated, "the cut should leave signals to compare"


def test_every_signal_is_within_its_day_and_explained() -> None:
    for s in detect_range(
        cohort(), phq9_entries(), START + timedelta(days=40), START + timedelta(days=139)
    ):
        assert s.window_start <= s.window_end <= s.fired_on
        assert s.explanation.endswith(".") and "\n" not in s.explanation
        assert s.to_dict()["fired_on"] == s.fired_on.isoformat()
