"""Simulated PHQ-9 answers: every two weeks (about 15% skipped), in remission (total below 5)
until a relapse, rising after onset so that the total crosses 10 one to four weeks after the
passive signals began to move; items always add up to the total; rarely, item 9 above 0
around a relapse, never otherwise.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl

from ingest import schema
from simulate.patients import Draws

#: how readily each item takes a point (the core mood items first); item 9 is set apart
ITEM_WEIGHTS = np.array([1.4, 1.4, 1.2, 1.3, 0.9, 1.0, 0.9, 0.7])


def latent_total(d: Draws) -> np.ndarray:
    """(patients, days): the expected total, through (onset, base), (cross, 10.5) and
    (cross + 14, peak), easing back to base as the relapse recovers."""
    t = np.arange(d.days)[None, :].astype(float)
    base = d.phq_base[:, None]
    onset = d.onset_day[:, None].astype(float)
    cross = d.phq_cross_day[:, None].astype(float)
    peak = d.phq_peak[:, None]
    rise = np.clip((t - onset) / np.maximum(cross - onset, 1), 0, 1) * (10.5 - base)
    climb = np.clip((t - cross) / 14, 0, 1) * (peak - 10.5)
    down_start = onset + d.ramp_days[:, None] + d.plateau_days[:, None]
    ease = 1 - np.clip((t - down_start) / d.recovery_days[:, None], 0, 1)
    return np.where(onset >= 0, base + (rise + climb) * ease, base)


def split_items(totals: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(entries, 8) items 1–8, each 0–3, adding up to ``totals`` (at most 24)."""
    items = np.zeros((totals.size, 8), dtype=np.int64)
    left = totals.astype(np.int64).copy()
    while (left > 0).any():  # one point per entry per pass, at most 24 passes
        room = ITEM_WEIGHTS[None, :] * (items < 3)
        cum = np.cumsum(room, axis=1)
        pick = (cum < rng.random((totals.size, 1)) * cum[:, -1:]).sum(axis=1)
        give = left > 0
        items[np.nonzero(give)[0], pick[give]] += 1
        left -= give
    return items


def answers(
    d: Draws,
    ids: list[str],
    start: date,
    noon_offset: np.ndarray,
    rng: np.random.Generator,
) -> pl.DataFrame:
    """PHQ-9 entries in the PHQ9 schema. ``noon_offset`` (patients, days) is the local UTC
    offset in minutes on each date, so answers are given at local daytime hours."""
    first = rng.integers(0, 14, d.n)
    t = np.arange(d.days)[None, :]
    asked = ((t - first[:, None]) % 14 == 0) & (t >= first[:, None])
    answered = asked & (rng.random((d.n, d.days)) >= 0.15)
    p, day = np.nonzero(answered)

    level = latent_total(d)[p, day] + rng.normal(0, 1.0, p.size)
    onset, cross = d.onset_day[p], d.phq_cross_day[p]
    ceiling = np.where((onset < 0) | (day < onset), 4, np.where(day < cross, 9, 24))
    totals = np.clip(np.rint(level), 0, ceiling)
    # after a relapse has recovered the person is back in remission
    episode_end = onset + d.ramp_days[p] + d.plateau_days[p] + d.recovery_days[p]
    recovered = (onset >= 0) & (day > episode_end)
    totals = np.where(recovered, np.minimum(totals, 4), totals).astype(np.int64)
    items = split_items(totals, rng)

    # rarely (about one relapse in eight) item 9 above 0 on the first answer of 12 or more
    item9 = np.zeros(p.size, dtype=np.int64)
    speaks = rng.random(d.n) < 0.125
    high = np.nonzero((onset >= 0) & (totals >= 12) & speaks[p])[0]
    firsts = high[np.unique(p[high], return_index=True)[1]] if high.size else high
    item9[firsts] = 1

    difficulty = np.select([totals < 5, totals < 10, totals < 20], [0, 1, 2], 3)
    difficulty = np.where((totals < 5) & (totals > 2) & (rng.random(p.size) < 0.3), 1, difficulty)
    minute = rng.integers(8 * 60, 22 * 60, p.size)
    local = (
        np.datetime64(start, "m") + (day * 1440 + minute).astype("timedelta64[m]")
    ) - noon_offset[p, day].astype("timedelta64[m]")
    answered_at = pl.Series(local.astype("datetime64[us]")).dt.replace_time_zone("UTC")
    frame = pl.DataFrame(
        {
            "patient_id": np.array(ids)[p],
            "answered_at": answered_at,
            **{f"item_{i + 1}": items[:, i] for i in range(8)},
            "item_9": item9,
            "total": items.sum(axis=1) + item9,
            "difficulty": difficulty,
        }
    ).with_columns(
        [pl.col(c).cast(pl.Int8) for c in (*schema.PHQ9_ITEMS, "total", "difficulty")],
        instrument=pl.lit("phq9"),
        source=pl.lit("simulated"),
        # answered on local day `day`, at the offset of that day
        utc_offset_min=pl.Series(noon_offset[p, day]).cast(pl.Int32),
    )
    return schema.validate(frame, schema.PHQ9, "simulated PHQ-9 entries")
