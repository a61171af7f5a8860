"""Time the Fitbit parsers on a Takeout-sized export (run on demand, never in tests).

Writes ``benchmarks/data/fitbit_takeout/`` (git-ignored): ``--days`` days of per-day
``heart_rate-*.json`` (a reading every 5 seconds, pretty-printed as Fitbit writes it), monthly
``steps-*.json`` (every minute), ``sleep-*.json`` logs with stages and short wakes,
``resting_heart_rate-*.json`` and one ``UserSleeps`` file, then loads the folder twice: every
metric, and only the nights metrics (heart rate files skipped unread).

    .venv/bin/python benchmarks/fitbit/run.py --days 90
"""

from __future__ import annotations

import argparse
import json
import random
import time
from datetime import datetime, timedelta
from pathlib import Path

from ingest.load import load
from ingest.nights import NIGHTS_METRICS, build_nights

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "benchmarks" / "data" / "fitbit_takeout"
FIRST = datetime(2024, 1, 1)
OFFSET_H = -5
US = "%m/%d/%y %H:%M:%S"


def _pretty(records: list[dict[str, object]]) -> str:
    # Fitbit's own layout: "key" : value, two-space indents, records joined by "},{"
    return json.dumps(records, indent=2, separators=(",", " : "))


def write_export(days: int, rng: random.Random) -> Path:
    data = OUT / "Fitbit" / "Global Export Data"
    data.mkdir(parents=True, exist_ok=True)
    (OUT / "Fitbit" / "Health Fitness Data_GoogleData").mkdir(parents=True, exist_ok=True)
    sessions, logs, resting, steps = [], [], [], []
    for d in range(days):
        day = FIRST + timedelta(days=d)
        beats = [
            {
                "dateTime": (day + timedelta(seconds=s)).strftime(US),
                "value": {"bpm": 55 + rng.randrange(40), "confidence": rng.randrange(4)},
            }
            for s in range(0, 86_400, 5)
        ]
        (data / f"heart_rate-{day:%Y-%m-%d}.json").write_text(_pretty(beats))
        steps += [
            {"dateTime": (day + timedelta(minutes=m)).strftime(US), "value": str(rng.randrange(90))}
            for m in range(1440)
        ]
        resting.append(
            {
                "dateTime": day.strftime("%m/%d/%y 00:00:00"),
                "value": {"date": day.strftime("%m/%d/%y"), "value": 60.0, "error": 8.0},
            }
        )
        start = day - timedelta(hours=1)  # 23:00 local the evening before
        segments, cursor = [], start
        while cursor < start + timedelta(hours=7, minutes=30):
            level = rng.choice(["light", "light", "deep", "rem", "wake"])
            seconds = 30 * rng.randrange(4, 60)
            segments.append(
                {"dateTime": cursor.isoformat() + ".000", "level": level, "seconds": seconds}
            )
            cursor += timedelta(seconds=seconds)
        logs.append(
            {
                "logId": 40_000_000_000 + d,
                "dateOfSleep": day.strftime("%Y-%m-%d"),
                "startTime": start.isoformat() + ".000",
                "endTime": cursor.isoformat() + ".000",
                "minutesAsleep": 0,
                "type": "stages",
                "levels": {"data": segments, "shortData": []},
                "mainSleep": True,
            }
        )
        utc = start - timedelta(hours=OFFSET_H)
        end = cursor - timedelta(hours=OFFSET_H)
        sessions.append(
            f"{d},STAGES,450,0,0,420,30,0,0,-05:00,{utc:%Y-%m-%d %H:%M:%S}+0000,-05:00,"
            f"{end:%Y-%m-%d %H:%M:%S}+0000,DERIVED,sleep_session_v2,,"
        )
    for m in range(0, days, 30):
        first = FIRST + timedelta(days=m)
        chunk = slice(m, m + 30)
        (data / f"sleep-{first:%Y-%m-%d}.json").write_text(_pretty(logs[chunk][::-1]))
        (data / f"resting_heart_rate-{first:%Y-%m-%d}.json").write_text(_pretty(resting[chunk]))
        minutes = slice(m * 1440, (m + 30) * 1440)
        (data / f"steps-{first:%Y-%m-%d}.json").write_text(_pretty(steps[minutes]))
    header = (
        "sleep_id,sleep_type,minutes_in_sleep_period,minutes_after_wake_up,minutes_to_fall_asleep,"
        "minutes_asleep,minutes_awake,minutes_longest_awakening,minutes_to_persistent_sleep,"
        "start_utc_offset,sleep_start,end_utc_offset,sleep_end,data_source,algorithm_version,"
        "sleep_created,sleep_last_updated"
    )
    users = OUT / "Fitbit" / "Health Fitness Data_GoogleData" / "UserSleeps_2024-01-01.csv"
    users.write_text("\n".join([header, *sessions]) + "\n")
    return OUT


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=int, default=90)
    args = parser.parse_args()
    root = write_export(args.days, random.Random(7))
    files = [p for p in root.rglob("*") if p.is_file()]
    size = sum(p.stat().st_size for p in files)
    print(f"export: {args.days} days, {size / 1e6:.0f} MB in {len(files)} files")
    for label, metrics in (("all metrics", None), ("nights metrics", NIGHTS_METRICS)):
        began = time.perf_counter()
        loaded = load(root, patient_id="bench", metrics=metrics)
        loaded_at = time.perf_counter()
        nights = build_nights(loaded.samples)
        done = time.perf_counter()
        rate = size / 1e6 / (loaded_at - began)
        print(
            f"{label}: load {loaded_at - began:.2f} s ({rate:.0f} MB/s),"
            f" {loaded.samples.height} samples; build_nights {done - loaded_at:.2f} s,"
            f" {nights.height} nights"
        )


if __name__ == "__main__":
    main()
