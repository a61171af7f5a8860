"""Fitbit, as its part of a Google Takeout (``Fitbit/`` and its sub-folders).

* ``Global Export Data/sleep-<first day>.json``: one file per 30 days, newest log first. Main
  sleeps are ``stages`` logs (``levels.data`` of ``wake``/``light``/``deep``/``rem`` segments,
  naive local times, the time in bed starting and ending awake); naps are ``classic`` logs.
* ``Health Fitness Data_GoogleData/UserSleeps_<first day>.csv``: the same sessions in UTC with
  their offsets (what lets the other files be placed in time).
* ``Global Export Data/resting_heart_rate-<first day>.json``: one record a day (MM/DD/YY; a day
  without a measurement is written ``date: null, value: 0.0`` as Fitbit does).
* ``Global Export Data/steps-<first day>.json``: a few per-minute counts a day (UTC, values as
  strings); the rest of the minutes, zero, are left out to keep files small.
* ``Heart Rate Variability/Daily Heart Rate Variability Summary - <first day>.csv``: one row a
  day (``timestamp`` naive local midnight, ``rmssd``, ``nremhr``, ``entropy``).
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from ingest.formats import fitbit, fitbit_offsets, fitbit_sleep, fitbit_takeout_csv
from simulate.writers.records import PatientRecords, offset_text
from simulate.writers.stages import hypnogram, vendor_words

FILE_DAYS = 30
#: the format's words, times and names, as the readers know them (ingest.formats.fitbit*)
LEVEL = vendor_words(fitbit_sleep.LEVEL_METRICS)
LOCAL = fitbit_sleep.LOG_TIME
US = fitbit.US_DATE
USER_SLEEPS_HEADER = ",".join(fitbit_offsets.USER_SLEEPS_HEADER)
HRV_SUMMARY_HEADER = ",".join(fitbit_takeout_csv.HRV_SUMMARY)
#: per-minute step entries at these local times (hour, minute), with these shares of the day
STEP_TIMES = ((7, 13), (9, 41), (12, 5), (14, 37), (17, 22), (19, 48))
STEP_SHARES = (0.1, 0.2, 0.15, 0.2, 0.2)


def _local(moment: datetime, offset_min: int) -> datetime:
    return moment.replace(tzinfo=None) + timedelta(minutes=offset_min)


def _segments(night: dict[str, Any], rng: np.random.Generator) -> list[tuple[str, int]]:
    """(level, minutes) from getting into bed to getting up."""
    latency = round((night["asleep_at"] - night["in_bed_at"]).total_seconds() / 60)
    after = round((night["out_of_bed_at"] - night["wake_at"]).total_seconds() / 60)
    if not night["main"]:
        return [("awake", latency), ("asleep", night["asleep_min"])]
    inside = hypnogram(night["asleep_min"], night["awake_min"], rng)
    return [("wake", latency), *((LEVEL[s], m) for s, m in inside), ("wake", after)]


def _sleep_log(night: dict[str, Any], log_id: int, rng: np.random.Generator) -> dict[str, Any]:
    offset = night["utc_offset_min"]
    start = _local(night["in_bed_at"], offset)
    end = _local(night["out_of_bed_at"], offset)
    segments = [(level, m) for level, m in _segments(night, rng) if m > 0]
    data, cursor = [], start
    for level, minutes in segments:
        data.append({"dateTime": cursor.strftime(LOCAL), "level": level, "seconds": minutes * 60})
        cursor += timedelta(minutes=minutes)
    in_bed = round((end - start).total_seconds() / 60)
    levels = ("wake", "light", "deep", "rem") if night["main"] else ("restless", "awake", "asleep")
    summary = {
        level: {
            "count": sum(1 for lv, _ in segments if lv == level),
            "minutes": sum(m for lv, m in segments if lv == level),
            **({"thirtyDayAvgMinutes": 0} if night["main"] else {}),
        }
        for level in levels
    }
    return {
        "logId": log_id,
        "dateOfSleep": night["date"].isoformat(),
        "startTime": start.strftime(LOCAL),
        "endTime": end.strftime(LOCAL),
        "duration": in_bed * 60_000,
        "minutesToFallAsleep": 0,
        "minutesAsleep": night["asleep_min"],
        "minutesAwake": in_bed - night["asleep_min"],
        "minutesAfterWakeup": 0,
        "timeInBed": in_bed,
        "efficiency": round(100 * night["asleep_min"] / in_bed),
        "type": "stages" if night["main"] else "classic",
        "infoCode": 0 if night["main"] else 1,
        "logType": "auto_detected",
        "levels": {"summary": summary, "data": data, "shortData": []},
        "mainSleep": night["main"],
    }


def _user_sleep(night: dict[str, Any], log_id: int) -> str:
    offset = offset_text(night["utc_offset_min"])
    utc = fitbit_offsets.UTC_FORMAT
    in_bed = round((night["out_of_bed_at"] - night["in_bed_at"]).total_seconds() / 60)
    created = (night["out_of_bed_at"] + timedelta(minutes=3)).strftime(utc)
    return ",".join(
        str(v)
        for v in (
            log_id * 7 + 1,
            "STAGES" if night["main"] else "CLASSIC",
            in_bed,
            0,
            0,
            night["asleep_min"],
            in_bed - night["asleep_min"],
            0,
            0,
            offset,
            night["in_bed_at"].strftime(utc),
            offset,
            night["out_of_bed_at"].strftime(utc),
            "DERIVED",
            "sleep_session_v2",
            created,
            created,
        )
    )


def _resting(day: dict[str, Any], rng: np.random.Generator) -> dict[str, Any]:
    stamp = day["date"].strftime(US)
    if day["resting_hr_bpm"] is None:
        return {
            "dateTime": f"{stamp} 00:00:00",
            "value": {"date": None, "value": 0.0, "error": 0.0},
        }
    error = round(float(rng.uniform(5, 15)), 6)
    value = {"date": stamp, "value": float(day["resting_hr_bpm"]), "error": error}
    return {"dateTime": f"{stamp} 00:00:00", "value": value}


def _steps(day: dict[str, Any]) -> list[dict[str, str]]:
    if day["steps"] is None:
        return []
    total = int(day["steps"])
    parts = [int(total * share) for share in STEP_SHARES]
    parts.append(total - sum(parts))
    midnight = datetime.combine(day["date"], datetime.min.time()) - timedelta(
        minutes=day["utc_offset_min"]
    )
    return [
        {
            "dateTime": (midnight + timedelta(hours=h, minutes=m)).strftime(fitbit.US_TIME),
            "value": str(count),
        }
        for (h, m), count in zip(STEP_TIMES, parts, strict=True)
    ]


def _hrv_row(day: dict[str, Any], rng: np.random.Generator) -> str | None:
    if day["hrv_ms"] is None:
        return None
    nrem = (day["resting_hr_bpm"] or 60.0) + float(rng.uniform(2, 6))
    entropy = float(rng.uniform(2.0, 2.6))
    return f"{day['date'].isoformat()}T00:00:00,{day['hrv_ms']:.3f},{nrem:.3f},{entropy:.3f}"


def _spans(first: date, last: date) -> list[tuple[date, date]]:
    spans = []
    while first <= last:
        end = min(last, first + timedelta(days=FILE_DAYS - 1))
        spans.append((first, end))
        first = end + timedelta(days=1)
    return spans


def write(folder: Path, rec: PatientRecords) -> list[Path]:
    root = folder / "Fitbit"
    export = root / "Global Export Data"
    google = root / "Health Fitness Data_GoogleData"
    hrv_dir = root / "Heart Rate Variability"
    for d in (export, google, hrv_dir):
        d.mkdir(parents=True, exist_ok=True)
    nights = rec.periods.to_dicts()
    days = rec.daily.to_dicts()
    base_id = int(rec.rng.integers(40_000_000_000, 50_000_000_000))
    paths: list[Path] = []
    for first, last in _spans(days[0]["date"], days[-1]["date"]):
        span = [n for n in nights if first <= n["date"] <= last]
        ids = [base_id + 1000 * k for k in range(len(span))]
        base_id += 1000 * len(span) + 1
        logs = [_sleep_log(n, i, rec.rng) for n, i in zip(span, ids, strict=True)]
        sessions = [_user_sleep(n, i) for n, i in zip(span, ids, strict=True)]
        in_span = [d for d in days if first <= d["date"] <= last]
        hrv_rows = [row for d in in_span if (row := _hrv_row(d, rec.rng)) is not None]
        files = {
            export / f"sleep-{first}.json": json.dumps(logs[::-1]),
            google / f"{fitbit_offsets.USER_SLEEPS_PREFIX}_{first}.csv": "\n".join(
                [USER_SLEEPS_HEADER, *sessions]
            )
            + "\n",
            export / f"resting_heart_rate-{first}.json": json.dumps(
                [_resting(d, rec.rng) for d in in_span]
            ),
            export / f"{fitbit.STEPS_PREFIX}{first}.json": json.dumps(
                [entry for d in in_span for entry in _steps(d)]
            ),
            hrv_dir / f"{fitbit_takeout_csv.HRV_SUMMARY_PREFIX} - {first}.csv": "\n".join(
                [HRV_SUMMARY_HEADER, *hrv_rows]
            )
            + "\n",
        }
        for path, text in files.items():
            path.write_text(text)
            paths.append(path)
    return paths
