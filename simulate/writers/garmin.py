"""Garmin Connect data export: the ``DI_CONNECT`` folders of a GDPR export.

* ``DI-Connect-Wellness/<first>_<last>_<user>_sleepData.json``: one record per night with the
  sleep window in GMT written without a zone (``2023-08-15T22:40:00.0``), ``calendarDate`` the
  wake date, and stage totals in seconds (deep, light, REM, awake), plus the scores and
  respiration fields real exports carry.
* ``DI-Connect-Aggregator/UDSFile_<first>_<last>.json``: one record per day with
  ``totalSteps``, ``restingHeartRate`` and the day's local midnight in local time and GMT.

Files cover about 100 days each, as Garmin splits them. Like the real export this one holds no
HRV (``*_healthStatusData.json`` appears only in newer exports).
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from ingest.formats import garmin
from simulate.writers.records import PatientRecords
from simulate.writers.stages import AWAKE, CORE, DEEP, REM, hypnogram, vendor_words

CHUNK_DAYS = 100
USER_PK = 115618364
GMT = garmin.TIME_WRITTEN
#: the stage totals' field names, as the reader knows them (ingest.formats.garmin)
STAGE_SECONDS = vendor_words(dict(garmin.STAGES))


def _sleep_record(night: dict[str, Any], rng: np.random.Generator) -> dict[str, Any]:
    stages = hypnogram(night["asleep_min"], night["awake_min"], rng)
    seconds = {s: 60 * sum(m for st, m in stages if st == s) for s in (CORE, DEEP, REM, AWAKE)}
    awakenings = sum(1 for stage, _ in stages if stage == AWAKE)
    score = int(np.clip(55 + night["asleep_min"] / 20 - awakenings * 3, 30, 98))
    return {
        garmin.SLEEP_START: night["asleep_at"].strftime(GMT),
        garmin.SLEEP_END: night["wake_at"].strftime(GMT),
        garmin.CALENDAR_DATE: night["date"].isoformat(),
        "sleepWindowConfirmationType": "ENHANCED_CONFIRMED_FINAL",
        **{STAGE_SECONDS[stage]: seconds[stage] for stage in (DEEP, CORE, REM, AWAKE)},
        "unmeasurableSeconds": 0,
        "averageRespiration": float(round(rng.normal(14.5, 0.8))),
        "lowestRespiration": float(round(rng.normal(10, 0.8))),
        "highestRespiration": float(round(rng.normal(19, 1.0))),
        "retro": False,
        "awakeCount": awakenings,
        "avgSleepStress": round(float(rng.uniform(5, 25)), 2),
        "sleepScores": {
            "overallScore": score,
            "qualityScore": max(30, score - 3),
            "durationScore": int(min(100, night["asleep_min"] / 4.8)),
            "feedback": "POSITIVE_LONG_AND_DEEP" if score > 75 else "NEGATIVE_NOT_RESTORATIVE",
            "insight": "NONE",
        },
        "restlessMomentCount": int(rng.integers(15, 60)),
    }


def _uds_record(day: dict[str, Any], rng: np.random.Generator) -> dict[str, Any]:
    local = datetime.combine(day["date"], datetime.min.time())
    gmt = local - timedelta(minutes=day["midnight_offset_min"])
    worn = day["steps"] is not None
    steps = int(day["steps"]) if worn else None
    rhr = int(day["resting_hr_bpm"]) if day["resting_hr_bpm"] is not None else None
    return {
        "userProfilePK": USER_PK,
        garmin.CALENDAR_DATE: day["date"].isoformat(),
        "uuid": f"{rng.integers(0, 2**63):032x}"[-32:],
        "durationInMilliseconds": 86400000,
        "totalKilocalories": float(round(1900 + (steps or 0) * 0.04)),
        "activeKilocalories": float(round((steps or 0) * 0.04)),
        garmin.STEPS: steps,
        "dailyStepGoal": 7500,
        "totalDistanceMeters": int((steps or 0) * 0.78),
        garmin.DAY_START_GMT: gmt.strftime(GMT),
        "wellnessEndTimeGmt": (gmt + timedelta(days=1)).strftime(GMT),
        garmin.DAY_START_LOCAL: local.strftime(GMT),
        "wellnessEndTimeLocal": (local + timedelta(days=1)).strftime(GMT),
        "minHeartRate": None if rhr is None else rhr - 4,
        "maxHeartRate": None if rhr is None else rhr + int(rng.integers(40, 90)),
        garmin.RESTING_HEART_RATE: rhr,
        "currentDayRestingHeartRate": rhr,
        garmin.WORN: worn,
        "includesActivityData": False,
        "source": 0,
    }


def _chunks(first: date, last: date) -> list[tuple[date, date]]:
    spans = []
    while first <= last:
        end = min(last, first + timedelta(days=CHUNK_DAYS - 1))
        spans.append((first, end))
        first = end + timedelta(days=1)
    return spans


def write(folder: Path, rec: PatientRecords) -> list[Path]:
    wellness = folder / "DI_CONNECT" / "DI-Connect-Wellness"
    aggregator = folder / "DI_CONNECT" / "DI-Connect-Aggregator"
    wellness.mkdir(parents=True, exist_ok=True)
    aggregator.mkdir(parents=True, exist_ok=True)
    nights = rec.periods.filter(rec.periods["main"]).to_dicts()
    days = rec.daily.to_dicts()
    paths = []
    for first, last in _chunks(days[0]["date"], days[-1]["date"]):
        span = f"{first}_{last}"
        sleep = [_sleep_record(n, rec.rng) for n in nights if first <= n["date"] <= last]
        uds = [_uds_record(d, rec.rng) for d in days if first <= d["date"] <= last]
        sleep_path = wellness / f"{span}_{USER_PK}{garmin.SLEEP_DATA_SUFFIX}"
        uds_path = aggregator / f"{garmin.UDS_PREFIX}{span}.json"
        sleep_path.write_text(json.dumps(sleep[::-1]))  # Garmin lists newest first
        uds_path.write_text(json.dumps(uds))
        paths += [sleep_path, uds_path]
    return paths
