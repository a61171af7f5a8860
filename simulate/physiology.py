"""The latent physiology of a simulated cohort, night by night, as (patients × days) arrays.

Each metric is the person's baseline, plus a weekly rhythm (longer, later sleep on nights that
end on Saturday or Sunday), plus AR(1) night-to-night noise, plus the slow moves of a relapse
(a ramp over 1–3 weeks, a plateau, a recovery), a life event, or a device change. Effects of a
relapse are sized in SDs of the person's own noise (0.8–2 SD), so detecting them is possible
but not trivial.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulate.patients import Draws

SLEEP, HRV, RHR, STEPS = range(4)


@dataclass(frozen=True)
class Latent:
    """Nightly values before clocks, devices and rounding; arrays of shape (patients, days)."""

    asleep_min: np.ndarray  # asleep minutes of the main sleep
    efficiency: np.ndarray  # asleep / in bed
    midpoint_min: np.ndarray  # local clock, minutes from noon of the previous day
    hrv_ms: np.ndarray
    rhr_bpm: np.ndarray
    steps: np.ndarray
    relapse: np.ndarray  # 0..1: how far into the relapse the patient is
    worn: np.ndarray  # bool: the device recorded that night/day


def ar1_noise(rng: np.random.Generator, phi: np.ndarray, sd: np.ndarray, days: int) -> np.ndarray:
    """AR(1) noise with per-patient coefficient and marginal SD."""
    shocks = rng.standard_normal((phi.size, days)) * (sd * np.sqrt(1 - phi**2))[:, None]
    out = np.empty_like(shocks)
    out[:, 0] = shocks[:, 0] / np.sqrt(1 - phi**2)
    # a recursion over days, vectorised across patients
    for t in range(1, days):
        out[:, t] = phi * out[:, t - 1] + shocks[:, t]
    return out


def relapse_profile(d: Draws) -> np.ndarray:
    t = np.arange(d.days)[None, :]
    onset = d.onset_day[:, None]
    up = np.clip((t - onset) / d.ramp_days[:, None], 0, 1)
    down_start = onset + d.ramp_days[:, None] + d.plateau_days[:, None]
    down = np.clip((t - down_start) / d.recovery_days[:, None], 0, 1)
    return np.where(onset >= 0, up * (1 - down), 0.0)


def event_profile(d: Draws, kind: str) -> np.ndarray:
    t = np.arange(d.days)[None, :]
    start = d.event_start[:, None]
    length = np.maximum(d.event_days[:, None], 1)
    inside = (t >= start) & (t < start + length) & (d.event[:, None] == kind)
    if kind == "new_baby":  # worst at first, easing over the weeks
        return np.where(inside, 1 - 0.6 * (t - start) / length, 0.0)
    return inside.astype(float)


def wear_mask(d: Draws, rng: np.random.Generator) -> np.ndarray:
    worn = rng.random((d.n, d.days)) >= d.miss_rate[:, None]
    runs = rng.poisson(1.5 * d.days / 365, d.n)
    for p in np.nonzero(runs)[0]:  # a handful of gaps per patient
        for _ in range(runs[p]):
            start = rng.integers(0, d.days)
            worn[p, start : start + rng.integers(3, 15)] = False
    return worn


def col(per_patient: np.ndarray) -> np.ndarray:
    """A per-patient array as a column, to broadcast over days."""
    return per_patient[:, None]


def latent(d: Draws, rng: np.random.Generator, weekday: np.ndarray) -> Latent:
    """``weekday`` (days,) is the ISO weekday of each wake date (6, 7: Saturday, Sunday)."""
    weekend = np.isin(weekday, (6, 7))[None, :].astype(float)
    relapse = relapse_profile(d)
    z = d.effect_z
    baby, shift, ill = (event_profile(d, k) for k in ("new_baby", "shift_work", "illness"))
    after_change = (d.device_change_day[:, None] >= 0) & (
        np.arange(d.days)[None, :] >= d.device_change_day[:, None]
    )

    sleep_dir = np.where(d.sleep_up, 1.0, -1.0)
    asleep = (
        col(d.sleep_mu)
        + weekend * col(d.weekend_sleep)
        + ar1_noise(rng, d.phi, d.sleep_sd, d.days)
        + relapse * col(sleep_dir * z[:, SLEEP] * d.sleep_sd)
        - baby * 80
        - shift * 45
        + ill * 60
        + after_change * col(d.device_sleep_shift)
    )
    # shorter sleep in a relapse is also broken sleep: lower efficiency, later midpoint
    broken = relapse * col(np.where(d.sleep_up, 0.0, z[:, SLEEP]))
    efficiency = (
        col(d.eff_mu)
        + ar1_noise(rng, d.phi, np.full(d.n, 0.025), d.days)
        - 0.04 * broken
        - 0.08 * baby
    )
    midpoint = (
        col(d.mid_mu)
        + weekend * col(d.weekend_mid)
        + ar1_noise(rng, d.phi, d.mid_sd, d.days)
        + 25 * broken
        + shift * 300
    )
    hrv = (
        col(d.hrv_mu)
        + ar1_noise(rng, d.phi, d.hrv_sd, d.days)
        - relapse * col(z[:, HRV] * d.hrv_sd)
        - ill * col(1.5 * d.hrv_sd)
        - baby * col(0.5 * d.hrv_sd)
    ) * np.where(after_change, col(d.device_hrv_factor), 1.0)
    rhr = (
        col(d.rhr_mu)
        + ar1_noise(rng, d.phi, d.rhr_sd, d.days)
        + relapse * col(z[:, RHR] * d.rhr_sd)
        + ill * col(2.5 * d.rhr_sd)
        + after_change * np.where(col(d.device_hrv_factor) > 1, -1.0, 1.0)
    )
    steps = (
        col(d.steps_mu) * (1 + weekend * 0.1)
        + ar1_noise(rng, d.phi, d.steps_sd, d.days)
        - relapse * col(z[:, STEPS] * d.steps_sd)
        - ill * col(0.5 * d.steps_mu)
    )
    return Latent(
        asleep_min=np.clip(asleep, 150, 780),
        efficiency=np.clip(efficiency, 0.6, 0.98),
        midpoint_min=np.clip(midpoint, 720, 1380),
        hrv_ms=np.clip(hrv, 6, 200),
        rhr_bpm=np.clip(rhr, 38, 110),
        steps=np.clip(steps, 150, 40000),
        relapse=relapse,
        worn=wear_mask(d, rng),
    )
