"""The offline change points and the vectorised confirmation agree with ruptures."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import polars as pl
import pytest
import ruptures as rpt

from detect import change_points
from detect.changepoints import OfflineConfig, find_change_points
from detect.confirm import best_single_split
from tests.detect.synth import START, nights


@pytest.mark.parametrize("seed", range(5))
def test_vectorised_single_split_is_ruptures_linear_kernel(seed: int) -> None:
    rng = np.random.default_rng(seed)
    series = rng.standard_normal((8, 60)) + np.where(
        np.arange(60) >= rng.integers(10, 50), 1.0, 0.0
    )
    split = best_single_split(series, min_size=7)
    for row, position in zip(series, split.position, strict=True):
        expected = rpt.KernelCPD(kernel="linear", min_size=7, jump=1).fit(row).predict(n_bkps=1)
        assert position == expected[0]


def test_missing_points_are_left_out_as_ruptures_would_drop_them() -> None:
    rng = np.random.default_rng(7)
    series = rng.standard_normal(70) + np.where(np.arange(70) >= 40, 2.0, 0.0)
    series[[3, 17, 41, 42, 60]] = np.nan
    split = best_single_split(series[None, :], min_size=7)
    kept = series[~np.isnan(series)]
    (b, _) = rpt.KernelCPD(kernel="linear", min_size=7, jump=1).fit(kept).predict(n_bkps=1)
    # the split follows the b-th observed point
    assert split.position[0] == np.flatnonzero(~np.isnan(series))[b - 1] + 1


def test_find_change_points_finds_planted_shifts_with_gaps_and_dims() -> None:
    rng = np.random.default_rng(3)
    x = rng.standard_normal((300, 2)) * 0.5
    x[100:200] += [2.0, -1.0]
    x[rng.choice(300, 20, replace=False), 0] = np.nan
    cps = find_change_points(x, OfflineConfig(level_min_size=5))
    assert len(cps) == 2
    assert abs(cps[0] - 100) <= 3 and abs(cps[1] - 200) <= 3


def test_a_flat_noisy_series_has_no_change_point() -> None:
    x = np.random.default_rng(4).standard_normal(500)
    assert find_change_points(x) == []


def test_change_points_of_one_patient_name_metric_date_and_direction() -> None:
    frame = nights(1, 200, seed=8, shift={"hrv_rmssd_ms": -3.0}, onset=120)
    cps = change_points(frame)
    assert cps.columns == ["patient_id", "metric", "date", "direction", "z"]
    hrv = cps.filter(pl.col("metric") == "hrv_rmssd_ms")
    assert hrv.height >= 1
    found = hrv.filter((pl.col("date") - START - timedelta(days=120)).dt.total_days().abs() <= 5)
    assert found["direction"].to_list() == ["down"] and found["z"][0] < -1.5
