"""Who is in a simulated cohort: each patient's device, home time zone, baselines, and the
events of their year (a relapse, a life event, trips, a device change, non-wear).

Everything is drawn here, once, from one seeded generator, so the rest of the simulator is a
deterministic function of these draws. Arrays are indexed by patient.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

VENDORS = ("apple_health", "fitbit", "oura", "garmin")
#: devices as the vendor names them; a device change moves to the next one in the list
DEVICES = {
    "apple_health": ("Apple Watch Series 6 (Watch6,1)", "Apple Watch Series 9 (Watch7,1)"),
    "fitbit": ("Charge 5", "Sense 2"),
    "oura": ("Oura Ring Gen3", "Oura Ring 4"),
    "garmin": ("Forerunner 255", "Venu 3"),
}
HOME_ZONES = (
    "America/New_York",
    "America/Chicago",
    "America/Los_Angeles",
    "Europe/London",
    "Europe/Berlin",
    "Australia/Sydney",
    "Asia/Tokyo",
)
TRAVEL_ZONES = ("America/New_York", "Europe/London", "Asia/Tokyo", "America/Denver", "Asia/Dubai")
LIFE_EVENTS = ("new_baby", "shift_work", "illness")


@dataclass(frozen=True)
class Draws:
    """Per-patient draws. Day indices count from the cohort's first date (0-based)."""

    n: int
    days: int
    vendor: np.ndarray  # str
    second_vendor: np.ndarray  # str, "" when the patient keeps the same vendor
    device_change_day: np.ndarray  # int, -1 for none
    device_hrv_factor: np.ndarray  # multiplicative HRV level shift of the new device
    device_sleep_shift: np.ndarray  # minutes of sleep the new device reads differently
    home_zone: np.ndarray  # str
    # baselines and night-to-night noise (marginal SD of an AR(1) process)
    sleep_mu: np.ndarray
    sleep_sd: np.ndarray
    mid_mu: np.ndarray  # minutes from local noon of the previous day
    mid_sd: np.ndarray
    eff_mu: np.ndarray
    hrv_mu: np.ndarray
    hrv_sd: np.ndarray
    rhr_mu: np.ndarray
    rhr_sd: np.ndarray
    steps_mu: np.ndarray
    steps_sd: np.ndarray
    phi: np.ndarray  # AR(1) coefficient
    weekend_sleep: np.ndarray  # extra minutes on nights ending Saturday/Sunday
    weekend_mid: np.ndarray  # later midpoint on those nights
    # relapse
    onset_day: np.ndarray  # int, -1 for no relapse
    ramp_days: np.ndarray
    plateau_days: np.ndarray
    recovery_days: np.ndarray
    sleep_up: np.ndarray  # bool: hypersomnia (else shorter, fragmented sleep)
    effect_z: np.ndarray  # (n, 4): sleep, hrv, rhr, steps in SDs of noise (0: unaffected)
    phq_cross_day: np.ndarray  # day the latent PHQ-9 total crosses 10, -1 for none
    phq_base: np.ndarray
    phq_peak: np.ndarray
    # a life event for some who do not relapse
    event: np.ndarray  # str, "" for none
    event_start: np.ndarray
    event_days: np.ndarray
    # wear
    miss_rate: np.ndarray


def draw(n: int, days: int, rng: np.random.Generator) -> Draws:
    if n < 1 or days < 1:
        raise ValueError("a cohort needs at least one patient and one day")
    vendor = np.array(VENDORS)[np.arange(n) % len(VENDORS)]

    changes = rng.random(n) < 0.25
    change_at = rng.integers(days // 4, max(days // 4 + 1, 3 * days // 4), n)
    change_day = np.where(changes, change_at, -1)
    # a switch of vendor among the RMSSD vendors; Apple users move to a newer Apple Watch
    switches = changes & (vendor != "apple_health") & (rng.random(n) < 0.5)
    others = {v: [o for o in VENDORS[1:] if o != v] for v in VENDORS}
    second = np.array(
        [
            others[v][k % 2] if s else ""
            for v, s, k in zip(vendor, switches, rng.integers(0, 2, n), strict=True)
        ]
    )
    hrv_factor = np.where(rng.random(n) < 0.5, 0.9, 1.1) * rng.uniform(0.98, 1.02, n)
    sleep_shift = rng.choice([-1.0, 1.0], n) * rng.uniform(10, 25, n)

    relapse = np.zeros(n, dtype=bool)
    relapse[rng.permutation(n)[: (n + 1) // 2]] = True
    lo, hi = max(56, int(0.3 * days)), days - 50
    if hi <= lo:
        relapse[:] = False
    onset = np.where(relapse, rng.integers(lo, max(hi, lo + 1), n), -1)
    ramp = rng.integers(7, 22, n)
    effect = rng.uniform(0.8, 2.0, (n, 4))
    affected = rng.random((n, 4)) < 0.8
    affected[affected.sum(axis=1) < 2, :2] = True  # every relapse moves at least two metrics
    effect = np.where(affected & relapse[:, None], effect, 0.0)
    # the PHQ-9 crosses 10 once the ramp is (nearly) complete: 1–4 weeks after onset
    cross = np.where(relapse, onset + ramp + rng.integers(0, 8, n), -1)

    free = ~relapse
    has_event = free & (rng.random(n) < 0.45)
    event = np.where(has_event, np.array(LIFE_EVENTS)[rng.integers(0, 3, n)], "")
    event_days = np.select(
        [event == "new_baby", event == "shift_work", event == "illness"],
        [rng.integers(42, 85, n), rng.integers(14, 61, n), rng.integers(5, 11, n)],
        0,
    )
    event_start = np.where(
        has_event, rng.integers(min(56, days - 1), max(57, days - 20), n), -1
    ).clip(max=days - 1)

    hrv_mu = np.exp(rng.uniform(np.log(22), np.log(75), n))
    steps_mu = rng.uniform(3000, 12000, n)
    return Draws(
        n=n,
        days=days,
        vendor=vendor,
        second_vendor=second,
        device_change_day=change_day,
        device_hrv_factor=hrv_factor,
        device_sleep_shift=sleep_shift,
        home_zone=np.array(HOME_ZONES)[rng.integers(0, len(HOME_ZONES), n)],
        sleep_mu=rng.uniform(360, 510, n),
        sleep_sd=rng.uniform(35, 60, n),
        mid_mu=rng.uniform(900, 1020, n),
        mid_sd=rng.uniform(25, 45, n),
        eff_mu=rng.uniform(0.86, 0.94, n),
        hrv_mu=hrv_mu,
        hrv_sd=hrv_mu * rng.uniform(0.10, 0.18, n),
        rhr_mu=rng.uniform(50, 75, n),
        rhr_sd=rng.uniform(1.5, 3.0, n),
        steps_mu=steps_mu,
        steps_sd=steps_mu * rng.uniform(0.2, 0.35, n),
        phi=rng.uniform(0.2, 0.6, n),
        weekend_sleep=rng.uniform(20, 60, n),
        weekend_mid=rng.uniform(30, 90, n),
        onset_day=onset,
        ramp_days=ramp,
        plateau_days=rng.integers(42, 85, n),
        recovery_days=rng.integers(14, 29, n),
        sleep_up=rng.random(n) < 0.4,
        effect_z=effect,
        phq_cross_day=cross,
        phq_base=rng.uniform(0.5, 3.5, n),
        phq_peak=rng.uniform(12, 20, n),
        event=event,
        event_start=event_start,
        event_days=event_days,
        miss_rate=rng.uniform(0.02, 0.12, n),
    )
