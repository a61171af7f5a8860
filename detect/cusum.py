"""Online change detection: a two-sided CUSUM over baseline-standardised nights.

For a judged day the evidence window (its last ``evidence_nights`` nights) is standardised
against the baseline, clipped, and run through Page's CUSUM in both directions:
``S_t = max(0, S_{t-1} + z_t - k)``. A missing night leaves ``S`` unchanged (skipped, never a
zero). The statistic reported is ``S`` on the judged day, so it falls back once a shift ends,
and ``onset`` is the first night of the current excursion (the night after ``S`` was last 0).
The recursion runs over the nights of the window (a few dozen steps) and is vectorised over
every patient, day and channel.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from detect.baseline import Baseline


@dataclass(frozen=True)
class CusumScores:
    up: np.ndarray  # S+ on the judged day
    down: np.ndarray  # S- on the judged day
    onset_up: np.ndarray  # offset in the window of the first night of the current rise
    onset_down: np.ndarray
    valid: np.ndarray  # valid nights in the evidence window


def standardise(windows: np.ndarray, baseline: Baseline, clip: float) -> np.ndarray:
    z = (windows - baseline.median[..., None]) / baseline.scale[..., None]
    return np.clip(z, -clip, clip)


def two_sided_cusum(z: np.ndarray, k: float) -> CusumScores:
    """CUSUM along the last axis of ``z`` (NaN = missing night)."""
    shape = z.shape[:-1]
    up = np.zeros(shape, dtype=z.dtype)
    down = np.zeros(shape, dtype=z.dtype)
    onset_up = np.zeros(shape, dtype=np.int16)
    onset_down = np.zeros(shape, dtype=np.int16)
    # a recursion over the nights of the window: each step depends on the previous one
    for t in range(z.shape[-1]):
        zt = z[..., t]
        seen = ~np.isnan(zt)
        zt = np.where(seen, zt, 0.0)
        up = np.where(seen, np.maximum(up + zt - k, 0.0), up)
        down = np.where(seen, np.maximum(down - zt - k, 0.0), down)
        onset_up = np.where(seen & (up == 0), t + 1, onset_up)
        onset_down = np.where(seen & (down == 0), t + 1, onset_down)
    valid = np.count_nonzero(~np.isnan(z), axis=-1)
    return CusumScores(up, down, onset_up, onset_down, valid)
