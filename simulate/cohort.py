"""`simulate_cohort`: a seeded synthetic cohort with known answers, held in memory.

The truth is what a perfect pipeline would rebuild from the patients' files: nights in the
NIGHTS schema, PHQ-9 entries in the PHQ9 schema, and labels (the true relapse onsets). The
vendor writers (``simulate.writers``) turn the same cohort into real export files.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import polars as pl

from simulate import phq9 as phq9_answers
from simulate.nights import record
from simulate.patients import draw
from simulate.physiology import latent

DEFAULT_START = date(2025, 1, 6)

LABELS = {"patient_id": pl.String(), "relapse_onset": pl.Date()}


@dataclass(frozen=True)
class Cohort:
    start: date
    days: int
    seed: int
    nights: pl.DataFrame  # ingest.schema.NIGHTS
    phq9: pl.DataFrame  # ingest.schema.PHQ9
    labels: pl.DataFrame  # patient_id, relapse_onset (null: no relapse)
    #: one row per patient: vendor(s), device change, home zone, relapse and life-event truth
    patients: pl.DataFrame
    #: one row per recorded sleep period (main sleeps and naps), UTC instants, for the writers
    periods: pl.DataFrame
    #: one row per patient and date: the vendor and device in use, the zone and its offset
    days_frame: pl.DataFrame

    @property
    def patient_ids(self) -> list[str]:
        return self.patients["patient_id"].to_list()


def patient_ids(n: int) -> list[str]:
    width = max(4, len(str(n)))
    return [f"sim{i + 1:0{width}d}" for i in range(n)]


def simulate_cohort(n_patients: int, days: int, seed: int, start: date = DEFAULT_START) -> Cohort:
    """Simulate ``n_patients`` for ``days`` nights (wake dates ``start`` …), deterministic for
    ``seed``. About half relapse; see ``simulate`` for the model."""
    rng = np.random.default_rng(seed)
    d = draw(n_patients, days, rng)
    ids = patient_ids(n_patients)
    weekday = np.array([(start + timedelta(days=k)).isoweekday() for k in range(days)])
    lat = latent(d, rng, weekday)
    rec = record(d, lat, ids, start, rng)
    noon_offset = rec.days["utc_offset_min"].to_numpy().reshape(n_patients, days)
    entries = phq9_answers.answers(d, ids, start, noon_offset, rng)

    def on(day: np.ndarray) -> list[date | None]:
        return [start + timedelta(days=int(k)) if k >= 0 else None for k in day]

    onset = on(d.onset_day)
    event_end = on(np.where(d.event_start >= 0, d.event_start + d.event_days - 1, -1))
    labels = pl.DataFrame({"patient_id": ids, "relapse_onset": onset}, schema=LABELS)
    patients = pl.DataFrame(
        {
            "patient_id": ids,
            "vendor": d.vendor,
            "second_vendor": [v or None for v in d.second_vendor],
            "device_change_on": on(d.device_change_day),
            "device_hrv_factor": np.where(d.device_change_day >= 0, d.device_hrv_factor, 1.0),
            "home_zone": d.home_zone,
            "relapse_onset": onset,
            "sleep_response": [
                None if k < 0 else ("longer" if up else "shorter, broken")
                for k, up in zip(d.onset_day, d.sleep_up, strict=True)
            ],
            "effect_sleep_sd": d.effect_z[:, 0],
            "effect_hrv_sd": d.effect_z[:, 1],
            "effect_rhr_sd": d.effect_z[:, 2],
            "effect_steps_sd": d.effect_z[:, 3],
            "life_event": [e or None for e in d.event],
            "life_event_start": on(d.event_start),
            "life_event_end": event_end,
            "trips": [
                [
                    f"{zone} {start + timedelta(days=a)}..{start + timedelta(days=a + k - 1)}"
                    for a, k, zone in trips
                ]
                for trips in rec.trips
            ],
        },
        schema_overrides={
            "relapse_onset": pl.Date,
            "device_change_on": pl.Date,
            "life_event_start": pl.Date,
            "life_event_end": pl.Date,
            "trips": pl.List(pl.String),
            "life_event": pl.String,
            "sleep_response": pl.String,
            "second_vendor": pl.String,
        },
    )
    return Cohort(
        start=start,
        days=days,
        seed=seed,
        nights=rec.nights,
        phq9=entries,
        labels=labels,
        patients=patients,
        periods=rec.periods,
        days_frame=rec.days,
    )


__all__ = ["DEFAULT_START", "LABELS", "Cohort", "simulate_cohort"]
