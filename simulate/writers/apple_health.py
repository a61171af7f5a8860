"""Apple Health: ``export.zip`` holding ``apple_health_export/export.xml``.

The XML has the HealthKit Export Version 13 DTD header. The Watch writes staged sleep
(``AsleepCore``/``AsleepDeep``/``AsleepREM`` and ``Awake``), heart-rate variability (SDNN) samples
during the night, a resting heart rate for the day and step counts; the iPhone writes the
``InBed`` periods. As in real exports every date is written in the phone's (home) zone as
``YYYY-MM-DD HH:MM:SS +HHMM``, and each record carries an ``HKTimeZone`` metadata entry with the
zone the patient was in, which is how local dates stay right on a trip.
"""

from __future__ import annotations

import zipfile
from datetime import date
from pathlib import Path

import polars as pl

from ingest.formats.apple_health import DATE_FORMATS, QUANTITIES, SLEEP, SLEEP_VALUES
from simulate.writers.records import PatientRecords
from simulate.writers.stages import hypnogram, vendor_words

MEMBER = "apple_health_export/export.xml"
#: HealthKit's names and units, as the reader knows them (ingest.formats.apple_health)
SLEEP_VALUE = vendor_words(SLEEP_VALUES) | {
    "in_bed": next(name for name, metric in SLEEP_VALUES.items() if metric == "sleep_in_bed")
}
_QUANTITY = {metric: (kind, unit) for kind, (metric, unit, _) in QUANTITIES.items()}
_WRITTEN = {"hrv": "hrv_sdnn", "rhr": "resting_heart_rate", "steps": "steps"}
TYPES = {"sleep": SLEEP} | {name: _QUANTITY[metric][0] for name, metric in _WRITTEN.items()}
UNITS = {name: _QUANTITY[metric][1] for name, metric in _WRITTEN.items()}
#: how Export Version 3 and later write every date
STAMP = DATE_FORMATS[0]
IPHONE = (
    "&lt;&lt;HKDevice: 0x2834b1a40&gt;, name:iPhone, manufacturer:Apple Inc., model:iPhone, "
    "hardware:iPhone14,5, software:17.4&gt;"
)

HEADER = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE HealthData [
<!-- HealthKit Export Version: 13 -->
<!ELEMENT HealthData (ExportDate,Me,(Record|Correlation|Workout|ActivitySummary|ClinicalRecord|Audiogram|VisionPrescription)*)>
<!ATTLIST HealthData
  locale CDATA #REQUIRED
>
<!ELEMENT ExportDate EMPTY>
<!ATTLIST ExportDate
  value CDATA #REQUIRED
>
<!ELEMENT Me EMPTY>
<!ATTLIST Me
  HKCharacteristicTypeIdentifierDateOfBirth                   CDATA #REQUIRED
  HKCharacteristicTypeIdentifierBiologicalSex                 CDATA #REQUIRED
  HKCharacteristicTypeIdentifierBloodType                     CDATA #REQUIRED
  HKCharacteristicTypeIdentifierFitzpatrickSkinType           CDATA #REQUIRED
  HKCharacteristicTypeIdentifierCardioFitnessMedicationsUse   CDATA #REQUIRED
>
<!ELEMENT Record ((MetadataEntry|HeartRateVariabilityMetadataList)*)>
<!ATTLIST Record
  type          CDATA #REQUIRED
  unit          CDATA #IMPLIED
  value         CDATA #IMPLIED
  sourceName    CDATA #REQUIRED
  sourceVersion CDATA #IMPLIED
  device        CDATA #IMPLIED
  creationDate  CDATA #IMPLIED
  startDate     CDATA #REQUIRED
  endDate       CDATA #REQUIRED
>
<!-- Note: Any Records that appear as children of a correlation also appear as top-level records in this document. -->
<!ELEMENT Correlation ((MetadataEntry|Record)*)>
<!ATTLIST Correlation
  type          CDATA #REQUIRED
  sourceName    CDATA #REQUIRED
  sourceVersion CDATA #IMPLIED
  device        CDATA #IMPLIED
  creationDate  CDATA #IMPLIED
  startDate     CDATA #REQUIRED
  endDate       CDATA #REQUIRED
>
<!ELEMENT MetadataEntry EMPTY>
<!ATTLIST MetadataEntry
  key   CDATA #REQUIRED
  value CDATA #REQUIRED
>
<!-- Note: Heart Rate Variability records captured by Apple Watch may include an associated list of instantaneous beats-per-minute readings. -->
<!ELEMENT HeartRateVariabilityMetadataList (InstantaneousBeatsPerMinute*)>
<!ELEMENT InstantaneousBeatsPerMinute EMPTY>
<!ATTLIST InstantaneousBeatsPerMinute
  bpm  CDATA #REQUIRED
  time CDATA #REQUIRED
>
]>
<HealthData locale="en_US">
 <ExportDate value="{export_date}"/>
 <Me HKCharacteristicTypeIdentifierDateOfBirth="" HKCharacteristicTypeIdentifierBiologicalSex="HKBiologicalSexNotSet" HKCharacteristicTypeIdentifierBloodType="HKBloodTypeNotSet" HKCharacteristicTypeIdentifierFitzpatrickSkinType="HKFitzpatrickSkinTypeNotSet" HKCharacteristicTypeIdentifierCardioFitnessMedicationsUse="None"/>
"""  # noqa: E501 (Apple's own header, written as Apple writes it)


def _watch(device: pl.Expr) -> pl.Expr:
    """The HKDevice string of an Apple Watch named like "Apple Watch Series 6 (Watch6,1)"."""
    hardware = device.str.extract(r"\(([^)]+)\)")
    return pl.format(
        "&lt;&lt;HKDevice: 0x28f1c2300&gt;, name:Apple Watch, manufacturer:Apple Inc., "
        "model:Watch, hardware:{}, software:10.4&gt;",
        hardware,
    )


def _sleep_records(periods: pl.DataFrame, rec: PatientRecords) -> pl.DataFrame:
    """One row per sleep record: in-bed from the iPhone, stages from the Watch."""
    night_i: list[int] = []
    after: list[int] = []  # minutes after the night's onset
    minutes: list[int] = []
    values: list[str] = []
    # a loop per night: each night's stages are drawn in sequence (a handful of records)
    for i, night in enumerate(periods.select("asleep_min", "awake_min").iter_rows()):
        offset = 0
        for stage, length in hypnogram(night[0], night[1], rec.rng):
            night_i.append(i)
            after.append(offset)
            minutes.append(length)
            values.append(SLEEP_VALUE[stage])
            offset += length
    stages = pl.DataFrame(
        {"i": night_i, "after": after, "minutes": minutes, "value": values},
        schema={"i": pl.UInt32, "after": pl.Int64, "minutes": pl.Int64, "value": pl.String},
    ).join(periods.with_row_index("i"), on="i")
    in_bed = periods.select(
        value=pl.lit(SLEEP_VALUE["in_bed"]),
        iphone=pl.lit(True),
        device=pl.col("device"),
        date=pl.col("date"),
        start=pl.col("in_bed_at"),
        end=pl.col("out_of_bed_at"),
    )
    watch = stages.select(
        value=pl.col("value"),
        iphone=pl.lit(False),
        device=pl.col("device"),
        date=pl.col("date"),
        start=pl.col("asleep_at") + pl.duration(minutes=pl.col("after")),
        end=pl.col("asleep_at") + pl.duration(minutes=pl.col("after") + pl.col("minutes")),
    )
    return pl.concat([in_bed, watch]).select(
        type=pl.lit(TYPES["sleep"]),
        unit=pl.lit(None, pl.String),
        value=pl.col("value"),
        iphone=pl.col("iphone"),
        device=pl.col("device"),
        date=pl.col("date"),
        start=pl.col("start"),
        end=pl.col("end"),
    )


def _hrv_records(periods: pl.DataFrame, daily: pl.DataFrame) -> pl.DataFrame:
    """Three SDNN readings spread over the main sleep whose mean is the night's value."""
    main = periods.filter(pl.col("main")).join(
        daily.filter(pl.col("hrv_ms").is_not_null()).select("date", "hrv_ms"), on="date"
    )
    length = (pl.col("wake_at") - pl.col("asleep_at")).dt.total_minutes()
    spread = (pl.col("hrv_ms") * 0.12).round(1)
    return pl.concat(
        main.select(
            type=pl.lit(TYPES["hrv"]),
            unit=pl.lit(UNITS["hrv"]),
            value=(pl.col("hrv_ms") + k * spread).round(1).cast(pl.String),
            iphone=pl.lit(False),
            device=pl.col("device"),
            date=pl.col("date"),
            start=pl.col("asleep_at") + pl.duration(minutes=(length * share).floor()),
            end=pl.col("asleep_at") + pl.duration(minutes=(length * share).floor() + 1),
        )
        for k, share in ((-1, 0.2), (0, 0.5), (1, 0.8))
    )


def _day_records(daily: pl.DataFrame) -> pl.DataFrame:
    """Resting heart rate (06:00–23:00 local) and steps in six chunks over the day."""
    local_midnight = pl.col("date").cast(pl.Datetime("us")).dt.replace_time_zone("UTC") - (
        pl.duration(minutes=pl.col("utc_offset_min"))
    )
    rhr = daily.filter(pl.col("resting_hr_bpm").is_not_null()).select(
        type=pl.lit(TYPES["rhr"]),
        unit=pl.lit(UNITS["rhr"]),
        value=pl.col("resting_hr_bpm").cast(pl.Int64).cast(pl.String),
        iphone=pl.lit(False),
        device=pl.col("device"),
        date=pl.col("date"),
        start=local_midnight + pl.duration(hours=6),
        end=local_midnight + pl.duration(hours=23),
    )
    steps = daily.filter(pl.col("steps").is_not_null())
    shares = (0.08, 0.22, 0.18, 0.2, 0.17)  # the sixth chunk takes the rest
    chunks = []
    done = pl.lit(0, pl.Int64)
    for k in range(6):
        part = (
            (pl.col("steps") * shares[k]).floor().cast(pl.Int64)
            if k < 5
            else pl.col("steps").cast(pl.Int64) - done
        )
        done = done + (pl.col("steps") * shares[k]).floor().cast(pl.Int64) if k < 5 else done
        chunks.append(
            steps.select(
                type=pl.lit(TYPES["steps"]),
                unit=pl.lit(UNITS["steps"]),
                value=part.cast(pl.String),
                iphone=pl.lit(False),
                device=pl.col("device"),
                date=pl.col("date"),
                start=local_midnight + pl.duration(hours=7 + 2 * k, minutes=13),
                end=local_midnight + pl.duration(hours=8 + 2 * k, minutes=41),
            )
        )
    return pl.concat([rhr, *chunks])


def _xml_lines(records: pl.DataFrame, home_zone: str, zones: pl.DataFrame) -> pl.Series:
    dates = {
        k: pl.col(k).dt.convert_time_zone(home_zone).dt.strftime(STAMP) for k in ("start", "end")
    }
    unit = (
        pl.when(pl.col("unit").is_null())
        .then(pl.lit(""))
        .otherwise(pl.format(' unit="{}"', pl.col("unit")))
    )
    source = pl.when(pl.col("iphone")).then(pl.lit("iPhone")).otherwise(pl.lit("Apple Watch"))
    device = pl.when(pl.col("iphone")).then(pl.lit(IPHONE)).otherwise(_watch(pl.col("device")))
    return (
        records.join(zones, on="date", how="left")
        .sort("start", "type")
        .select(
            pl.format(
                ' <Record type="{}" sourceName="{}" sourceVersion="10.4" device="{}"{} '
                'creationDate="{}" startDate="{}" endDate="{}" value="{}">\n'
                '  <MetadataEntry key="HKTimeZone" value="{}"/>\n </Record>',
                "type",
                source,
                device,
                unit,
                dates["end"],
                dates["start"],
                dates["end"],
                "value",
                "zone",
            )
        )
        .to_series()
    )


def write(folder: Path, rec: PatientRecords) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    zones = rec.daily.select("date", "zone")
    records = pl.concat(
        [
            _sleep_records(rec.periods, rec),
            _hrv_records(rec.periods, rec.daily),
            _day_records(rec.daily),
        ]
    )
    lines = _xml_lines(records, rec.home_zone, zones)
    last: date = rec.daily["date"].max()  # type: ignore[assignment]
    export_date = f"{last.isoformat()} 21:00:00 +0000"
    path = folder / "export.zip"
    with (
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive,
        archive.open(MEMBER, "w") as out,
    ):
        out.write(HEADER.format(export_date=export_date).encode())
        out.write("\n".join(lines).encode())
        out.write(b"\n</HealthData>\n")
    return [path]
