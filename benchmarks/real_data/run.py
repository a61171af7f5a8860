"""How phenowatch reads real exports it did not write: PMData (8 people, Fitbit, files exactly as
published) and the public samples, from ../shared (run on demand, never in tests).

For every PMData person: loaded or refused, files not read, records skipped by reason, and the
agreement of the nights table with Fitbit's own figures in the same files:

* sleep: ``sleep_total_min`` against the sum of ``minutesAsleep`` per ``dateOfSleep`` (each
  ``logId`` once), within 1 minute;
* resting heart rate: ``resting_hr_bpm`` against ``value.value`` of each dated day, within 0.01;
* steps: ``steps`` against the sum of the minute counts of each date (p03, the only one of the
  eight with ``steps.json``), exactly.

Every public sample file is loaded on its own as well. Results go to
benchmarks/results/real_data.md.

    .venv/bin/python benchmarks/real_data/run.py
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import date, datetime
from pathlib import Path

from ingest import build_nights, load
from ingest.errors import IngestError
from ingest.read_report import by_reason

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared"
PMDATA = SHARED / "real-data" / "pmdata"
SAMPLES = SHARED / "public-samples"
RESULTS = ROOT / "benchmarks" / "results" / "real_data.md"


def _share(hits: int, total: int) -> str:
    return f"{hits} of {total} ({100 * hits / total:.1f}%)" if total else "none"


def pmdata() -> list[str]:
    loaded_people, refused_people, unread = 0, [], Counter[str]()
    reasons: Counter[str] = Counter()
    sleep = [0, 0]
    resting = [0, 0]
    steps = [0, 0]
    for folder in sorted(p for p in PMDATA.iterdir() if p.is_dir()):
        try:
            loaded = load(folder, patient_id=folder.name)
        except IngestError as error:
            refused_people.append(f"{folder.name}: {error}")
            continue
        loaded_people += 1
        unread.update(Path(name).name for name in loaded.skipped)
        unread.update(Path(name).name + " (refused)" for name, _ in loaded.refused)
        reasons.update(by_reason(loaded.warnings))
        nights = build_nights(loaded.samples)
        fitbit = folder / "fitbit"
        logs = {log["logId"]: log for log in json.loads((fitbit / "sleep.json").read_text())}
        asleep: dict[date, float] = {}
        for log in logs.values():
            day = date.fromisoformat(log["dateOfSleep"])
            asleep[day] = asleep.get(day, 0.0) + log["minutesAsleep"]
        got = dict(nights.select("date", "sleep_total_min").drop_nulls().iter_rows())
        sleep[0] += sum(abs(got.get(d, -1e9) - m) <= 1 for d, m in asleep.items())
        sleep[1] += len(asleep)
        days = json.loads((fitbit / "resting_heart_rate.json").read_text())
        expected = {
            datetime.strptime(d["value"]["date"], "%m/%d/%y").date(): d["value"]["value"]
            for d in days
            if d["value"]["date"] and d["value"]["value"] > 0
        }
        got = dict(nights.select("date", "resting_hr_bpm").drop_nulls().iter_rows())
        resting[0] += sum(abs(got.get(d, -1e9) - v) <= 0.01 for d, v in expected.items())
        resting[1] += len(expected)
        if (fitbit / "steps.json").is_file():
            minutes: dict[date, float] = {}
            for minute in json.loads((fitbit / "steps.json").read_text()):
                day = date.fromisoformat(minute["dateTime"][:10])
                minutes[day] = minutes.get(day, 0.0) + float(minute["value"])
            got = dict(nights.select("date", "steps").drop_nulls().iter_rows())
            steps[0] += sum(got.get(d) == v for d, v in minutes.items())
            steps[1] += len(minutes)
    lines = [
        "## PMData (8 people, Fitbit Versa 2, Norway, 2019-11 to 2020-03)",
        "",
        f"- People loaded: **{loaded_people} of {loaded_people + len(refused_people)}**"
        + (f"; refused: {'; '.join(refused_people)}" if refused_people else "; none refused."),
        "- Files not read: "
        + (", ".join(f"{name} ×{n}" for name, n in sorted(unread.items())) or "none")
        + " (PMSys questionnaires, not a wearable export).",
        "- Records skipped, by reason (each reported with its file and an example record):",
        *(f"  - {reason}: {n}" for reason, n in sorted(reasons.items())),
        "",
        "| agreement with Fitbit's own figures | person-dates |",
        "|---|---:|",
        f"| sleep = `minutesAsleep` per `dateOfSleep`, within 1 min | {_share(*sleep)} |",
        f"| resting heart rate = `value.value` | {_share(*resting)} |",
        f"| steps = sum of the minute counts (p03) | {_share(*steps)} |",
        "",
    ]
    return lines


def public_samples() -> list[str]:
    files = sorted(p for p in SAMPLES.rglob("*") if p.is_file() and p.name != "SOURCES.md")
    read, left = 0, []
    for path in files:
        try:
            loaded = load(path)
            read += 1
        except IngestError as error:
            left.append(f"{path.relative_to(SAMPLES)}: {error.message}")
            continue
        left += [w.sentence().replace(f"{SAMPLES}/", "") for w in loaded.warnings]
    return [
        "## Public samples (../shared/public-samples)",
        "",
        f"- Files read: **{read} of {len(files)}**; not read: "
        + ("; ".join(left) if left else "none")
        + ".",
        "",
    ]


def main() -> None:
    lines = [
        "# Real exports, whole: how phenowatch reads data it did not write",
        "",
        *pmdata(),
        *public_samples(),
        "Reproduce: `.venv/bin/python benchmarks/real_data/run.py` (reads ../shared).",
        "",
    ]
    RESULTS.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
