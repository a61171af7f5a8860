"""Sentences in a coordinator's units, and one signal per episode."""

from __future__ import annotations

import numpy as np

from detect.explain import clause, clock, passive_sentence
from detect.gaps import first_of_episode
from detect.signals import MetricChange


def test_sleep_timing_is_read_as_a_clock_time() -> None:
    # nights measure minutes from local noon of the previous day
    assert clock(930) == "03:30"
    assert clock(720) == "00:00"
    assert clock(1439.6) == "12:00"


def test_the_example_sentence() -> None:
    changes = (
        MetricChange("sleep_total_min", "up", 426.0, 564.0, 3.1, 0.32),
        MetricChange("hrv_rmssd_ms", "down", 45.0, 35.1, -1.8, -0.22),
    )
    assert passive_sentence(changes, 9) == (
        "Sleep rose by 138 min, from a usual 7.1 h to 9.4 h over the last 9 nights; "
        "HRV fell 22% below baseline."
    )


def test_a_change_resting_on_few_of_the_nights_says_so() -> None:
    changes = (
        MetricChange("sleep_total_min", "down", 450.0, 380.0, -2.5, -0.16),
        MetricChange("steps", "down", 8000, 4400, -2.0, -0.45),
    )
    assert passive_sentence(changes, 18, (5, 16)) == (
        "Sleep fell by 70 min, from a usual 7.5 h to 6.3 h over the last 18 nights "
        "(measured on 5 of the 18 nights); daily steps fell 45% below baseline."
    )


def test_heart_rate_in_bpm_and_steps_in_percent() -> None:
    assert clause(MetricChange("resting_hr_bpm", "up", 58.2, 63.9, 2.0)) == (
        "resting heart rate rose by 6 bpm, from 58 to 64 bpm"
    )
    assert clause(MetricChange("steps", "down", 8000, 4400, -2.0, -0.45)) == (
        "daily steps fell 45% below baseline"
    )


def test_an_episode_fires_once_and_again_only_when_it_strengthens() -> None:
    #          a moderate episode ... strengthens ... goes quiet ... comes back later
    rank = np.array([[0, 1, 1, 1, 2, 2, 1, 0, 0, 0, 0, 0, 1, 1]], dtype=np.int8)
    fired = first_of_episode(rank, refractory=4)
    assert np.flatnonzero(fired[0]).tolist() == [1, 4, 12]
