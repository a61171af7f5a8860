"""Confirmation: is there one clear mean shift in the recent history, late enough to be new?

For each candidate series (baseline window followed by evidence window, standardised by the
baseline so its noise has unit variance) this finds the single split that most reduces the
linear-kernel (least-squares) cost, exactly as ``ruptures.KernelCPD(kernel="linear",
jump=1).predict(n_bkps=1)`` would, but for thousands of series at once. A split is confirmed
when its cost reduction beats ``penalty * log(n)`` (the series' noise is 1 by construction)
and it falls in the evidence window. Missing nights are left out of every segment sum, which
is what ruptures would compute on the series with its missing nights removed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Split:
    position: np.ndarray  # index of the first point after the split (in the full window)
    gain: np.ndarray  # cost reduction of the split
    shift: np.ndarray  # mean after minus mean before
    valid: np.ndarray  # valid points in the series


def best_single_split(series: np.ndarray, min_size: int, earliest: int = 0) -> Split:
    """Best split of each row of ``series`` (2-d; NaN = missing) with at least ``min_size``
    valid points on both sides and the split at position ``earliest`` or later."""
    seen = ~np.isnan(series)
    x = np.where(seen, series, 0.0).astype(np.float64)
    csum = np.cumsum(x, axis=1)
    ccount = np.cumsum(seen, axis=1)
    total, n = csum[:, -1:], ccount[:, -1:]
    # splitting before position t puts points [0, t) on the left
    left_sum, left_n = csum[:, :-1], ccount[:, :-1]
    right_sum, right_n = total - left_sum, n - left_n
    with np.errstate(divide="ignore", invalid="ignore"):
        shift = right_sum / right_n - left_sum / left_n
        gain = left_n * right_n / n * shift**2
    positions = np.arange(1, series.shape[1])
    allowed = (left_n >= min_size) & (right_n >= min_size) & (positions >= earliest)
    # of the positions between two observed points (same partition, same gain) keep the
    # first, right after an observed point
    allowed &= seen[:, :-1]
    gain = np.where(allowed, gain, -np.inf)
    best = np.argmax(gain, axis=1)
    rows = np.arange(series.shape[0])
    return Split(
        position=best + 1,
        gain=gain[rows, best],
        shift=np.where(allowed[rows, best], shift[rows, best], 0.0),
        valid=n[:, 0],
    )


def confirmed(split: Split, penalty: float, direction: np.ndarray) -> np.ndarray:
    """Splits that beat the penalty and move the way the online alarm says (+1 up, -1 down)."""
    enough = split.gain >= penalty * np.log(np.maximum(split.valid, 2))
    return enough & (np.sign(split.shift) == direction)
