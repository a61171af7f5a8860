"""Data gaps: too few nights with sleep in the last week of a person who was syncing.

A judged day is a gap day when fewer than ``gap_min_nights`` of its last ``gap_window`` nights
have sleep, and the person had sleep on at least one night of the history before that week
(someone who never synced, or stopped long ago, is not re-alerted every week). No passive
signal is drawn from a gap day.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from detect.config import DetectConfig


def gap_days(
    has_sleep: np.ndarray, judged: range, config: DetectConfig
) -> tuple[np.ndarray, np.ndarray]:
    """(gap flag, nights with sleep in the gap window), both [patient, judged day]."""
    w = config.gap_window
    before = config.history_nights - w
    counts = np.cumsum(has_sleep, axis=1, dtype=np.int32)
    counts = np.concatenate([np.zeros((has_sleep.shape[0], 1), np.int32), counts], axis=1)
    days = np.arange(judged.start, judged.stop)
    recent = counts[:, days + 1] - counts[:, days + 1 - w]
    earlier = counts[:, days + 1 - w] - counts[:, np.maximum(days + 1 - w - before, 0)]
    return (recent < config.gap_min_nights) & (earlier > 0), recent


def first_of_episode(rank: np.ndarray, refractory: int) -> np.ndarray:
    """Days (last axis) whose rank beats every rank of the ``refractory`` days before.

    ``rank`` is 0 for no signal and grows with severity, so an ongoing episode fires once and
    again only when it strengthens. Stateless: a day's answer depends on the days before it
    alone, which keeps detect_day and detect_range identical.
    """
    padded = np.concatenate([np.zeros((*rank.shape[:-1], refractory), rank.dtype), rank], axis=-1)
    previous = sliding_window_view(padded, refractory, axis=-1)[..., :-1, :].max(axis=-1)
    return rank > previous
