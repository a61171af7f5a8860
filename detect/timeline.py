"""Confirmed change points of one patient's nights, for timelines and reports.

Each channel's valid nights go through ``find_change_points`` (its level search alone: ruptures
KernelCPD, linear kernel, jump=1, a week as the shortest segment, the penalty in units of the
series' own variance);
each change point is reported with its direction and its size in noise SDs.
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import polars as pl

from detect.changepoints import OfflineConfig, find_change_points, noise_variance
from detect.config import DEFAULT, DetectConfig
from detect.cube import night_cube
from detect.errors import InputFrameError

SCHEMA = {
    "patient_id": pl.String(),
    "metric": pl.String(),
    "date": pl.Date(),
    "direction": pl.String(),
    "z": pl.Float64(),
}
#: offline search of the timeline: a week as the shortest regime, a BIC-like penalty
TIMELINE_SEARCH_BETA = 3.0


def change_points(nights_one_patient: pl.DataFrame, config: DetectConfig = DEFAULT) -> pl.DataFrame:
    """Rows (patient_id, metric, date, direction, z), one per change point, by date."""
    if nights_one_patient.height == 0:
        return pl.DataFrame(schema=SCHEMA)
    ids = nights_one_patient["patient_id"].unique()
    if ids.len() != 1:
        raise InputFrameError(f"expected the nights of one patient, got {ids.len()} patients")
    first, last = nights_one_patient["date"].min(), nights_one_patient["date"].max()
    cube = night_cube(nights_one_patient, first, last, config)  # type: ignore[arg-type]
    search = OfflineConfig(
        level_beta=TIMELINE_SEARCH_BETA, level_min_size=config.confirm_min_size, increment_beta=None
    )
    rows: list[dict[str, object]] = []
    # one ruptures search per channel: a handful of channels for one patient
    for c, channel in enumerate(config.channels):
        x = cube.values[0, :, c].astype(np.float64)
        valid = x[~np.isnan(x)]
        if valid.size < 2 * config.confirm_min_size:
            continue
        sd = float(np.sqrt(noise_variance(valid[:, None])))
        cps = find_change_points(x, search)
        bounds = [0, *cps, x.size]
        for i, cp in enumerate(cps):
            before = np.nanmean(x[bounds[i] : cp])
            after = np.nanmean(x[cp : bounds[i + 2]])
            rows.append(
                {
                    "patient_id": str(ids[0]),
                    "metric": channel.name,
                    "date": cube.first_day + timedelta(days=cp),
                    "direction": "up" if after > before else "down",
                    "z": float((after - before) / sd),
                }
            )
    return pl.DataFrame(rows, schema=SCHEMA).sort("date", "metric")
