"""Offline change points of a univariate or multivariate series, with ruptures.

Two exact kernel searches (``ruptures.KernelCPD``, PELT, ``jump=1``) on the series standardised
per dimension, so one default configuration serves any series:

* **levels**: a linear kernel on the values finds shifts of the mean;
* **increments**: the same mean-shift search on the standardised first differences finds
  changes of slope, which a search on levels either misses or answers with a staircase of
  level shifts along a trend (an rbf kernel with fixed ``gamma`` there also catches changes
  of volatility; on TCPD the linear kernel scored better).

The change points of both are merged (an increment change within ``merge_within`` of a level
change is the same change). Missing values are dropped before ruptures sees the series (never
handed over as NaN) and the change points mapped back to positions in the original series.

Output convention, written down once: a change point is the 0-based index of the first
observation of a new segment (ruptures' breakpoints without the final ``n``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np
import ruptures as rpt

from detect.errors import InputFrameError

MAD_TO_SD = 1.4826


@dataclass(frozen=True)
class OfflineConfig:
    #: levels: penalty = level_beta * log(n) per change, on values in units of their SD
    level_beta: float = 8.0
    level_min_size: int = 2
    #: increments: a kernel search on standardised differences; None switches it off
    increment_beta: float | None = 2.0
    increment_min_size: int = 5
    increment_kernel: Literal["linear", "rbf"] = "linear"
    gamma: float = 0.5  # rbf only
    merge_within: int = 3


OFFLINE_DEFAULT = OfflineConfig()


class Detector(Protocol):
    """Anything that turns a series into change points (the convention above)."""

    def __call__(self, values: np.ndarray) -> list[int]: ...


def noise_variance(values: np.ndarray) -> float:
    """Robust per-observation noise variance, summed over dimensions.

    Taken from first differences (MAD / sqrt 2), so level shifts barely inflate it.
    """
    diffs = np.diff(values, axis=0)
    if diffs.shape[0] == 0:
        return 1.0
    centred = np.abs(diffs - np.median(diffs, axis=0))
    sd = MAD_TO_SD * np.median(centred, axis=0) / np.sqrt(2.0)
    # a series that is mostly flat has MAD 0; fall back to the plain SD of the differences
    fallback = diffs.std(axis=0) / np.sqrt(2.0)
    sd = np.where(sd > 0, sd, fallback)
    var = float(np.sum(sd**2))
    return var if var > 0 else 1.0


def standardised(x: np.ndarray) -> np.ndarray:
    sd = x.std(axis=0)
    return (x - x.mean(axis=0)) / np.where(sd > 0, sd, 1.0)


def level_changes(x: np.ndarray, config: OfflineConfig) -> list[int]:
    n = x.shape[0]
    if n < 2 * config.level_min_size:
        return []
    algo = rpt.KernelCPD(kernel="linear", min_size=config.level_min_size, jump=1)
    return algo.fit(standardised(x)).predict(pen=config.level_beta * np.log(n))[:-1]


def increment_changes(x: np.ndarray, config: OfflineConfig) -> list[int]:
    n = x.shape[0]
    if config.increment_beta is None or n - 1 < 2 * config.increment_min_size:
        return []
    params = {"gamma": config.gamma} if config.increment_kernel == "rbf" else None
    algo = rpt.KernelCPD(
        kernel=config.increment_kernel, min_size=config.increment_min_size, jump=1, params=params
    )
    bkps = algo.fit(standardised(np.diff(x, axis=0))).predict(pen=config.increment_beta * np.log(n))
    # difference i spans points i and i + 1: a change in differences at i starts at point i + 1
    return [b + 1 for b in bkps[:-1]]


def find_change_points(values: np.ndarray, config: OfflineConfig = OFFLINE_DEFAULT) -> list[int]:
    """Change points of ``values`` (shape ``(n,)`` or ``(n, d)``; NaN rows are skipped)."""
    x = np.asarray(values, dtype=float)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2:
        raise InputFrameError(f"expected a 1-d or 2-d series, got shape {x.shape}")
    positions = np.flatnonzero(~np.isnan(x).any(axis=1))
    clean = x[positions]
    found = list(level_changes(clean, config))
    for cp in increment_changes(clean, config):
        if all(abs(cp - other) > config.merge_within for other in found):
            found.append(cp)
    return sorted(int(positions[cp]) for cp in found)
