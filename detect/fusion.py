"""Direction-aware fusion: one composite night-by-night score across metric groups.

Each channel's standardised nights are turned so that the depressive direction is positive
(HRV and steps down, resting heart rate up; sleep duration either way, so there are two
orientations, "sleep up" and "sleep down"). Channels of one group (HRV as RMSSD or SDNN) are
averaged, and the groups present on a night are combined as ``sum(z) / sqrt(count)``: with
independent noise this stays a unit-variance series, while a shift that several metrics agree
on adds up. A one-sided CUSUM over the evidence window of the composite flags a shift within
days of its start, and a penalised single mean shift (the linear-kernel cost of
ruptures' KernelCPD) must be found in the evidence window to confirm it. One very strong metric
moves the composite on its own; two moderate ones are needed otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from detect.config import DetectConfig
from detect.confirm import best_single_split, confirmed
from detect.cusum import two_sided_cusum
from detect.passive import ChannelHistory

RANK_MODERATE, RANK_HIGH = 1, 2


@dataclass(frozen=True)
class Fused:
    rank: np.ndarray  # int8 [patient, judged day]: 0 none, 1 moderate, 2 high
    orientation: np.ndarray  # int8 [patient, judged day]: +1 sleep counted up, -1 down
    onset: np.ndarray  # offset in the evidence window where the shift began
    stat: np.ndarray  # composite CUSUM on the judged day


def group_names(config: DetectConfig) -> list[str]:
    return list(dict.fromkeys(c.group for c in config.channels))


def oriented_groups(z: np.ndarray, config: DetectConfig) -> list[np.ndarray]:
    """Per group, its nights [..., night] with the depressive direction positive (two-sided
    groups, sleep duration and timing, counted upward); ``z`` is [..., channel, night]."""
    out = []
    for g in group_names(config):
        members = [i for i, c in enumerate(config.channels) if c.group == g]
        sign = -1.0 if config.channels[members[0]].depressive == "down" else 1.0
        if len(members) == 1:
            out.append(sign * z[..., members[0], :])
            continue
        # several channels measure one thing (HRV as RMSSD or SDNN): average those present
        part = z[..., members, :]
        seen = np.count_nonzero(~np.isnan(part), axis=-2)
        total = np.where(np.isnan(part), 0.0, part).sum(axis=-2)
        out.append(sign * np.where(seen > 0, total / np.maximum(seen, 1), np.nan))
    return out


def two_sided(config: DetectConfig) -> list[bool]:
    first = {c.group: c.depressive for c in reversed(config.channels)}
    return [first[g] == "both" for g in group_names(config)]


def composites(z: np.ndarray, config: DetectConfig) -> tuple[np.ndarray, np.ndarray]:
    """The composite nights with sleep counted up and with sleep counted down:
    ``sum(w z) / sqrt(sum w^2)`` over the groups present each night (NaN with none). Both
    share the one-sided part, so it is summed once."""
    one = np.zeros(z.shape[:-2] + z.shape[-1:], z.dtype)
    two = np.zeros_like(one)
    norm = np.zeros_like(one)
    for name, both, series in zip(
        group_names(config), two_sided(config), oriented_groups(z, config), strict=True
    ):
        w = config.weight(name)
        seen = ~np.isnan(series)
        target = two if both else one
        target += np.where(seen, w * series, 0.0)
        norm += seen * w**2
    norm = np.sqrt(norm)
    with np.errstate(divide="ignore", invalid="ignore"):
        empty = norm == 0
        return (
            np.where(empty, np.nan, (one + two) / norm),
            np.where(empty, np.nan, (one - two) / norm),
        )


def fuse(history: ChannelHistory, gap: np.ndarray, config: DetectConfig) -> Fused:
    """The stronger of the two sleep orientations, per patient and day."""
    up, down = composites(history.z, config)
    return _stronger(_judge(up, gap, config, 1), _judge(down, gap, config, -1))


def _judge(comp: np.ndarray, gap: np.ndarray, config: DetectConfig, sleep_sign: int) -> Fused:
    b = config.baseline_nights
    scores = two_sided_cusum(comp[..., b:], config.cusum_k)
    stat, onset = scores.up, scores.onset_up
    alarm = (stat >= config.cusum_h) & (scores.valid >= config.min_evidence_valid) & ~gap
    if config.confirm and alarm.any():
        p, j = np.nonzero(alarm)
        split = best_single_split(comp[p, j], config.confirm_min_size, b)
        alarm[p, j] = confirmed(split, config.confirm_penalty, np.ones(p.size))
    high = stat >= config.high_h_factor * config.cusum_h
    rank = np.where(alarm, np.where(high, RANK_HIGH, RANK_MODERATE), 0).astype(np.int8)
    return Fused(rank, np.full(rank.shape, sleep_sign, np.int8), onset, stat)


def _stronger(a: Fused, b: Fused) -> Fused:
    """Per patient and day, the orientation with the higher rank (then the higher CUSUM)."""
    take_b = (b.rank > a.rank) | ((b.rank == a.rank) & (b.stat > a.stat))
    return Fused(
        *(np.where(take_b, y, x) for x, y in zip(vars(a).values(), vars(b).values(), strict=True))
    )
