# ruff: noqa: E501  (XML lines are spelled out whole, as the Health app writes them)
"""Write a realistic Apple Health export.xml of a chosen size into benchmarks/data/ (git-ignored).

Two and a half years of an Apple Watch wearer in Copenhagen, as a HealthKit Export Version 14
file: the DTD header of fixtures/apple_health/export_v14.xml, then records grouped by type as
the Health app writes them. Heart rate is most of the file (a sample every ~2.4 minutes, each
with its motion-context metadata), then steps from the iPhone and the Watch, staged sleep with
HKTimeZone metadata, the resting heart rate of each day, HRV readings with their beat-level
InstantaneousBeatsPerMinute children, workouts with routes and statistics, and activity
summaries. Seeded, so two runs write the same bytes.

    .venv/bin/python benchmarks/apple_health/make_export.py --megabytes 320
"""

from __future__ import annotations

import argparse
import math
import random
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_OUT = ROOT / "benchmarks" / "data" / "apple_health_export.xml"
FIXTURE = ROOT / "fixtures" / "apple_health" / "export_v14.xml"
ZONE = ZoneInfo("Europe/Copenhagen")
FIRST_DAY = datetime(2022, 1, 1, tzinfo=ZONE)

WATCH = (
    'sourceName="Mette’s Apple Watch" sourceVersion="10.3.1" device="&lt;&lt;HKDevice: '
    "0x2816c4be0&gt;, name:Apple Watch, manufacturer:Apple Inc., model:Watch, "
    'hardware:Watch6,2, software:10.3.1&gt;"'
)
PHONE = (
    'sourceName="Mette’s iPhone" sourceVersion="17.4" device="&lt;&lt;HKDevice: '
    "0x2816c5e50&gt;, name:iPhone, manufacturer:Apple Inc., model:iPhone, "
    'hardware:iPhone14,5, software:17.4&gt;"'
)
TZ_ENTRY = '  <MetadataEntry key="HKTimeZone" value="Europe/Copenhagen"/>\n'


def stamp(moment: datetime) -> str:
    return moment.astimezone(ZONE).strftime("%Y-%m-%d %H:%M:%S %z")


def record(kind: str, source: str, unit: str, start: datetime, end: datetime, value: str) -> str:
    unit_attr = f' unit="{unit}"' if unit else ""
    return (
        f' <Record type="{kind}" {source}{unit_attr} creationDate="{stamp(end)}" '
        f'startDate="{stamp(start)}" endDate="{stamp(end)}" value="{value}"'
    )


def heart_rate(day: datetime, rng: random.Random) -> Iterator[str]:
    moment = day
    while moment < day + timedelta(days=1):
        bpm = int(58 + 25 * math.sin(moment.hour / 24 * math.pi) + rng.gauss(0, 6))
        yield record(
            "HKQuantityTypeIdentifierHeartRate", WATCH, "count/min", moment, moment, str(bpm)
        )
        yield '>\n  <MetadataEntry key="HKMetadataKeyHeartRateMotionContext" value="0"/>\n </Record>\n'
        moment += timedelta(seconds=rng.randint(100, 190))


def steps(day: datetime, rng: random.Random) -> Iterator[str]:
    moment = day + timedelta(hours=7, minutes=rng.randint(0, 50))
    while moment.hour < 22:
        end = moment + timedelta(minutes=rng.randint(2, 10))
        source = WATCH if rng.random() < 0.5 else PHONE
        yield record(
            "HKQuantityTypeIdentifierStepCount",
            source,
            "count",
            moment,
            end,
            str(rng.randint(8, 900)),
        )
        yield "/>\n"
        moment = end + timedelta(minutes=rng.randint(1, 12))


STAGES = ("AsleepCore", "AsleepDeep", "AsleepCore", "AsleepREM", "Awake")


def sleep(day: datetime, rng: random.Random) -> Iterator[str]:
    """The night that ends on ``day``: in bed from the iPhone, stages from the Watch."""
    bed = day - timedelta(minutes=rng.randint(45, 120))
    wake = day + timedelta(hours=6, minutes=rng.randint(0, 90))
    kind = "HKCategoryTypeIdentifierSleepAnalysis"
    value = "HKCategoryValueSleepAnalysisInBed"
    yield record(kind, PHONE, "", bed, wake, value) + ">\n" + TZ_ENTRY + " </Record>\n"
    moment, i = bed + timedelta(minutes=rng.randint(5, 20)), 0
    while moment < wake:
        end = min(wake, moment + timedelta(minutes=rng.randint(3, 40)))
        value = f"HKCategoryValueSleepAnalysis{STAGES[i % len(STAGES)]}"
        yield record(kind, WATCH, "", moment, end, value) + ">\n" + TZ_ENTRY + " </Record>\n"
        moment, i = end, i + 1


def resting_heart_rate(day: datetime, rng: random.Random) -> Iterator[str]:
    start, end = day + timedelta(minutes=rng.randint(1, 9)), day + timedelta(hours=23, minutes=50)
    kind = "HKQuantityTypeIdentifierRestingHeartRate"
    yield record(kind, WATCH, "count/min", start, end, str(rng.randint(50, 62))) + "/>\n"


def hrv(day: datetime, rng: random.Random) -> Iterator[str]:
    for hour in sorted(rng.sample(range(24), 5)):
        start = day + timedelta(hours=hour, minutes=rng.randint(0, 58))
        end = start + timedelta(seconds=rng.randint(55, 65))
        kind = "HKQuantityTypeIdentifierHeartRateVariabilitySDNN"
        value = f"{rng.uniform(25, 90):.4f}"
        yield (
            record(kind, WATCH, "ms", start, end, value)
            + ">\n  <HeartRateVariabilityMetadataList>\n"
        )
        t = start.astimezone(ZONE)
        for _ in range(rng.randint(60, 100)):
            t += timedelta(milliseconds=rng.randint(700, 1200))
            clock = t.strftime("%I:%M:%S.") + f"{t.microsecond // 10000:02d} " + t.strftime("%p")
            yield f'   <InstantaneousBeatsPerMinute bpm="{rng.randint(48, 90)}" time="{clock.lstrip("0")}"/>\n'
        yield "  </HeartRateVariabilityMetadataList>\n </Record>\n"


def workout(day: datetime, rng: random.Random) -> Iterator[str]:
    if day.toordinal() % 3:
        return
    start = day + timedelta(hours=17, minutes=rng.randint(0, 50))
    end = start + timedelta(minutes=rng.randint(20, 60))
    yield (
        f' <Workout workoutActivityType="HKWorkoutActivityTypeWalking" duration="{(end - start).seconds / 60:.1f}" '
        f'durationUnit="min" {WATCH} creationDate="{stamp(end)}" startDate="{stamp(start)}" endDate="{stamp(end)}">\n'
        '  <MetadataEntry key="HKIndoorWorkout" value="0"/>\n'
        f'  <WorkoutStatistics type="HKQuantityTypeIdentifierHeartRate" startDate="{stamp(start)}" '
        f'endDate="{stamp(end)}" average="104" minimum="88" maximum="121" unit="count/min"/>\n'
        f'  <WorkoutRoute {WATCH} creationDate="{stamp(end)}" startDate="{stamp(start)}" endDate="{stamp(end)}">\n'
        f'   <FileReference path="/workout-routes/route_{start:%Y-%m-%d_%H.%M}.gpx"/>\n'
        "  </WorkoutRoute>\n </Workout>\n"
    )


def activity_summary(day: datetime, rng: random.Random) -> Iterator[str]:
    yield (
        f' <ActivitySummary dateComponents="{day:%Y-%m-%d}" activeEnergyBurned="{rng.uniform(200, 700):.3f}" '
        'activeEnergyBurnedGoal="400" activeEnergyBurnedUnit="Cal" appleMoveTime="0" appleMoveTimeGoal="0" '
        f'appleExerciseTime="{rng.randint(5, 80)}" appleExerciseTimeGoal="30" '
        f'appleStandHours="{rng.randint(6, 14)}" appleStandHoursGoal="12"/>\n'
    )


SECTIONS: tuple[Callable[[datetime, random.Random], Iterator[str]], ...] = (
    heart_rate,
    steps,
    sleep,
    resting_heart_rate,
    hrv,
    workout,
    activity_summary,
)


def header() -> str:
    text = FIXTURE.read_text(encoding="utf-8")
    dtd = text[: text.index("]>\n") + 3]
    return (
        dtd
        + '<HealthData locale="da_DK">\n'
        + f' <ExportDate value="{stamp(datetime.now(UTC).replace(microsecond=0))}"/>\n'
        + ' <Me HKCharacteristicTypeIdentifierDateOfBirth="1988-02-11" '
        'HKCharacteristicTypeIdentifierBiologicalSex="HKBiologicalSexFemale" '
        'HKCharacteristicTypeIdentifierBloodType="HKBloodTypeNotSet" '
        'HKCharacteristicTypeIdentifierFitzpatrickSkinType="HKFitzpatrickSkinTypeNotSet" '
        'HKCharacteristicTypeIdentifierCardioFitnessMedicationsUse="None"/>\n'
    )


def days_for(megabytes: float) -> int:
    """Days of data that make about ``megabytes`` MB, measured on a sample week."""
    rng = random.Random(0)
    week = sum(
        len(piece.encode())
        for d in range(7)
        for section in SECTIONS
        for piece in section(FIRST_DAY + timedelta(days=d), rng)
    )
    return math.ceil(megabytes * 1e6 / (week / 7) * 1.01)


def write(out: Path, megabytes: float) -> int:
    days = [
        datetime.combine((FIRST_DAY + timedelta(days=d)).date(), datetime.min.time(), ZONE)
        for d in range(days_for(megabytes))
    ]
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8", newline="\n") as fh:
        fh.write(header())
        for section in SECTIONS:  # the Health app groups records by type
            rng = random.Random(section.__name__)
            for day in days:
                fh.write("".join(section(day, rng)))
        fh.write("</HealthData>\n")
    return len(days)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--megabytes", type=float, default=320.0)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    days = write(args.out, args.megabytes)
    print(f"wrote {args.out}: {args.out.stat().st_size / 1e6:.1f} MB, {days} days")


if __name__ == "__main__":
    main()
