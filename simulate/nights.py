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

from ingest import schema
from simulate import clocks
from simulate.patients import DEVICES, Draws
from simulate.physiology import Latent

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


@dataclass(frozen=True)
class Sleep:
    """Every (patient, day) night on the clock: epoch minutes (UTC) and minutes, whole."""

    asleep: np.ndarray  # asleep minutes of the main sleep
    awake: np.ndarray  # awakenings inside it
    latency: np.ndarray  # in bed before falling asleep
    after: np.ndarray  # in bed after waking
    asleep_start: np.ndarray  # epoch minutes
    onset: np.ndarray  # local clock minutes from noon of the previous day
    off_start: np.ndarray  # UTC offset when falling asleep
    off_wake: np.ndarray  # UTC offset when waking
    naps: np.ndarray  # bool
    nap_start: np.ndarray
    nap_asleep: np.ndarray
    nap_in_bed: np.ndarray

    @property
    def window(self) -> np.ndarray:
        return self.asleep + self.awake


def _on_the_clock(
    d: Draws,
    lat: Latent,
    vendor: np.ndarray,
    where: np.ndarray,
    noon: np.ndarray,
    start: date,
    rng: np.random.Generator,
) -> Sleep:
    n, days = d.n, d.days
    cols = np.arange(days)[None, :]
    off_prev_noon, off_wake_noon = noon[where, cols], noon[where, cols + 1]
    # Oura scores sleep in 5-minute epochs: its nights are whole epochs
    step = np.where(np.isin(vendor, EPOCH_VENDORS), 5, 1)

    def whole(x: np.ndarray, least: int = 0) -> np.ndarray:
        return np.maximum(np.rint(x / step) * step, least * step).astype(np.int64)

    asleep = whole(lat.asleep_min)
    gap = whole(asleep / lat.efficiency - asleep, 3)
    after = whole(gap * 0.15, 1)
    # awakenings inside the night stay short enough (under 80 minutes in all) that no vendor
    # splits the night in two; the rest of the time in bed is spent falling asleep
    awake = np.minimum(gap - whole(gap * 0.35, 1) - after, 80)
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
    wake = asleep_start + window
    off_wake = clocks.offsets_at(_as_utc(wake.ravel() - 1), where.ravel()).reshape(n, days)

    naps = lat.worn & np.isin(vendor, NAP_VENDORS) & (rng.random((n, days)) < 0.06)
    nap_label = rng.integers(1500, 1711, (n, days))  # 13:00 to 16:30
    nap_asleep = whole(rng.integers(20, 81, (n, days)))
    return Sleep(
        asleep=asleep,
        awake=awake,
        latency=latency,
        after=after,
        asleep_start=asleep_start,
        # the clock moved if daylight saving changed between noon and falling asleep
        onset=onset_label + (off_start - off_prev_noon),
        off_start=off_start,
        off_wake=off_wake,
        naps=naps,
        nap_start=prev_noon + nap_label - off_wake_noon.astype(np.int64),
        nap_asleep=nap_asleep,
        nap_in_bed=nap_asleep + 2 * step,
    )


def _nights(
    sleep: Sleep,
    lat: Latent,
    vendor: np.ndarray,
    keys: pl.DataFrame,
    rng: np.random.Generator,
) -> pl.DataFrame:
    n, days = vendor.shape
    worn = lat.worn
    hrv_round = np.where(np.isin(vendor, ("oura", "garmin")), 0, 1)
    hrv = np.round(lat.hrv_ms * 10**hrv_round) / 10**hrv_round
    has_hrv = worn & (rng.random((n, days)) >= 0.04) & ~np.isin(vendor, NO_HRV_VENDORS)
    has_rhr = worn & (rng.random((n, days)) >= 0.02)
    sdnn = vendor == "apple_health"
    # asleep / in bed over the night's periods (a nap's in-bed time starts two steps early)
    main_in_bed = np.where(
        np.isin(vendor, WINDOW_ONLY_VENDORS),
        sleep.window,
        sleep.window + sleep.latency + sleep.after,
    )
    total = np.where(sleep.naps, sleep.asleep + sleep.nap_asleep, sleep.asleep)
    efficiency = total / (main_in_bed + np.where(sleep.naps, sleep.nap_in_bed, 0))

    def when(mask: np.ndarray, values: np.ndarray) -> np.ndarray:
        return np.where(mask, values, np.nan).ravel()

    frame = keys.with_columns(
        pl.Series(name, values, nan_to_null=True)
        for name, values in {
            "sleep_total_min": when(worn, total),
            "sleep_main_min": when(worn, sleep.asleep),
            "sleep_onset_min": when(worn, sleep.onset),
            "sleep_midpoint_min": when(worn, sleep.onset + sleep.window / 2),
            "sleep_efficiency": when(worn, efficiency),
            "sleep_periods": when(worn, 1 + sleep.naps),
            "hrv_sdnn_ms": when(has_hrv & sdnn, hrv),
            "hrv_rmssd_ms": when(has_hrv & ~sdnn, hrv),
            "resting_hr_bpm": when(has_rhr, np.rint(lat.rhr_bpm)),
            "steps": when(worn, np.rint(lat.steps)),
            "utc_offset_min": when(worn, sleep.off_wake),
        }.items()
    ).with_columns(
        sleep_source=pl.when(pl.Series(worn.ravel())).then(pl.Series(vendor.ravel())),
        has_sleep=pl.Series(worn.ravel()),
        has_hrv=pl.Series(has_hrv.ravel()),
        has_resting_hr=pl.Series(has_rhr.ravel()),
        has_steps=pl.Series(worn.ravel()),
    )
    return schema.validate(
        frame.select(list(schema.NIGHTS)).with_columns(
            pl.col("sleep_periods").cast(pl.Int32), pl.col("utc_offset_min").cast(pl.Int32)
        ),
        schema.NIGHTS,
        "simulated nights",
    )


def _periods(
    sleep: Sleep, worn: np.ndarray, base: pl.DataFrame, off_wake_noon: np.ndarray
) -> pl.DataFrame:
    """One row per recorded sleep period; ``base`` has patient_id, date, vendor, device."""

    def rows(mask: np.ndarray, main: bool, **columns: np.ndarray) -> pl.DataFrame:
        keep = pl.Series(mask.ravel())
        values = {k: v.ravel() for k, v in columns.items()}
        return base.with_columns(
            main=pl.lit(main),
            **{k: _as_utc(v) if k.endswith("_at") else pl.Series(v) for k, v in values.items()},
        ).filter(keep)

    main = rows(
        worn,
        True,
        utc_offset_min=sleep.off_start.astype(np.int32),
        asleep_min=sleep.asleep,
        awake_min=sleep.awake,
        in_bed_at=sleep.asleep_start - sleep.latency,
        asleep_at=sleep.asleep_start,
        wake_at=sleep.asleep_start + sleep.window,
        out_of_bed_at=sleep.asleep_start + sleep.window + sleep.after,
    )
    naps = rows(
        sleep.naps,
        False,
        utc_offset_min=off_wake_noon.astype(np.int32),
        asleep_min=sleep.nap_asleep,
        awake_min=np.zeros_like(sleep.nap_asleep),
        in_bed_at=sleep.nap_start - (sleep.nap_in_bed - sleep.nap_asleep),
        asleep_at=sleep.nap_start,
        wake_at=sleep.nap_start + sleep.nap_asleep,
        out_of_bed_at=sleep.nap_start + sleep.nap_asleep,
    )
    return pl.concat([main, naps]).sort("patient_id", "asleep_at")


def record(
    d: Draws, lat: Latent, ids: list[str], start: date, rng: np.random.Generator
) -> Recorded:
    where, trip_list = clocks.trips(d.home_zone, d.days, rng)
    noon = clocks.offsets_at_noon(start, d.days)
    vendor, device = active_devices(d)
    sleep = _on_the_clock(d, lat, vendor, where, noon, start, rng)
    dates = pl.date_range(start, start + timedelta(days=d.days - 1), eager=True)
    keys = pl.DataFrame(
        {"patient_id": np.repeat(np.array(ids), d.days), "date": pl.concat([dates] * d.n)}
    )
    cols = np.arange(d.days)[None, :]
    days = keys.with_columns(
        vendor=pl.Series(vendor.ravel()),
        device=pl.Series(device.ravel()),
        zone=pl.Series(np.array(clocks.ZONES)[where.ravel()]),
        utc_offset_min=pl.Series(noon[where, cols + 1].ravel().astype(np.int32)),
        # DST changes happen in the small hours, so midnight has the previous noon's offset
        midnight_offset_min=pl.Series(noon[where, cols].ravel().astype(np.int32)),
    )
    nights = _nights(sleep, lat, vendor, keys, rng)
    periods = _periods(
        sleep,
        lat.worn,
        days.select("patient_id", "date", "vendor", "device"),
        noon[where, cols + 1],
    )
    return Recorded(nights, periods, days, trip_list)
