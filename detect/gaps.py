"""Silence: a wearable that stops sending, or one measure that stops while others go on.

Each watched source (sleep, resting heart rate, HRV, steps) is **silent** on a judged day when
fewer than ``gap_min_nights`` of its last ``gap_window`` nights have it, although it was a
regular one before (below); while sleep still arrives, another measure is silent only once it
has stopped, missing on each of the last ``gap_min_run`` nights: passive judgement goes on, and
a resting heart rate the vendor skips every other day is not news each time. When sleep is
sparse, every sparse source is named with it, since passive judgement pauses.
Regular means present on at least ``gap_regular_share`` of the ``gap_history_nights``
nights before that week (someone who never wore the watch to bed is not told every week that
sleep is missing, nor is a source that comes and goes each time it dips).
A silent day of any source is a data-gap day; the first of an episode raises one ``data_gap``
signal naming what stopped and the last date it came. Sleep that is too sparse also pauses
passive judgement (``sleep_gap``: any sleep in the history before the week, as a baseline
needs it), since no passive signal can be drawn from a week without it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from detect.config import DetectConfig

#: the sources watched for silence, as a coordinator names them, and their channels
SOURCES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("sleep", ("sleep_total_min",)),
    ("resting heart rate", ("resting_hr_bpm",)),
    ("HRV", ("hrv_rmssd_ms", "hrv_sdnn_ms")),
    ("steps", ("steps",)),
)


@dataclass(frozen=True)
class Silence:
    sleep_gap: np.ndarray  # bool [patient, judged day]: passive judgement paused
    silent: np.ndarray  # bool [patient, judged day, source]
    #: [patient, judged day, source]: day index (in the cube) of the last night with the
    #: source, -1 when none
    last_seen: np.ndarray
    regular: np.ndarray  # bool [patient, judged day, source]: a source the person had
    recent: np.ndarray  # [patient, judged day, source]: nights with it in the gap window

    @property
    def gap(self) -> np.ndarray:
        return np.asarray(self.silent.any(axis=-1))


def _windowed(flags: np.ndarray, days: np.ndarray, width: int, end_offset: int) -> np.ndarray:
    """Count of ``flags`` (along axis 1) over ``width`` days ending ``end_offset`` days before
    each of ``days`` (inclusive of that end); fewer where the cube starts later."""
    counts = np.concatenate(
        [np.zeros((flags.shape[0], 1, *flags.shape[2:]), np.int32), np.cumsum(flags, axis=1)],
        axis=1,
    )
    hi = days + 1 - end_offset
    lo = np.maximum(hi - width, 0)
    return counts[:, hi] - counts[:, lo]


def silence(present: np.ndarray, judged: range, config: DetectConfig) -> Silence:
    """``present``: bool [patient, day, source] as ``detect.cube.NightCube.present``."""
    w = config.gap_window
    days = np.arange(judged.start, judged.stop)
    recent = _windowed(present, days, w, 0)
    earlier = _windowed(present, days, config.gap_history_nights, w)
    regular = earlier >= config.gap_regular_share * config.gap_history_nights
    index = np.where(present, np.arange(present.shape[1])[None, :, None], -1)
    last_seen = np.maximum.accumulate(index, axis=1)[:, days]
    sparse = (recent < config.gap_min_nights) & regular
    # while sleep still arrives, a measure that dips is announced only once it has stopped
    stopped = days[None, :, None] - last_seen >= config.gap_min_run
    silent = sparse & (stopped | sparse[..., :1])
    sleep_before = _windowed(present[..., 0], days, config.history_nights - w, w)
    sleep_gap = (recent[..., 0] < config.gap_min_nights) & (sleep_before > 0)
    return Silence(sleep_gap, silent, last_seen, regular, recent)


def first_of_episode(rank: np.ndarray, refractory: int) -> np.ndarray:
    """Days (last axis) whose rank beats every rank of the ``refractory`` days before.

    ``rank`` is 0 for no signal and grows with severity, so an ongoing episode fires once and
    again only when it strengthens. Stateless: a day's answer depends on the days before it
    alone, which keeps detect_day and detect_range identical.
    """
    padded = np.concatenate([np.zeros((*rank.shape[:-1], refractory), rank.dtype), rank], axis=-1)
    previous = sliding_window_view(padded, refractory, axis=-1)[..., :-1, :].max(axis=-1)
    return rank > previous
