"""Planted shifts are found within the promised delay; stable noisy series stay quiet."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import polars as pl

from detect import DEFAULT, detect_range
from tests.detect.synth import START, nights, no_phq9

ONSET = 120


def first_alert_after_onset(frame: pl.DataFrame, days: int) -> dict[str, int]:
    signals = detect_range(frame, no_phq9(), START, START + timedelta(days=days - 1))
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
    # promise: 1.5 SD in HRV (down) and resting HR (up) -> 80% flagged within 21 nights
    shift = {"hrv_rmssd_ms": -1.5, "resting_hr_bpm": 1.5}
    frame = nights(20, ONSET + 40, seed=12, shift=shift, onset=ONSET)
    delays = first_alert_after_onset(frame, ONSET + 40)
    assert sum(d <= 21 for d in delays.values()) >= 16


def test_the_alert_names_the_metrics_that_moved_in_plain_units() -> None:
    shift = {"sleep_total_min": 3.0, "hrv_rmssd_ms": -2.5}
    frame = nights(1, ONSET + 30, seed=13, shift=shift, onset=ONSET)
    signals = detect_range(frame, no_phq9(), START, START + timedelta(days=ONSET + 29))
    alert = next(s for s in signals if s.kind == "passive_change")
    assert {"sleep_total_min", "hrv_rmssd_ms"} <= set(alert.metrics)
    assert alert.explanation.startswith(("Sleep rose from a usual", "HRV fell"))
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
    assert "of the last 7 nights had sleep data" in gaps[0].explanation
    assert gaps[0].fired_on <= START + timedelta(days=125)
    assert not [s for s in signals if s.kind == "passive_change" and s.fired_on > gaps[0].fired_on]
    # its own refractory: not every day
    assert len(gaps) <= 40 // DEFAULT.gap_refractory_days + 1
