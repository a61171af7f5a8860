"""Effect sizes in the sentence's units: is a statistically clear shift worth a call?

A shift can be clear against a very regular person's noise and still be trivial ("resting heart
rate rose from 47 to 48 bpm"). For each candidate (a patient and judged day the fused CUSUM
flagged), each metric's change is measured as the sentence will state it: the median of its
nights over the shift against the median of its baseline nights, in minutes, bpm, or a share of
the usual level. A metric is **meaningful** when that change reaches its ``min_change`` in the
depressive direction the alarm counted, on at least ``min_change_nights`` nights, both in the
person's own nights and after the cohort's calendar effect is taken out. A candidate with no
meaningful metric raises nothing. All candidates of a block are measured at once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from detect.baseline import nan_median
from detect.config import DetectConfig


@dataclass(frozen=True)
class Effects:
    usual: np.ndarray  # [candidate, channel]: median of the baseline nights, as recorded
    current: np.ndarray  # median of the shift's nights, as recorded
    nights: np.ndarray  # nights with a value over the shift
    shift_nights: np.ndarray  # [candidate]: nights in the shift (judged day included)
    meaningful: np.ndarray  # bool [candidate, channel]

    def raises(self, config: DetectConfig) -> np.ndarray:
        """[candidate]: a meaningful change of a metric that may raise an alert alone."""
        primary = np.array([not c.supporting for c in config.channels])
        return (self.meaningful & primary[None, :]).any(axis=1)


def directions(orientation: np.ndarray, config: DetectConfig) -> np.ndarray:
    """[candidate, channel]: +1 where a rise is depressive, -1 where a fall is; two-sided
    channels (sleep duration and timing) follow the orientation the alarm counted."""
    fixed = np.array(
        [{"up": 1.0, "down": -1.0, "both": 0.0}[c.depressive] for c in config.channels]
    )
    both = fixed == 0.0
    return np.where(both[None, :], orientation[:, None].astype(np.float64), fixed[None, :])


def _size(delta: np.ndarray, usual: np.ndarray, config: DetectConfig) -> np.ndarray:
    relative = np.array([c.relative for c in config.channels])
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(usual > 0, delta / usual, np.nan)
    return np.where(relative[None, :], share, delta)


def _medians(cube: np.ndarray, p: np.ndarray, idx: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """Median over the nights ``idx`` ([candidate, night]) of each candidate's patient row,
    nights where ``keep`` is False left out: [candidate, channel]."""
    nights = np.where(keep[..., None], cube[p[:, None], idx], np.nan)
    return nan_median(np.swapaxes(nights, 1, 2))[0]


def effects(
    raw: np.ndarray,
    adjusted: np.ndarray,
    adjusted_usual: np.ndarray,
    p: np.ndarray,
    day: np.ndarray,
    onset: np.ndarray,
    orientation: np.ndarray,
    config: DetectConfig,
) -> Effects:
    """The effects of the candidates (patient row ``p``, judged day index ``day`` in the
    cube, shift ``onset`` within the evidence window, sleep ``orientation``). ``raw`` and
    ``adjusted`` are the cube's nights as recorded and with the calendar taken out;
    ``adjusted_usual`` [candidate, channel] the baseline median the detector used."""
    b, e = config.baseline_nights, config.evidence_nights
    offsets = np.arange(e)
    shift_idx = day[:, None] - e + 1 + offsets
    onset = np.minimum(onset, e - config.min_shift_nights)
    in_shift = offsets[None, :] >= onset[:, None]
    base_idx = day[:, None] - e - b + 1 + np.arange(b)
    current = _medians(raw, p, shift_idx, in_shift)
    usual = _medians(raw, p, base_idx, np.ones(base_idx.shape, bool))
    nights = np.count_nonzero(~np.isnan(raw[p[:, None], shift_idx]) & in_shift[..., None], axis=1)
    current_adjusted = _medians(adjusted, p, shift_idx, in_shift)
    sign = directions(orientation, config)
    floor = np.array([c.min_change for c in config.channels])[None, :]
    as_recorded = sign * _size(current - usual, usual, config) >= floor
    beyond_calendar = sign * _size(current_adjusted - adjusted_usual, usual, config) >= floor
    meaningful = as_recorded & beyond_calendar & (nights >= config.min_change_nights)
    return Effects(usual, current, nights, e - onset, meaningful)
