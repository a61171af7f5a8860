"""From latent physiology to what devices record: sleep periods on real clocks, and the truth
nights table in exactly the NIGHTS schema (a missing night is nulls with ``has_*`` False).

Every time is a whole minute and every value is rounded the way its vendor rounds it, so the
vendor files written from these frames rebuild the same nights.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import polars as pl

from detect.simulate import clocks
from detect.simulate.patients import DEVICES, Draws
from detect.simulate.physiology import Latent
from ingest import schema

#: vendors whose devices log daytime naps as sleep periods
NAP_VENDORS = ("fitbit", "oura")
#: vendors whose exports carry no in-bed time apart from the sleep window itself
WINDOW_ONLY_VENDORS = ("garmin",)
#: vendors that score sleep in 5-minute epochs
EPOCH_VENDORS = ("oura",)
#: vendors whose (older) exports carry no nightly HRV
NO_HRV_VENDORS = ("garmin",)


@dataclass(frozen=True)
class Recorded:
    nights: pl.DataFrame  # NIGHTS schema
    periods: pl.DataFrame  # one row per sleep period (main sleeps and naps)
    #: patient_id, date, vendor, device, zone, utc_offset_min (at local noon), midnight_offset_min
    days: pl.DataFrame
    trips: list[list[tuple[int, int, str]]]


def _minutes(start: date, days: int) -> np.ndarray:
    """Naive local noon of the day before each wake date, as epoch minutes."""
    noon = np.datetime64(start - timedelta(days=1), "m") + np.timedelta64(12 * 60, "m")
    return (noon + np.arange(days) * np.timedelta64(1440, "m")).astype(np.int64)


def _as_utc(minutes: np.ndarray) -> pl.Series:
    us = minutes.astype(np.int64) * 60_000_000
    return pl.Series(us).cast(pl.Datetime("us")).dt.replace_time_zone("UTC")


def active_devices(d: Draws) -> tuple[np.ndarray, np.ndarray]:
    """(vendor, device) of every patient and day, after any device change."""
    t = np.arange(d.days)[None, :]
    changed = (d.device_change_day[:, None] >= 0) & (t >= d.device_change_day[:, None])
    switched = changed & (d.second_vendor[:, None] != "")
    vendor = np.where(switched, d.second_vendor[:, None], d.vendor[:, None])
    first = {v: DEVICES[v][0] for v in DEVICES}
    second = {v: DEVICES[v][1] for v in DEVICES}
    device = np.where(
        changed & ~switched,
        np.vectorize(second.get)(d.vendor)[:, None],
        np.vectorize(first.get)(vendor),
    )
    return vendor, device


def record(
    d: Draws, lat: Latent, ids: list[str], start: date, rng: np.random.Generator
) -> Recorded:
    n, days = d.n, d.days
    cols = np.arange(days)[None, :]
    where, trip_list = clocks.trips(d.home_zone, days, rng)
    noon = clocks.offsets_at_noon(start, days)
    off_prev_noon = noon[where, cols]
    off_wake_noon = noon[where, cols + 1]
    vendor, device = active_devices(d)
    worn = lat.worn

    # Oura scores sleep in 5-minute epochs: its nights are whole epochs
    step = np.where(np.isin(vendor, EPOCH_VENDORS), 5, 1)

    def whole(x: np.ndarray, least: int = 0) -> np.ndarray:
        return np.maximum(np.rint(x / step) * step, least * step).astype(np.int64)

    asleep = whole(lat.asleep_min)
    gap = whole(asleep / lat.efficiency - asleep, 3)
    latency = whole(gap * 0.35, 1)
    after = whole(gap * 0.15, 1)
    # awakenings inside the night stay short enough (under 80 minutes in all) that no vendor
    # splits the night in two; the rest of the time in bed is spent falling asleep
    awake = np.minimum(gap - latency - after, 80)
    latency = gap - after - awake
    window = asleep + awake
    # the main sleep always ends on its wake date, between 00:30 and 11:30 local time
    # (clock minutes count from noon of the previous day: midnight is 720)
    midpoint = np.clip(
        lat.midpoint_min + clocks.jet_lag(where, noon), 750 - window / 2, 1410 - window / 2
    )
    onset_label = np.rint(midpoint - window / 2).astype(np.int64)
    prev_noon = np.broadcast_to(_minutes(start, days)[None, :], (n, days))
    asleep_start = prev_noon + onset_label - off_prev_noon.astype(np.int64)
    off_start = clocks.offsets_at(_as_utc(asleep_start.ravel()), where.ravel()).reshape(n, days)
    onset = onset_label + (off_start - off_prev_noon)  # the clock moved if DST changed since noon
    wake = asleep_start + window
    off_wake = clocks.offsets_at(_as_utc(wake.ravel() - 1), where.ravel()).reshape(n, days)

    naps = worn & np.isin(vendor, NAP_VENDORS) & (rng.random((n, days)) < 0.06)
    nap_label = rng.integers(1500, 1711, (n, days))
    nap_asleep = whole(rng.integers(20, 81, (n, days)))
    nap_in_bed = nap_asleep + 2 * step
    nap_start = prev_noon + nap_label - off_wake_noon.astype(np.int64)

    hrv_round = np.where(np.isin(vendor, ("oura", "garmin")), 0, 1)
    hrv = np.round(lat.hrv_ms * 10**hrv_round) / 10**hrv_round
    has_hrv = worn & (rng.random((n, days)) >= 0.04) & ~np.isin(vendor, NO_HRV_VENDORS)
    has_rhr = worn & (rng.random((n, days)) >= 0.02)
    sdnn = vendor == "apple_health"

    # asleep / in bed over the night's periods (a nap's in-bed time starts two steps early)
    window_only = np.isin(vendor, WINDOW_ONLY_VENDORS)
    main_in_bed = np.where(window_only, window, window + latency + after)
    efficiency = np.where(naps, asleep + nap_asleep, asleep) / (
        main_in_bed + np.where(naps, nap_in_bed, 0)
    )
    pid = np.repeat(np.array(ids), days)
    dates = pl.date_range(start, start + timedelta(days=days - 1), eager=True)
    flat = lambda a: a.ravel()  # noqa: E731
    w = flat(worn)
    total = np.where(naps, asleep + nap_asleep, asleep)
    nights = pl.DataFrame(
        {
            "patient_id": pid,
            "date": pl.concat([dates] * n),
            "sleep_total_min": np.where(w, flat(total), np.nan),
            "sleep_main_min": np.where(w, flat(asleep), np.nan),
            "sleep_onset_min": np.where(w, flat(onset), np.nan),
            "sleep_midpoint_min": np.where(w, flat(onset + window / 2), np.nan),
            "sleep_efficiency": np.where(w, flat(efficiency), np.nan),
            "sleep_periods": np.where(w, flat(1 + naps), 0),
            "sleep_source": flat(vendor),
            "hrv_sdnn_ms": np.where(flat(has_hrv & sdnn), flat(hrv), np.nan),
            "hrv_rmssd_ms": np.where(flat(has_hrv & ~sdnn), flat(hrv), np.nan),
            "resting_hr_bpm": np.where(flat(has_rhr), flat(np.rint(lat.rhr_bpm)), np.nan),
            "steps": np.where(w, flat(np.rint(lat.steps)), np.nan),
            "utc_offset_min": flat(off_wake).astype(np.int32),
            "has_sleep": w,
            "has_hrv": flat(has_hrv),
            "has_resting_hr": flat(has_rhr),
            "has_steps": w,
        },
        nan_to_null=True,
    ).with_columns(
        pl.when(pl.col("has_sleep")).then(pl.col(c)).otherwise(None).alias(c)
        for c in ("sleep_periods", "sleep_source", "utc_offset_min")
    )
    nights = schema.validate(
        nights.with_columns(
            pl.col("sleep_periods").cast(pl.Int32), pl.col("utc_offset_min").cast(pl.Int32)
        ),
        schema.NIGHTS,
        "simulated nights",
    )

    def period_rows(mask: np.ndarray, main: bool, **cols_: np.ndarray) -> pl.DataFrame:
        keep = mask.ravel()
        data = {k: v.ravel()[keep] for k, v in cols_.items()}
        frame = pl.DataFrame(
            {
                "patient_id": pid[keep],
                "date": pl.concat([dates] * n).filter(pl.Series(keep)),
                "vendor": flat(vendor)[keep],
                "device": flat(device)[keep],
                "main": np.full(int(keep.sum()), main),
                **{k: v for k, v in data.items() if not k.endswith("_at")},
            }
        )
        return frame.with_columns(_as_utc(v).alias(k) for k, v in data.items() if k.endswith("_at"))

    main_rows = period_rows(
        worn,
        True,
        in_bed_at=asleep_start - latency,
        asleep_at=asleep_start,
        wake_at=asleep_start + window,
        out_of_bed_at=asleep_start + window + after,
        utc_offset_min=off_start.astype(np.int32),
        asleep_min=asleep,
        awake_min=awake,
    )
    nap_rows = period_rows(
        naps,
        False,
        in_bed_at=nap_start - (nap_in_bed - nap_asleep),
        asleep_at=nap_start,
        wake_at=nap_start + nap_asleep,
        out_of_bed_at=nap_start + nap_asleep,
        utc_offset_min=off_wake_noon.astype(np.int32),
        asleep_min=nap_asleep,
        awake_min=np.zeros_like(nap_asleep),
    )
    periods = pl.concat([main_rows, nap_rows]).sort("patient_id", "asleep_at")
    days_frame = pl.DataFrame(
        {
            "patient_id": pid,
            "date": pl.concat([dates] * n),
            "vendor": flat(vendor),
            "device": flat(device),
            "zone": np.array(clocks.ZONES)[flat(where)],
            "utc_offset_min": flat(off_wake_noon).astype(np.int32),
            # DST changes happen in the small hours, so midnight has the previous noon's offset
            "midnight_offset_min": flat(off_prev_noon).astype(np.int32),
        }
    )
    return Recorded(nights, periods, days_frame, trip_list)
