"""Every public sample export (../shared/public-samples) is recognised by ingest.load and read.

Files of a vendor whose parser has not landed are expected to fail (xfail, not strict), so they
turn green on their own when it does. A few figures are checked against the files themselves.
"""

from __future__ import annotations

import csv
import json
import re
from datetime import date, datetime
from pathlib import Path

import polars as pl
import pytest

from ingest import build_nights, load
from ingest.errors import UnknownFormatError
from ingest.formats import Format, apple_health, fitbit, garmin, oura, phq9
from ingest.schema import PHQ9_ITEMS
from tests.conftest import PUBLIC_SAMPLES

#: folder of the samples -> (the module that reads them, the prefix of its format names)
VENDORS: dict[str, tuple[tuple[Format, ...], tuple[str, ...]]] = {
    "apple-health": (apple_health.FORMATS, ("apple_health",)),
    "fitbit": (fitbit.FORMATS, ("fitbit",)),
    "garmin": (garmin.FORMATS, ("garmin",)),
    "oura": (oura.FORMATS, ("oura",)),
    "phq9": (phq9.FORMATS, ("phq9", "nhanes")),
}
#: recognised, but with nothing of the samples or PHQ-9 contracts in them
NO_ROWS = {
    "fitbit/Arohasina__patina-engraver/Sleep Score/sleep_score.csv": "sleep scores only",
    "phq9/LHNCBC__lforms-fhir-app/phq9.json": "the blank PHQ-9 form (a FHIR Questionnaire)",
}
#: not an export on its own: skipped beside its export.xml
COMPANIONS = {"apple-health/rgosdin__docs/apple_health_export/export_cda.xml"}
NHANES = "phq9/Vakiti__Usefulness-of-CDC-data-for-disease-risk-prediction/DPQ_J.csv"
MII = "phq9/medizininformatik-initiative__kerndatensatzmodul-proms"


def _sample_files() -> list[str]:
    if not PUBLIC_SAMPLES.is_dir():
        return []
    return sorted(
        path.relative_to(PUBLIC_SAMPLES).as_posix()
        for path in PUBLIC_SAMPLES.rglob("*")
        if path.is_file() and path.name != "SOURCES.md"
    )


def _case(name: str) -> object:
    formats, _ = VENDORS[name.split("/")[0]]
    if formats:
        return name
    reason = f"the {name.split('/')[0]} parser has not landed yet"
    return pytest.param(name, marks=pytest.mark.xfail(strict=False, reason=reason))


@pytest.mark.parametrize("name", [_case(n) for n in _sample_files() if n not in COMPANIONS])
def test_every_public_sample_is_recognised_and_read(public_samples: Path, name: str) -> None:
    loaded = load(public_samples / name)
    _, prefixes = VENDORS[name.split("/")[0]]
    assert len(loaded.read) == 1
    assert loaded.read[0][1].startswith(prefixes), loaded.read
    rows = loaded.samples.height + loaded.phq9.height
    if name in NO_ROWS:
        assert rows == 0, NO_ROWS[name]
    else:
        assert rows > 0


@pytest.mark.parametrize("name", sorted(COMPANIONS))
def test_companion_files_are_skipped_beside_their_export(public_samples: Path, name: str) -> None:
    path = public_samples / name
    with pytest.raises(UnknownFormatError, match="not an export phenowatch reads"):
        load(path)
    loaded = load(path.parent)
    assert loaded.skipped == [f"{path.parent}/{path.name}"]
    assert loaded.samples.height > 0


def test_nhanes_dpq_rows_and_answers_match_the_file(public_samples: Path) -> None:
    path = public_samples / NHANES
    with path.open(newline="") as fh:
        table = list(csv.DictReader(fh))
    columns = [f"DPQ0{i}0" for i in range(1, 10)]

    def answer(text: str) -> int | None:
        return int(float(text)) if text and float(text) <= 3 else None

    entries = load(path).phq9
    assert entries.height == len(table) == 5533
    complete = [r for r in table if all(answer(r[c]) is not None for c in columns)]
    totals = entries["total"].drop_nulls()
    assert totals.len() == len(complete)
    assert totals.cast(pl.Int64).sum() == sum(
        sum(answer(r[c]) or 0 for c in columns) for r in complete
    )
    row = next(r for r in table if r["SEQN"] == "95471.0")  # has a 7 (refused) in DPQ040
    entry = entries.filter(pl.col("patient_id") == "nhanes-95471").row(0, named=True)
    assert [entry[i] for i in PHQ9_ITEMS] == [answer(row[c]) for c in columns]
    assert entry["item_4"] is None and entry["total"] is None
    assert entry["difficulty"] == answer(row["DPQ100"])


def test_fhir_questionnaire_response_total_matches_the_file(public_samples: Path) -> None:
    path = public_samples / MII / "QuestionnaireResponse-mii-exa-pro-phq-9-response.json"
    doc = json.loads(path.read_text())
    written = {item["linkId"]: item["answer"][0] for item in doc["item"]}
    entry = load(path).phq9.row(0, named=True)
    assert entry["total"] == written["PHQ.Score"]["valueQuantity"]["value"] == 27
    assert entry["answered_at"] == datetime.fromisoformat(doc["authored"])
    scores = {"LA6568-5": 0, "LA6569-3": 1, "LA6570-1": 2, "LA6571-9": 3}
    for n in range(1, 10):
        assert entry[f"item_{n}"] == scores[written[f"PHQ.{n}"]["valueCoding"]["code"]]


def test_fhir_observation_with_only_the_panel_total(public_samples: Path) -> None:
    path = public_samples / MII / "Observation-mii-exa-pro-phq-9-observation.json"
    doc = json.loads(path.read_text())
    entry = load(path).phq9.row(0, named=True)
    assert entry["total"] == doc["valueQuantity"]["value"]
    assert all(entry[item] is None for item in PHQ9_ITEMS)


def _local(stamp: str) -> datetime:
    return datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S %z")


def test_watch_sleep_stages_give_nights_equal_to_their_union(public_samples: Path) -> None:
    """Staged Apple Watch sleep with overlapping iPhone in-bed records: every asleep minute of
    the stage records counts once, and in-bed time is never asleep."""
    path = public_samples / "apple-health/SebastianLJ__SleepStages_PM/full_good_sleep.xml"
    stages = re.findall(
        r'startDate="([^"]+)" endDate="([^"]+)" value="HKCategoryValueSleepAnalysisAsleep'
        r'(?:Core|Deep|REM)"',
        path.read_text(encoding="utf-8"),
    )
    union, reach = 0.0, None
    for start, end in sorted((_local(a), _local(b)) for a, b in stages):
        if reach is None or start > reach:
            union += (end - start).total_seconds() / 60
            reach = end
        elif end > reach:
            union += (end - reach).total_seconds() / 60
            reach = end
    nights = build_nights(load(path).samples)
    assert nights["sleep_total_min"].sum() == pytest.approx(union)
    assert set(nights["sleep_source"].drop_nulls()) == {"apple_health"}
    assert nights["sleep_efficiency"].drop_nulls().is_between(0, 1).all()


@pytest.mark.parametrize(
    "name",
    [
        "fitbit/technoshaman001__sleepbiometrics/sleep-2020-05-17.json",
        "fitbit/Arohasina__patina-engraver/Global Export Data/sleep-2026-03-18.json",
    ],
)
def test_fitbit_nights_fall_on_its_date_of_sleep_with_its_minutes_asleep(
    public_samples: Path, name: str
) -> None:
    """Fitbit dates every sleep log by the day it ends (``dateOfSleep``) and counts
    ``minutesAsleep``; the nights table must agree, to Fitbit's 30-second rounding."""
    path = public_samples / name
    if not fitbit.FORMATS:
        pytest.xfail("the fitbit parser has not landed yet")
    asleep: dict[str, int] = {}
    for log in json.loads(path.read_text()):
        asleep[log["dateOfSleep"]] = asleep.get(log["dateOfSleep"], 0) + log["minutesAsleep"]
    nights = build_nights(load(path).samples).filter("has_sleep")
    assert [d.isoformat() for d in nights["date"]] == sorted(asleep)
    for day, minutes in zip(nights["date"], nights["sleep_total_min"], strict=True):
        assert minutes == asleep[day.isoformat()]


def test_a_takeout_with_json_and_user_sleeps_counts_each_sleep_once(public_samples: Path) -> None:
    """The Takeout folder holds both the ``Global Export Data`` JSON and the ``UserSleeps``
    CSV: every night of the JSON's days is the JSON's ``minutesAsleep``."""
    folder = public_samples / "fitbit" / "Arohasina__patina-engraver"
    logs = json.loads((folder / "Global Export Data" / "sleep-2026-03-18.json").read_text())
    asleep: dict[date, int] = {}
    for log in logs:
        day = date.fromisoformat(log["dateOfSleep"])
        asleep[day] = asleep.get(day, 0) + log["minutesAsleep"]
    nights = build_nights(load(folder).samples)
    got = dict(nights.select("date", "sleep_total_min").drop_nulls().iter_rows())
    assert {day: got[day] for day in asleep} == asleep
    assert got[date(2026, 4, 13)] == 285


def test_garmin_nights_fall_on_its_calendar_date_with_its_stage_minutes(
    public_samples: Path,
) -> None:
    path = public_samples / (
        "garmin/WonderBeat__datasets/DI_CONNECT/DI-Connect-Wellness/"
        "2023-05-14_2023-08-22_115618364_sleepData.json"
    )
    if not garmin.FORMATS:
        pytest.xfail("the garmin parser has not landed yet")
    stages = ("deepSleepSeconds", "lightSleepSeconds", "remSleepSeconds")
    asleep = {
        night["calendarDate"]: sum(night.get(key) or 0 for key in stages) / 60
        for night in json.loads(path.read_text())
    }
    nights = build_nights(load(path).samples).filter("has_sleep")
    days = [d.isoformat() for d in nights["date"]]
    assert dict(zip(days, nights["sleep_total_min"], strict=True)) == asleep
