"""Oura: the documents of the Oura API v2, as a collector saves them (``oura/oura_data.json``):
``{"sleep": {"data": [...]}, "daily_activity": {"data": [...]}, "daily_sleep": {...}}``, each
``data`` exactly as ``/v2/usercollection/<endpoint>`` returns it.

* ``sleep``: one document per sleep period. ``bedtime_start``/``bedtime_end`` in local time with
  the offset (``2025-03-01T23:12:00+01:00``), ``day`` the wake date, durations in seconds,
  ``sleep_phase_5_min`` (1 deep, 2 light, 3 REM, 4 awake, one digit per 5 minutes from
  ``bedtime_start``), ``average_hrv`` (RMSSD, ms) and ``lowest_heart_rate``; the main sleep is
  ``type: "long_sleep"``, a nap ``"late_nap"``.
* ``daily_activity``: one document per worn day with ``steps`` and ``day``.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from ingest.formats.oura import EPOCH, MAIN_SLEEP, NAP, PHASES
from simulate.writers.records import PatientRecords, local_iso, offset_text
from simulate.writers.stages import AWAKE, CORE, DEEP, REM, hypnogram, vendor_words

EPOCH_MIN = EPOCH // timedelta(minutes=1)
#: the hypnogram's digit for each stage, as the reader knows them (ingest.formats.oura)
PHASE = vendor_words(PHASES)


def _id(rng: np.random.Generator) -> str:
    return str(uuid.UUID(bytes=rng.bytes(16), version=4))


def _minutes(a: datetime, b: datetime) -> int:
    return round((b - a).total_seconds() / 60)


def _sleep_doc(
    night: dict[str, Any], day: dict[str, Any], rng: np.random.Generator
) -> dict[str, Any]:
    latency = _minutes(night["in_bed_at"], night["asleep_at"])
    after = _minutes(night["wake_at"], night["out_of_bed_at"])
    epochs = hypnogram(night["asleep_min"] // EPOCH_MIN, night["awake_min"] // EPOCH_MIN, rng)
    phases = (
        PHASE[AWAKE] * (latency // EPOCH_MIN)
        + "".join(PHASE[stage] * n for stage, n in epochs)
        + PHASE[AWAKE] * (after // EPOCH_MIN)
    )
    seconds = {s: 60 * EPOCH_MIN * sum(n for st, n in epochs if st == s) for s in PHASE}
    in_bed = _minutes(night["in_bed_at"], night["out_of_bed_at"])
    main = night["main"]
    rhr = day["resting_hr_bpm"]
    offset = night["utc_offset_min"]
    return {
        "id": _id(rng),
        "average_breath": round(float(rng.normal(14.5, 0.6)), 3),
        "average_heart_rate": None if rhr is None else round(rhr + float(rng.uniform(3, 7)), 3),
        "average_hrv": None if not main or day["hrv_ms"] is None else int(day["hrv_ms"]),
        "awake_time": 60 * (in_bed - night["asleep_min"]),
        "bedtime_end": local_iso(night["out_of_bed_at"], offset),
        "bedtime_start": local_iso(night["in_bed_at"], offset),
        "day": night["date"].isoformat(),
        "deep_sleep_duration": seconds[DEEP],
        "efficiency": round(100 * night["asleep_min"] / in_bed),
        "latency": 60 * latency,
        "light_sleep_duration": seconds[CORE],
        "low_battery_alert": False,
        "lowest_heart_rate": None if not main or rhr is None else int(rhr),
        "period": 0 if main else 1,
        "readiness_score_delta": None,
        "rem_sleep_duration": seconds[REM],
        "restless_periods": int(rng.integers(80, 300)) if main else int(rng.integers(0, 20)),
        "sleep_phase_5_min": phases,
        "sleep_score_delta": None,
        "sleep_algorithm_version": "v2",
        "time_in_bed": 60 * in_bed,
        "total_sleep_duration": 60 * night["asleep_min"],
        "type": MAIN_SLEEP if main else NAP,
    }


def _activity_doc(day: dict[str, Any], rng: np.random.Generator) -> dict[str, Any]:
    steps = int(day["steps"])
    four_am = datetime.combine(day["date"], datetime.min.time()) + timedelta(hours=4)
    return {
        "id": _id(rng),
        "score": int(np.clip(60 + steps / 400, 40, 99)),
        "active_calories": int(steps * 0.045),
        "equivalent_walking_distance": int(steps * 0.8),
        "non_wear_time": 0,
        "steps": steps,
        "target_calories": 500,
        "total_calories": int(2000 + steps * 0.045),
        "day": day["date"].isoformat(),
        "timestamp": four_am.strftime("%Y-%m-%dT%H:%M:%S") + offset_text(day["utc_offset_min"]),
    }


def write(folder: Path, rec: PatientRecords) -> list[Path]:
    out = folder / "oura"
    out.mkdir(parents=True, exist_ok=True)
    days = {d["date"]: d for d in rec.daily.to_dicts()}
    sleep = [_sleep_doc(n, days[n["date"]], rec.rng) for n in rec.periods.to_dicts()]
    activity = [_activity_doc(d, rec.rng) for d in days.values() if d["steps"] is not None]
    document = {
        "sleep": {"data": sleep, "next_token": None},
        "daily_activity": {"data": activity, "next_token": None},
    }
    path = out / "oura_data.json"
    path.write_text(json.dumps(document))
    return [path]
