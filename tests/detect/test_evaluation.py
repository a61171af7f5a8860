"""Evaluation figures on hand-built alerts and labels whose answers are known by hand."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from detect.evaluation import Targets, alerts_frame, confirmations, evaluate, merge_alerts
from detect.signals import Signal
from ingest import schema

START = date(2025, 1, 1)


def day(n: int) -> date:
    return START + timedelta(days=n)


def phq9(rows: list[tuple[str, int, int]]) -> pl.DataFrame:
    """(patient, day number, total) → PHQ9 frame (items are irrelevant to the evaluation)."""
    frame = pl.DataFrame(
        {
            "patient_id": [p for p, _, _ in rows],
            "answered_at": [
                datetime.combine(day(d), datetime.min.time(), UTC).replace(hour=18)
                for _, d, _ in rows
            ],
            **{item: [0] * len(rows) for item in schema.PHQ9_ITEMS},
            "total": [t for _, _, t in rows],
            "difficulty": [None] * len(rows),
            "instrument": ["phq9"] * len(rows),
            "source": ["test"] * len(rows),
        }
    )
    return frame.with_columns(
        pl.col("answered_at").cast(schema.UTC_DT),
        *(pl.col(c).cast(pl.Int8) for c in (*schema.PHQ9_ITEMS, "total", "difficulty")),
    )


def alert(patient: str, kind: str, fired: int) -> tuple[str, str, str, date]:
    return (patient, kind, "moderate", day(fired))


def frame(rows: list[tuple[str, str, str, date]]) -> pl.DataFrame:
    return alerts_frame(
        pl.DataFrame(rows, schema=["patient_id", "kind", "severity", "fired_on"], orient="row")
    )


# four patients observed for days 0..299 (300 days each)
PERIOD = pl.DataFrame(
    {"patient_id": ["a", "b", "c", "d"], "first_day": [day(0)] * 4, "last_day": [day(299)] * 4}
)
LABELS = pl.DataFrame(
    {"patient_id": ["a", "b", "c", "d"], "relapse_onset": [day(100), day(150), None, None]},
    schema={"patient_id": pl.String, "relapse_onset": pl.Date},
)
# a: onset 100, PHQ-9 9 on day 110 (not yet), 14 on day 124 → confirmed day 124
# b: onset 150, PHQ-9 12 on day 170 → confirmed day 170
ANSWERS = phq9(
    [("a", 96, 3), ("a", 110, 9), ("a", 124, 14), ("b", 140, 2), ("b", 170, 12), ("c", 50, 12)]
)


def test_confirmation_is_the_first_total_of_ten_on_or_after_onset() -> None:
    got = confirmations(LABELS, ANSWERS)
    assert got.rows() == [("a", day(100), day(124)), ("b", day(150), day(170))]


def test_sensitivity_lead_time_and_false_alerts_known_by_hand() -> None:
    alerts = frame(
        [
            alert("a", "passive_change", 60),  # before onset - 28 (day 72): false
            alert("a", "passive_change", 110),  # caught: 14 days before confirmation
            alert("a", "phq9_relapse", 124),
            alert("b", "phq9_relapse", 170),  # b caught by the PHQ-9 only: lead 0
            alert("b", "passive_change", 280),  # within confirmation + 120 days: excused
            alert("c", "passive_change", 30),  # c never relapses: false
            alert("c", "passive_change", 200),  # false
            alert("d", "data_gap", 10),  # neither catches nor counts as false
        ]
    )
    ev = evaluate(alerts, LABELS, ANSWERS, PERIOD)
    assert (ev.relapses, ev.confirmed, ev.caught_any, ev.caught_passive) == (2, 2, 2, 1)
    assert ev.sensitivity_any == 1.0
    assert ev.sensitivity_passive == 0.5
    assert ev.median_lead_any == 7.0  # median of 14 and 0
    assert ev.median_lead_passive == 14.0
    assert ev.false_passive == 3
    assert sorted(ev.false_alerts["fired_on"].to_list()) == [day(30), day(60), day(200)]
    # excluded spans: a days 72..244 (173 days), b days 122..290 (169 days)
    outside_days = 4 * 300 - 173 - 169
    assert ev.patient_months_outside == pytest.approx(outside_days / 30.44)
    assert ev.false_passive_per_patient_month == pytest.approx(3 / (outside_days / 30.44))
    assert ev.alerts == 8
    assert ev.alerts_per_100_patient_weeks == pytest.approx(100 * 8 / (1200 / 7))
    # by chance alone: catch windows of a (72..124: 53 days) and b (122..170: 49 days)
    rate = ev.false_passive_per_patient_month
    chance = (2 - math.exp(-rate * 53 / 30.44) - math.exp(-rate * 49 / 30.44)) / 2
    assert ev.chance_passive_sensitivity == pytest.approx(chance)
    rows = {r["patient_id"]: r for r in ev.per_relapse.iter_rows(named=True)}
    assert rows["a"]["lead_any"] == 14 and rows["b"]["lead_passive"] is None


def test_an_alert_after_confirmation_or_too_early_does_not_catch() -> None:
    alerts = frame([alert("a", "passive_change", 125), alert("b", "passive_change", 121)])
    ev = evaluate(alerts, LABELS, ANSWERS, PERIOD)
    assert ev.caught_any == 0
    assert ev.median_lead_any is None
    assert ev.meets() == {
        "sensitivity": False,
        "median_lead_days": False,
        "false_passive_per_patient_month": True,  # one false alert in ~27 patient-months
    }
    assert ev.false_passive == 1  # b's alert on day 121 is before onset - 28


def test_unconfirmed_relapses_are_left_out_of_sensitivity() -> None:
    answers = ANSWERS.filter(pl.col("patient_id") != "b")
    ev = evaluate(frame([alert("a", "passive_change", 80)]), LABELS, answers, PERIOD)
    assert (ev.relapses, ev.confirmed, ev.caught_any) == (2, 1, 1)
    assert ev.median_lead_any == 44.0
    assert ev.meets(Targets(sensitivity=1.0, median_lead_days=44)) == {
        "sensitivity": True,
        "median_lead_days": True,
        "false_passive_per_patient_month": True,
    }


def test_repeated_signals_of_one_change_count_as_one_alert() -> None:
    daily = frame([alert("c", "passive_change", d) for d in range(30, 40)])
    assert merge_alerts(daily, 7).height == 1
    assert merge_alerts(daily, None).height == 10
    spaced = frame([alert("c", "passive_change", 30), alert("c", "passive_change", 45)])
    assert merge_alerts(spaced, 7).height == 2
    assert evaluate(daily, LABELS, ANSWERS, PERIOD).false_passive == 1


def test_signals_are_accepted_as_well_as_frames() -> None:
    signal = Signal(
        patient_id="a",
        kind="passive_change",
        severity="moderate",
        fired_on=day(115),
        window_start=day(101),
        window_end=day(115),
        explanation="Sleep is 80 minutes shorter than usual over two weeks.",
        detector="test",
        detector_version="0",
    )
    ev = evaluate([signal], LABELS, ANSWERS, PERIOD)
    assert ev.caught_passive == 1 and ev.median_lead_passive == 9.0


KINDS = ("passive_change", "phq9_relapse", "phq9_safety", "data_gap")


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from("abcd"), st.sampled_from(KINDS), st.integers(0, 299)),
        max_size=30,
    ),
    st.lists(st.tuples(st.sampled_from("abcd"), st.sampled_from(KINDS), st.integers(0, 299))),
)
def test_more_alerts_never_catch_less_and_every_passive_alert_is_counted_once(
    some: list[tuple[str, str, int]], more: list[tuple[str, str, int]]
) -> None:
    first = evaluate(
        frame([alert(*a) for a in some]), LABELS, ANSWERS, PERIOD, merge_within_days=None
    )
    both = evaluate(
        frame([alert(*a) for a in some + more]), LABELS, ANSWERS, PERIOD, merge_within_days=None
    )
    assert both.caught_any >= first.caught_any
    assert both.caught_passive >= first.caught_passive
    assert both.false_passive >= first.false_passive
    assert 0 <= first.caught_passive <= first.caught_any <= first.confirmed
    passive = sum(1 for _, kind, _ in some if kind == "passive_change")
    assert first.passive_alerts == passive
    assert first.false_passive <= passive
