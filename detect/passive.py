"""Per-channel evidence for every patient and judged day: each night against the baseline.

For a judged day the history is its last ``baseline_nights + evidence_nights`` nights; the
baseline is the first part (median and MAD of its valid nights, optionally with the weekly
rhythm removed), and every night of the history is standardised against it, in long-run SDs
when the nights are autocorrelated. The judged days are a contiguous range of day indices of a
``NightCube``, each with ``history_nights`` nights of cube before it (the pipeline pads the
cube), so each judged day reads only the nights up to and including itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from detect.baseline import (
    lag1_autocorrelation,
    robust_baseline,
    weekday_profile,
)
from detect.config import DetectConfig
from detect.cusum import standardise


@dataclass(frozen=True)
class ChannelHistory:
    median: np.ndarray  # [patient, judged day, channel]: the usual level
    scale: np.ndarray  # robust SD of the baseline nights
    #: [patient, judged day, channel, night]: standardised, clipped; NaN where the night is
    #: missing or the channel has too few baseline nights
    z: np.ndarray


def channel_history(values: np.ndarray, judged: range, config: DetectConfig) -> ChannelHistory:
    b, e = config.baseline_nights, config.evidence_nights
    if judged.start < config.history_nights - 1:
        raise ValueError("the cube must hold history_nights nights before the first judged day")
    floors = np.array([c.scale_floor for c in config.channels], dtype=values.dtype)
    # windows[:, i, c, :] holds nights i .. i + w - 1; pick those ending where each needs
    hist = sliding_window_view(values, b + e, axis=1)[
        :, judged.start - e - b + 1 : judged.stop - e - b + 1
    ]
    if config.weekday_adjust:
        # position i of the history falls on weekday slot i % 7 of the baseline (whole weeks)
        profile = weekday_profile(hist[..., :b])
        hist = hist - profile[..., np.arange(b + e) % 7]
    base_w = hist[..., :b]
    baseline = robust_baseline(base_w, floors)
    z = standardise(hist, baseline, config.z_clip)
    if config.autocorr_adjust:
        # positively autocorrelated nights wander; measure in long-run SDs so that a wander
        # is not mistaken for a shift
        phi = lag1_autocorrelation(z[..., :b])
        z = z / np.sqrt((1 + phi) / (1 - phi)).astype(z.dtype)[..., None]
    enough = baseline.valid >= config.baseline_min_valid
    z = np.where(enough[..., None], z, np.nan)
    return ChannelHistory(baseline.median, baseline.scale, z)
