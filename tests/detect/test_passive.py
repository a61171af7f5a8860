"""Planted shifts are found within the promised delay; stable noisy series stay quiet."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import numpy as np
import polars as pl

from detect import DEFAULT, detect_range
from detect.calendar import calendar_effects
from tests.detect.synth import START, nights, no_phq9

ONSET = 120
#: these cohorts shift every patient on the same night, which is what a calendar effect looks
#: like; the detector's own promises are checked without the calendar (tested below with it)
ALONE = replace(DEFAULT, common_mode=False)


def first_alert_after_onset(frame: pl.DataFrame, days: int) -> dict[str, int]:
    signals = detect_range(frame, no_phq9(), START, START + timedelta(days=days - 1), ALONE)
    first: dict[str, int] = {}
    for s in signals:
        delay = (s.fired_on - START).days - ONSET
        if s.kind == "passive_change" and delay >= 0:
            first.setdefault(s.patient_id, delay)
    return first


def test_strong_shift_in_three_metrics_is_flagged_within_ten_nights() -> None:
    # promise: 2 SD in sleep (down), HRV (down) and resting HR (up) -> flagged within 10 nights
    shift = {"sleep_total_min": -2.0, "hrv_rmssd_ms": -2.0, "resting_hr_bpm": 2.0}
    frame = nights(12, ONSET + 40, seed=11, shift=shift, onset=ONSET)
    delays = first_alert_after_onset(frame, ONSET + 40)
    assert len(delays) == 12
    assert np.percentile(list(delays.values()), 90) <= 10


def test_moderate_shift_in_two_metrics_is_flagged_within_three_weeks() -> None:
    # promise: 1.5 SD in HRV (down, 21%) and 2 SD in resting HR (up, 5 bpm, above the 3 bpm
    # worth a call) -> 80% flagged within 21 nights
    shift = {"hrv_rmssd_ms": -1.5, "resting_hr_bpm": 2.0}
    frame = nights(20, ONSET + 40, seed=12, shift=shift, onset=ONSET)
    delays = first_alert_after_onset(frame, ONSET + 40)
    assert sum(d <= 21 for d in delays.values()) >= 16


def test_the_alert_names_the_metrics_that_moved_in_plain_units() -> None:
    shift = {"sleep_total_min": 3.0, "hrv_rmssd_ms": -2.5}
    frame = nights(1, ONSET + 30, seed=13, shift=shift, onset=ONSET)
    signals = detect_range(frame, no_phq9(), START, START + timedelta(days=ONSET + 29))
    alert = next(s for s in signals if s.kind == "passive_change")
    assert {"sleep_total_min", "hrv_rmssd_ms"} <= set(alert.metrics)
    assert alert.explanation.startswith(("Sleep rose by", "HRV fell"))
    assert " h " in alert.explanation and "% below baseline" in alert.explanation
    assert alert.explanation.count(".") <= 4 and alert.explanation.endswith(".")
    sleep = next(c for c in alert.changes if c.metric == "sleep_total_min")
    assert sleep.direction == "up" and sleep.z > 1.5


def test_stable_noisy_series_stay_quiet_over_a_year() -> None:
    # weekly rhythm and AR(1) noise (phi 0.4) in every metric, 20 people, a year each
    frame = nights(20, 365, seed=21)
    signals = detect_range(frame, no_phq9(), START, START + timedelta(days=364))
    passive = [s for s in signals if s.kind == "passive_change"]
    patient_months = 20 * 365 / 30.44
    assert len(passive) / patient_months <= 0.2
    assert not [s for s in signals if s.kind == "data_gap"]


def test_missing_nights_are_skipped_not_zero() -> None:
    # a third of the nights missing at random: no alert drawn from the holes themselves
    frame = nights(10, 200, seed=31, missing=0.33)
    signals = detect_range(frame, no_phq9(), START, START + timedelta(days=199))
    passive = [s for s in signals if s.kind == "passive_change"]
    assert len(passive) / (10 * 200 / 30.44) <= 0.3
    assert all(c.current > 0 for s in passive for c in s.changes)


def test_sparse_data_gives_a_gap_signal_and_no_passive_alert() -> None:
    frame = nights(1, 150, seed=41, shift={"hrv_rmssd_ms": -3.0}, onset=120)
    # from night 120 on, only every third night arrives
    frame = frame.filter(
        (pl.col("date") < START + timedelta(days=120)) | (pl.int_range(150) % 3 == 0)
    )
    signals = detect_range(
        frame, no_phq9(), START + timedelta(days=110), START + timedelta(days=149)
    )
    gaps = [s for s in signals if s.kind == "data_gap"]
    assert len(gaps) >= 1 and all(s.severity == "info" for s in gaps)
    assert gaps[0].explanation.startswith("Only 3 of the last 7 nights had data (the last on")
    assert gaps[0].fired_on <= START + timedelta(days=125)
    assert not [s for s in signals if s.kind == "passive_change" and s.fired_on > gaps[0].fired_on]
    # its own refractory: not every day
    assert len(gaps) <= 40 // DEFAULT.gap_refractory_days + 1


def test_a_shift_the_whole_cohort_shares_is_the_calendar_not_each_patient() -> None:
    # everyone's sleep moves 2 h later and 1.5 h longer on the same night (a holiday)
    shift = {"sleep_midpoint_min": 5.0, "sleep_total_min": 2.5}
    everyone = nights(12, ONSET + 30, seed=14, shift=shift, onset=ONSET)
    signals = detect_range(everyone, no_phq9(), START, START + timedelta(days=ONSET + 29))
    sleep = {"sleep_midpoint_min", "sleep_total_min"}
    assert not [s for s in signals if s.kind == "passive_change" and sleep & set(s.metrics)]
    found = calendar_effects(
        everyone, START + timedelta(days=ONSET), START + timedelta(days=ONSET + 29), DEFAULT
    )
    assert "sleep_midpoint_min" in found["metric"].to_list()
    # the same shift in one patient among eleven stable ones is that patient's change
    one = nights(1, ONSET + 30, seed=14, shift=shift, onset=ONSET)
    others = nights(12, ONSET + 30, seed=15).filter(pl.col("patient_id") != "p000")
    alone = pl.concat([one, others])
    signals = detect_range(alone, no_phq9(), START, START + timedelta(days=ONSET + 29))
    after = START + timedelta(days=ONSET)
    moved = {
        s.patient_id
        for s in signals
        if s.kind == "passive_change" and sleep & set(s.metrics) and s.fired_on >= after
    }
    assert "p000" in moved and len(moved) <= 2


def test_a_change_smaller_than_worth_a_call_raises_nothing() -> None:
    # a very regular person (resting HR SD 0.5 bpm) whose resting HR rises by 1.5 bpm: clear
    # against their noise, but less than the 3 bpm a coordinator would call about (the other
    # measures left out: only the heart is judged)
    frame = nights(6, ONSET + 40, seed=16, shift={"resting_hr_bpm": 0.6}, onset=ONSET)
    frame = frame.with_columns(
        pl.col("resting_hr_bpm") * 0.2 + 48,
        *(pl.lit(None, pl.Float64).alias(c) for c in ("sleep_total_min", "hrv_rmssd_ms")),
    )
    signals = detect_range(frame, no_phq9(), START, START + timedelta(days=ONSET + 39), ALONE)
    assert not [s for s in signals if s.kind == "passive_change"]
    stronger = frame.with_columns(
        pl.when(pl.int_range(pl.len()).over("patient_id") >= ONSET)
        .then(pl.col("resting_hr_bpm") + 4)
        .otherwise(pl.col("resting_hr_bpm"))
    )
    signals = detect_range(stronger, no_phq9(), START, START + timedelta(days=ONSET + 39), ALONE)
    heart = [s for s in signals if "resting_hr_bpm" in s.metrics]
    assert heart and all(
        c.current - c.baseline >= 3
        for s in heart
        for c in s.changes
        if c.metric == "resting_hr_bpm"
    )


def test_a_patient_judged_beside_the_others_gets_the_signals_of_the_whole_run() -> None:
    # the live service judges the few patients whose data just arrived, with the others'
    # nights beside them for the calendar: the same signals as judging everyone
    shift = {"sleep_midpoint_min": 5.0, "sleep_total_min": 2.5}
    everyone = nights(8, ONSET + 30, seed=17, shift=shift, onset=ONSET)
    first, last = START + timedelta(days=ONSET - 5), START + timedelta(days=ONSET + 29)
    whole = [s for s in detect_range(everyone, no_phq9(), first, last) if s.patient_id == "p003"]
    alone = detect_range(everyone, no_phq9(), first, last, judged={"p003"})
    assert alone == whole
    assert {s.patient_id for s in alone} <= {"p003"}


def test_a_change_alerts_only_once_it_has_lasted_a_week() -> None:
    # a steady sleeper (7 h, give or take 5 min) who sleeps 5 h from one night on: without the
    # persistence rule the alert comes on the fourth short night; with it, once the shift (from
    # where the CUSUM's excursion began, here the night before) has lasted a week
    frame = nights(4, ONSET + 40, seed=21)
    night = pl.int_range(pl.len()).over("patient_id")
    minutes = pl.when(night >= ONSET).then(300.0).otherwise(420.0 + 5.0 * (night % 3 - 1))
    frame = frame.with_columns(
        minutes.alias("sleep_total_min"),
        minutes.alias("sleep_main_min"),
        *(pl.lit(None, pl.Float64).alias(c) for c in ("hrv_rmssd_ms", "resting_hr_bpm", "steps")),
    )
    eager = replace(ALONE, persist_nights=0)
    first, last = START, START + timedelta(days=ONSET + 39)
    for config, earliest in ((eager, 3), (ALONE, ALONE.persist_nights - 2)):
        signals = [s for s in detect_range(frame, no_phq9(), first, last, config)]
        delays = {(s.fired_on - START).days - ONSET for s in signals}
        assert len({s.patient_id for s in signals}) == 4
        assert min(delays) == earliest


def test_a_measure_that_comes_back_every_other_night_is_no_data_gap() -> None:
    # resting heart rate skipped on alternate nights while sleep arrives every night: worn,
    # not silent; the same measure missing three nights in a row has stopped
    frame = nights(1, 150, seed=42)
    day = pl.int_range(pl.len())
    alternate = frame.with_columns(
        pl.when((day >= 120) & (day % 2 == 1))
        .then(None)
        .otherwise(pl.col("resting_hr_bpm"))
        .alias("resting_hr_bpm")
    ).with_columns(has_resting_hr=pl.col("resting_hr_bpm").is_not_null())
    first, last = START + timedelta(days=110), START + timedelta(days=149)
    signals = detect_range(alternate, no_phq9(), first, last, ALONE)
    assert not [s for s in signals if s.kind == "data_gap"]
    stopped = frame.with_columns(
        pl.when(day >= 120).then(None).otherwise(pl.col("resting_hr_bpm")).alias("resting_hr_bpm")
    ).with_columns(has_resting_hr=pl.col("resting_hr_bpm").is_not_null())
    [gap] = [
        s for s in detect_range(stopped, no_phq9(), first, last, ALONE) if s.kind == "data_gap"
    ]
    assert gap.explanation.startswith("No resting heart rate data since")
