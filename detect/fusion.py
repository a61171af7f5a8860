"""Direction-aware fusion: one passive judgement per patient and day from all channels.

Channels of one group (HRV as RMSSD or SDNN; sleep midpoint and irregularity) count once. A
day is a candidate when at least ``min_groups`` groups alarm in their depressive direction, or
one group alarms with a CUSUM of ``strong_h_factor`` times the threshold. Severity is high with
``high_groups`` groups, or with two groups and one of them past ``high_h_factor`` times the
threshold; moderate otherwise. Gap days are never candidates.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from detect.config import DetectConfig
from detect.passive import ChannelEvidence

RANK_MODERATE, RANK_HIGH = 1, 2


@dataclass(frozen=True)
class Fused:
    rank: np.ndarray  # int8 [patient, judged day]: 0 none, 1 moderate, 2 high
    groups: np.ndarray  # int [patient, judged day]: groups in alarm


def fuse(evidence: ChannelEvidence, gap: np.ndarray, config: DetectConfig) -> Fused:
    names = sorted({c.group for c in config.channels})
    strength = np.where(evidence.alarm, evidence.stat / config.cusum_h, 0.0)
    per_group = np.stack(
        [
            strength[..., [i for i, c in enumerate(config.channels) if c.group == g]].max(axis=-1)
            for g in names
        ],
        axis=-1,
    )
    groups = np.count_nonzero(per_group > 0, axis=-1)
    strongest = per_group.max(axis=-1)
    candidate = (groups >= config.min_groups) | (strongest >= config.strong_h_factor)
    high = (groups >= config.high_groups) | ((groups >= 2) & (strongest >= config.high_h_factor))
    rank = np.where(candidate & ~gap, np.where(high, RANK_HIGH, RANK_MODERATE), 0)
    return Fused(rank.astype(np.int8), groups)
