"""Where each simulated patient is on each night, and what the local clock says there.

Patients live in a home time zone (with its daylight-saving changes) and some travel: for the
nights of a trip the local zone is the destination's, and the first two nights keep part of
the home rhythm (jet lag). Local calendar dates are always those of the zone the person is in.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import numpy as np
import polars as pl

from simulate.patients import HOME_ZONES, TRAVEL_ZONES

ZONES = tuple(sorted(set(HOME_ZONES) | set(TRAVEL_ZONES)))


def zone_index(names: np.ndarray) -> np.ndarray:
    return np.searchsorted(np.array(ZONES), names)


def trips(
    home: np.ndarray, days: int, rng: np.random.Generator
) -> tuple[np.ndarray, list[list[tuple[int, int, str]]]]:
    """The zone index of every (patient, wake date), and each patient's trips as
    (first wake day away, number of nights, zone)."""
    n = home.size
    where = np.repeat(zone_index(home)[:, None], days, axis=1)
    listed: list[list[tuple[int, int, str]]] = [[] for _ in range(n)]
    travellers = np.nonzero(rng.random(n) < 0.3)[0]
    for p in travellers:  # one to three trips each
        for _ in range(rng.integers(1, 4)):
            zone = str(rng.choice([z for z in TRAVEL_ZONES if z != home[p]]))
            first, nights = int(rng.integers(1, max(2, days - 14))), int(rng.integers(4, 13))
            overlaps = any(a - 3 < first + nights and first < a + k + 3 for a, k, _ in listed[p])
            if overlaps:  # one trip at a time, with a few days at home between trips
                continue
            where[p, first : first + nights] = ZONES.index(zone)
            listed[p].append((first, nights, zone))
    return where, listed


def offsets_at_noon(start: date, days: int) -> np.ndarray:
    """(zones, days + 1): UTC offset in minutes at local noon of the day before each wake date
    (column d is the noon before wake date d; the last column is noon of the last date)."""
    noons = pl.Series(
        "t",
        [
            datetime.combine(start, datetime.min.time()) + timedelta(days=k, hours=-12)
            for k in range(days + 1)
        ],
    )
    out = np.empty((len(ZONES), days + 1))
    for i, zone in enumerate(ZONES):
        local = noons.dt.replace_time_zone(zone)
        utc_naive = local.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
        out[i] = (noons - utc_naive).dt.total_minutes().to_numpy()
    return out


def offsets_at(utc: pl.Series, zone: np.ndarray) -> np.ndarray:
    """UTC offset in minutes at each UTC instant in the zone of the same index."""
    out = np.zeros(utc.len())
    aware = utc.dt.replace_time_zone("UTC")
    for i in np.unique(zone):
        rows = np.nonzero(zone == i)[0]
        local = aware.gather(rows).dt.convert_time_zone(ZONES[i])
        out[rows] = (local.dt.base_utc_offset() + local.dt.dst_offset()).dt.total_minutes()
    return out


def jet_lag(where: np.ndarray, noon_offsets: np.ndarray) -> np.ndarray:
    """Minutes the local sleep midpoint moves on the first nights in a new zone: the body is
    still partly on the previous zone's clock (half the difference, then a quarter)."""
    days = where.shape[1]
    cols = np.arange(days)
    here = noon_offsets[where, cols[None, :]]
    before = np.concatenate([here[:, :1], here[:, :-1]], axis=1)
    jump = here - before
    lag = np.zeros_like(here)
    lag += 0.5 * jump
    lag[:, 1:] += 0.25 * jump[:, :-1]
    return np.clip(lag, -300, 300)
