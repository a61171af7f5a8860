"""Per-channel evidence for every patient and judged day: baseline, CUSUM, confirmation.

The judged days are a contiguous range of day indices of a ``NightCube``; each must have
``config.history_nights`` nights of cube before it (the pipeline pads the cube). Each judged
day reads only the nights up to and including itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from detect.baseline import robust_baseline
from detect.config import DetectConfig
from detect.confirm import best_single_split, confirmed
from detect.cusum import standardise, two_sided_cusum

SIGN = {"up": 1, "down": -1}


@dataclass(frozen=True)
class ChannelEvidence:
    """Arrays of shape [patient, judged day, channel]."""

    median: np.ndarray
    scale: np.ndarray
    stat: np.ndarray  # CUSUM statistic in the channel's depressive direction(s)
    direction: np.ndarray  # +1 up, -1 down (the stronger side for two-sided channels)
    onset: np.ndarray  # offset in the evidence window where the excursion began
    alarm: np.ndarray  # bool: enough data, CUSUM over h, and (if enabled) confirmed


def channel_evidence(values: np.ndarray, judged: range, config: DetectConfig) -> ChannelEvidence:
    b, e = config.baseline_nights, config.evidence_nights
    if judged.start < config.history_nights - 1:
        raise ValueError("the cube must hold history_nights nights before the first judged day")
    floors = np.array([c.scale_floor for c in config.channels], dtype=values.dtype)
    # windows[:, i, c, :] holds nights i .. i + w - 1; pick those ending where each needs
    base_w = sliding_window_view(values, b, axis=1)[
        :, judged.start - e - b + 1 : judged.stop - e - b + 1
    ]
    ev_w = sliding_window_view(values, e, axis=1)[:, judged.start - e + 1 : judged.stop - e + 1]
    baseline = robust_baseline(base_w, floors)
    scores = two_sided_cusum(standardise(ev_w, baseline, config.z_clip), config.cusum_k)

    wants_up = np.array([c.depressive in ("up", "both") for c in config.channels])
    wants_down = np.array([c.depressive in ("down", "both") for c in config.channels])
    up = np.where(wants_up, scores.up, 0.0)
    down = np.where(wants_down, scores.down, 0.0)
    direction = np.where(up >= down, 1, -1).astype(np.int8)
    stat = np.maximum(up, down)
    onset = np.where(direction > 0, scores.onset_up, scores.onset_down)
    alarm = (
        (stat >= config.cusum_h)
        & (baseline.valid >= config.baseline_min_valid)
        & (scores.valid >= config.min_evidence_valid)
    )
    if config.confirm and alarm.any():
        alarm = _confirm(values, judged, config, baseline.median, baseline.scale, alarm, direction)
    return ChannelEvidence(baseline.median, baseline.scale, stat, direction, onset, alarm)


def _confirm(
    values: np.ndarray,
    judged: range,
    config: DetectConfig,
    median: np.ndarray,
    scale: np.ndarray,
    alarm: np.ndarray,
    direction: np.ndarray,
) -> np.ndarray:
    """Keep the alarms whose history shows one penalised mean shift in the evidence window."""
    b, e = config.baseline_nights, config.evidence_nights
    p, j, c = np.nonzero(alarm)
    day = judged.start + j
    offsets = np.arange(-(b + e) + 1, 1)
    history = values[p[:, None], day[:, None] + offsets, c[:, None]]
    z = (history - median[p, j, c][:, None]) / scale[p, j, c][:, None]
    split = best_single_split(np.clip(z, -config.z_clip, config.z_clip), config.confirm_min_size, b)
    kept = alarm.copy()
    kept[p, j, c] = confirmed(split, config.confirm_penalty, direction[p, j, c])
    return kept
