"""What one vendor writer is handed: one patient's sleep periods and daily values recorded by
that vendor's devices, with the zone and offset of every date."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import polars as pl

from simulate.cohort import Cohort


@dataclass(frozen=True)
class PatientRecords:
    patient_id: str
    vendor: str
    home_zone: str
    #: cohort.periods rows of this patient and vendor (UTC instants, whole minutes)
    periods: pl.DataFrame
    #: one row per date the vendor was in use: date, device, zone, utc_offset_min (at local
    #: noon), hrv_ms, resting_hr_bpm, steps (nulls when not recorded)
    daily: pl.DataFrame
    rng: np.random.Generator


def patient_records(cohort: Cohort) -> dict[tuple[str, str], PatientRecords]:
    """Every (patient, vendor) pair's records, in patient order."""
    daily = cohort.days_frame.join(
        cohort.nights.select(
            "patient_id",
            "date",
            pl.coalesce("hrv_sdnn_ms", "hrv_rmssd_ms").alias("hrv_ms"),
            "resting_hr_bpm",
            "steps",
        ),
        on=["patient_id", "date"],
    )
    homes = dict(zip(cohort.patients["patient_id"], cohort.patients["home_zone"], strict=True))
    periods = cohort.periods.partition_by("patient_id", "vendor", as_dict=True)
    out: dict[tuple[str, str], PatientRecords] = {}
    for index, ((pid, vendor), days) in enumerate(
        sorted(daily.partition_by("patient_id", "vendor", as_dict=True).items())
    ):
        key = (str(pid), str(vendor))
        out[key] = PatientRecords(
            patient_id=key[0],
            vendor=key[1],
            home_zone=homes[key[0]],
            periods=periods.get((pid, vendor), cohort.periods.clear()),
            daily=days.sort("date"),
            rng=np.random.default_rng([cohort.seed, index]),
        )
    return out


def offset_text(offset_min: int) -> str:
    """``+02:00`` / ``-04:00``."""
    sign = "-" if offset_min < 0 else "+"
    return f"{sign}{abs(offset_min) // 60:02d}:{abs(offset_min) % 60:02d}"


def local_iso(moment: datetime, offset_min: int) -> str:
    """A UTC instant as local ISO 8601 with its offset: ``2025-03-01T23:12:00+01:00``."""
    local = moment.replace(tzinfo=None) + timedelta(minutes=offset_min)
    return local.strftime("%Y-%m-%dT%H:%M:%S") + offset_text(offset_min)
