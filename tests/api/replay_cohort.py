"""A small cohort folder in real export formats, written from a seeded simulation.

Each patient gets a Garmin Connect export (sleepData and UDS files, as the watch's GDPR export
lays them out) and a PHQ-9 JSON file, written from ``simulate`` truth; ``labels.csv`` holds
the true relapse onsets. Small and quick, so replay tests do not depend on the vendor writers.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path

import polars as pl

from simulate import simulate_cohort

WELLNESS = Path("DI_CONNECT/DI-Connect-Wellness")
AGGREGATOR = Path("DI_CONNECT/DI-Connect-Aggregator")


def _gmt(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.0")


def garmin_records(nights: pl.DataFrame) -> tuple[list[dict], list[dict]]:
    """(sleepData records, UDS records) for one patient's truth nights."""
    sleep: list[dict] = []
    days: list[dict] = []
    for night in nights.sort("date").iter_rows(named=True):
        day: date = night["date"]
        offset = timedelta(minutes=night["utc_offset_min"] or 0)
        local_midnight = datetime.combine(day, datetime.min.time())
        if night["has_sleep"] and night["sleep_main_min"]:
            onset = (
                local_midnight - timedelta(hours=12) + timedelta(minutes=night["sleep_onset_min"])
            )
            asleep = round(night["sleep_main_min"] * 60)
            start = onset - offset
            sleep.append(
                {
                    "sleepStartTimestampGMT": _gmt(start),
                    "sleepEndTimestampGMT": _gmt(start + timedelta(seconds=asleep)),
                    "calendarDate": day.isoformat(),
                    "sleepWindowConfirmationType": "ENHANCED_CONFIRMED_FINAL",
                    "deepSleepSeconds": asleep // 5,
                    "lightSleepSeconds": asleep - 2 * (asleep // 5),
                    "remSleepSeconds": asleep // 5,
                    "awakeSleepSeconds": 0,
                    "retro": False,
                }
            )
        if night["has_steps"] or night["has_resting_hr"]:
            days.append(
                {
                    "userProfilePK": 1,
                    "calendarDate": day.isoformat(),
                    "durationInMilliseconds": 86_400_000,
                    "totalSteps": round(night["steps"]) if night["has_steps"] else None,
                    "restingHeartRate": (
                        round(night["resting_hr_bpm"]) if night["has_resting_hr"] else None
                    ),
                    "includesWellnessData": True,
                    "wellnessStartTimeGmt": _gmt(local_midnight - offset),
                    "wellnessStartTimeLocal": _gmt(local_midnight),
                    "wellnessEndTimeGmt": _gmt(local_midnight - offset + timedelta(days=1)),
                    "wellnessEndTimeLocal": _gmt(local_midnight + timedelta(days=1)),
                }
            )
    return sleep, days


def phq9_records(entries: pl.DataFrame) -> list[dict]:
    return [
        {
            "patient_id": row["patient_id"],
            "answered_at": row["answered_at"].isoformat(),
            "items": [row[f"item_{i}"] for i in range(1, 10)],
            "difficulty": row["difficulty"],
        }
        for row in entries.sort("answered_at").iter_rows(named=True)
    ]


def write_garmin_cohort(out: Path, *, patients: int, days: int, seed: int) -> Path:
    """Writes the cohort under ``out`` and returns ``out``."""
    cohort = simulate_cohort(patients, days, seed)
    for pid in cohort.patient_ids:
        folder = out / pid
        (folder / WELLNESS).mkdir(parents=True)
        (folder / AGGREGATOR).mkdir(parents=True)
        sleep, uds = garmin_records(cohort.nights.filter(pl.col("patient_id") == pid))
        first, last = cohort.start, cohort.start + timedelta(days=days - 1)
        span = f"{first}_{last}"
        (folder / WELLNESS / f"{span}_1_sleepData.json").write_text(json.dumps(sleep, indent=1))
        (folder / AGGREGATOR / f"UDSFile_{span}.json").write_text(json.dumps(uds, indent=1))
        entries = phq9_records(cohort.phq9.filter(pl.col("patient_id") == pid))
        (folder / "phq9.json").write_text(json.dumps(entries, indent=1))
    cohort.labels.write_csv(out / "labels.csv")
    return out
