"""Offline change points of a univariate or multivariate series, with ruptures.

This is the confirmation stage of the passive detector made generic: a kernel change-point
search (``ruptures.KernelCPD``, exact PELT, ``jump=1``) whose penalty is scaled by the series'
own noise, so that one default configuration serves any series. Missing values are dropped
before ruptures sees the series (never handed over as NaN) and the change points are mapped
back to positions in the original series.

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
    #: "linear" finds mean shifts; "rbf" (with ``gamma``) finds changes of distribution
    kernel: Literal["linear", "rbf"] = "linear"
    min_size: int = 2
    #: penalty = beta * noise variance * log(n) per change (linear); beta * log(n) (rbf)
    beta: float = 3.0
    gamma: float = 0.5  # rbf only, on standardised values


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


def find_change_points(values: np.ndarray, config: OfflineConfig = OFFLINE_DEFAULT) -> list[int]:
    """Change points of ``values`` (shape ``(n,)`` or ``(n, d)``; NaN rows are skipped)."""
    x = np.asarray(values, dtype=float)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2:
        raise InputFrameError(f"expected a 1-d or 2-d series, got shape {x.shape}")
    keep = ~np.isnan(x).any(axis=1)
    positions = np.flatnonzero(keep)
    clean = x[keep]
    n = clean.shape[0]
    if n < 2 * config.min_size:
        return []
    if config.kernel == "linear":
        pen = config.beta * noise_variance(clean) * np.log(n)
        algo = rpt.KernelCPD(kernel="linear", min_size=config.min_size, jump=1)
    else:
        pen = config.beta * np.log(n)
        algo = rpt.KernelCPD(
            kernel="rbf", min_size=config.min_size, jump=1, params={"gamma": config.gamma}
        )
    bkps = algo.fit(clean).predict(pen=pen)[:-1]
    return [int(positions[b]) for b in bkps]
