"""Apple Health exports through ingest.load(): what a care team would see of them."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from ingest import nights as nights_module
from ingest import schema
from ingest.errors import InvalidValueError, MalformedFileError, UnsafeInputError
from ingest.load import load
from ingest.nights import NIGHTS_METRICS, build_nights

APPLE = Path(__file__).resolve().parents[2] / "fixtures" / "apple_health"
HOSTILE = APPLE.parent / "hostile"
W, JO, ANN, ANN_W, CYCLE = (
    "Apple Watch",
    "Jo’s Apple Watch",
    "Ann’s iPhone",
    "Ann’s Apple Watch",
    "Sleep Cycle",
)
ROW = ("device", "metric", "start", "end", "utc_offset_min", "value", "unit")


def t(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def rows(samples: pl.DataFrame) -> list[tuple[object, ...]]:
    return sorted(samples.select(ROW).iter_rows(), key=lambda r: (r[2], r[1], r[0]))


V14_ROWS = [
    # New York, a week before: dates written in Copenhagen time, HKTimeZone says EST
    (W, "sleep_core", t("2024-03-10 03:10"), t("2024-03-10 11:20"), -300, 490.0, "min"),
    (W, "heart_rate", t("2024-03-17 21:05:12"), t("2024-03-17 21:05:12"), 60, 62.0, "bpm"),
    ("iPhone", "sleep_in_bed", t("2024-03-17 21:48"), t("2024-03-18 05:55"), 60, 487.0, "min"),
    ("AutoSleep", "sleep_asleep", t("2024-03-17 22:00"), t("2024-03-18 05:30"), 60, 450.0, "min"),
    (W, "sleep_core", t("2024-03-17 22:02:30"), t("2024-03-17 22:40"), 60, 37.5, "min"),
    (W, "sleep_deep", t("2024-03-17 22:40"), t("2024-03-17 23:21:30"), 60, 41.5, "min"),
    # Apple's resting heart rate of the day, as a daily value: local midnight to midnight
    (W, "resting_heart_rate", t("2024-03-17 23:00"), t("2024-03-18 23:00"), 60, 54.0, "bpm"),
    (W, "sleep_rem", t("2024-03-17 23:21:30"), t("2024-03-17 23:45"), 60, 23.5, "min"),
    (W, "sleep_awake", t("2024-03-17 23:45"), t("2024-03-17 23:47:30"), 60, 2.5, "min"),
    (W, "sleep_core", t("2024-03-17 23:47:30"), t("2024-03-18 05:30"), 60, 342.5, "min"),
    (W, "hrv_sdnn", t("2024-03-18 01:41:03"), t("2024-03-18 01:42:05"), 60, 48.6359, "ms"),
    # written twice in the file, counted once
    (W, "heart_rate", t("2024-03-18 02:14:40"), t("2024-03-18 02:14:40"), 60, 51.0, "bpm"),
    ("iPhone", "steps", t("2024-03-18 07:02:11"), t("2024-03-18 07:09:40"), 60, 412.0, "count"),
    # its metadata holds a stray \x0b, as old exports do: the character is dropped, not the file
    ("iPhone", "steps", t("2024-03-18 11:30"), t("2024-03-18 11:41:07"), 60, 1204.0, "count"),
]


def test_recent_export_with_full_dtd_gives_every_wanted_record_once() -> None:
    loaded = load(APPLE / "export_v14.xml", patient_id="p-017")

    assert rows(loaded.samples) == V14_ROWS
    assert loaded.samples["patient_id"].unique().to_list() == ["p-017"]
    assert loaded.sources == ["apple_health"]


def test_version_3_export_reads_numeric_sleep_values_and_devices_from_source_names() -> None:
    loaded = load(APPLE / "export_v3.xml")

    assert rows(loaded.samples) == [
        (CYCLE, "sleep_in_bed", t("2016-04-13 22:05"), t("2016-04-14 06:01"), 60, 476.0, "min"),
        (CYCLE, "sleep_asleep", t("2016-04-13 22:21"), t("2016-04-14 05:48"), 60, 447.0, "min"),
        (ANN, "steps", t("2016-04-14 08:12:03"), t("2016-04-14 08:18:44"), 60, 523.0, "count"),
        (ANN_W, "heart_rate", t("2016-04-14 09:00:05"), t("2016-04-14 09:00:05"), 60, 71.0, "bpm"),
        ("Health", "sleep_asleep", t("2016-04-14 13:00"), t("2016-04-14 13:25"), 60, 25.0, "min"),
        (ANN, "steps", t("2016-04-14 16:40"), t("2016-04-14 16:52:30"), 60, 1310.0, "count"),
    ]


FRAGMENT_ROWS = [
    (JO, "sleep_core", t("2022-11-03 06:10"), t("2022-11-03 08:40"), -420, 150.0, "min"),
    (JO, "sleep_deep", t("2022-11-03 08:40"), t("2022-11-03 09:30"), -420, 50.0, "min"),
    (JO, "sleep_rem", t("2022-11-03 09:30"), t("2022-11-03 13:15"), -420, 225.0, "min"),
    (W, "hrv_sdnn", t("2022-11-03 10:04:37"), t("2022-11-03 10:05:39"), -420, 61.2, "ms"),
]


def test_fragment_with_only_the_healthdata_root_reads() -> None:
    assert rows(load(APPLE / "fragment.xml").samples) == FRAGMENT_ROWS


def test_ios16_export_with_broken_dtd_and_attributes_written_twice_reads() -> None:
    loaded = load(APPLE / "export_ios16.xml")

    assert rows(loaded.samples) == [
        (W, "resting_heart_rate", t("2022-09-30 22:00"), t("2022-10-01 22:00"), 120, 58.0, "bpm"),
        (
            "iPhone",
            "steps",
            t("2022-10-01 08:02:13"),
            t("2022-10-01 08:11:58"),
            120,
            733.0,
            "count",
        ),
        (W, "sleep_asleep", t("2022-10-01 21:30"), t("2022-10-02 04:45"), 120, 435.0, "min"),
    ]


def test_zip_with_localised_xml_name_reads_it_and_skips_the_clinical_document() -> None:
    zipped = APPLE / "export.zip"
    loaded = load(zipped)

    assert rows(loaded.samples) == FRAGMENT_ROWS
    assert loaded.read == [(f"{zipped}!apple_health_export/exportar.xml", "apple_health")]
    assert loaded.skipped == [f"{zipped}!apple_health_export/export_cda.xml"]


def test_asking_for_night_metrics_leaves_raw_heart_rate_out() -> None:
    loaded = load(APPLE / "export_v14.xml", metrics=NIGHTS_METRICS)

    assert rows(loaded.samples) == [row for row in V14_ROWS if row[1] != "heart_rate"]


@pytest.mark.parametrize("name", ["export_v14.xml", "export.zip"])
def test_progress_counts_every_byte_of_the_export_once(name: str) -> None:
    reported: list[int] = []
    load(APPLE / name, progress=reported.append)

    path = APPLE / name
    if name.endswith(".zip"):
        with zipfile.ZipFile(path) as zf:
            size = zf.getinfo("apple_health_export/exportar.xml").file_size
    else:
        size = path.stat().st_size
    assert sum(reported) == size
    assert all(n > 0 for n in reported)


def test_progress_is_not_counted_twice_when_a_quirky_file_is_read_again() -> None:
    reported: list[int] = []
    load(APPLE / "export_ios16.xml", progress=reported.append)

    assert sum(reported) == (APPLE / "export_ios16.xml").stat().st_size


def test_entity_text_inside_a_dtd_comment_is_not_mistaken_for_a_declaration() -> None:
    text = (APPLE / "fragment.xml").read_text(encoding="utf-8")
    with_comment = text.replace(
        "<HealthData", '<!DOCTYPE HealthData [\n<!-- no <!ENTITY x "y"> here -->\n]>\n<HealthData'
    )

    loaded = load(with_comment.encode(), display="export.xml")

    assert rows(loaded.samples) == FRAGMENT_ROWS


@pytest.mark.parametrize(
    ("name", "said"),
    [
        ("billion_laughs.xml", "declares entities"),
        ("external_entity.xml", "declares entities"),
        ("parameter_entity.xml", "declares entities"),
        ("external_dtd.xml", "SYSTEM or PUBLIC"),
        ("public_dtd.xml", "SYSTEM or PUBLIC"),
    ],
)
def test_entity_and_external_dtd_attacks_are_refused_without_expansion(
    name: str, said: str
) -> None:
    path = HOSTILE / name
    with pytest.raises(UnsafeInputError) as refused:
        load(path)

    assert str(path) in str(refused.value)
    assert said in str(refused.value)
    assert "line 2" in str(refused.value)


@pytest.mark.parametrize(
    ("name", "line"),
    [("mismatched_tag.xml", "line 5"), ("undeclared_entity.xml", "line 3")],
)
def test_malformed_xml_names_the_file_and_line(name: str, line: str) -> None:
    path = HOSTILE / name
    with pytest.raises(MalformedFileError) as refused:
        load(path)

    assert str(path) in str(refused.value)
    assert line in str(refused.value)


def test_truncated_export_is_refused_whole_with_its_line() -> None:
    data = (APPLE / "export_v14.xml").read_bytes()
    cut = data[: data.index(b"HKCategoryValueSleepAnalysisAsleepDeep")]
    line = cut.count(b"\n") + 1

    with pytest.raises(MalformedFileError) as refused:
        load(cut, display="Eksport.xml")

    assert str(refused.value).startswith(f"Eksport.xml, line {line}: XML is not well-formed")


def test_truncated_export_inside_a_zip_is_refused_whole() -> None:
    data = (APPLE / "export_v14.xml").read_bytes()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("apple_health_export/export.xml", data[: len(data) // 2])

    with pytest.raises(
        MalformedFileError, match=re.escape("export.zip!apple_health_export/export.xml")
    ):
        load(buffer.getvalue(), display="export.zip")


def test_a_value_that_is_not_a_number_is_refused_naming_its_line() -> None:
    data = (APPLE / "export_v14.xml").read_bytes().replace(b'value="62"', b'value="sixty-two"')
    line = data[: data.index(b"sixty-two")].count(b"\n") + 1

    with pytest.raises(MalformedFileError) as refused:
        load(data, display="export.xml")

    assert str(refused.value) == (
        f"export.xml, line {line}: HKQuantityTypeIdentifierHeartRate record: "
        "value 'sixty-two' is not a number"
    )


def test_a_date_that_is_not_a_date_is_refused_naming_its_line() -> None:
    data = (
        (APPLE / "export_v3.xml")
        .read_bytes()
        .replace(b'startDate="2016-04-14 14:00:00 +0100"', b'startDate="14/04/2016 14:00"')
    )
    with pytest.raises(
        MalformedFileError,
        match=r"line 87: HKCategoryTypeIdentifierSleepAnalysis record: startDate '14/04/2016",
    ):
        load(data, display="export.xml")


def test_a_quantity_in_an_unexpected_unit_is_refused() -> None:
    data = (APPLE / "fragment.xml").read_bytes().replace(b'unit="ms"', b'unit="s"')
    with pytest.raises(
        InvalidValueError, match="HeartRateVariabilitySDNN in unit 's', expected 'ms'"
    ):
        load(data, display="export.xml")


def test_a_clinical_document_alone_is_not_an_apple_health_export() -> None:
    cda = b'<?xml version="1.0"?>\n<ClinicalDocument xmlns="urn:hl7-org:v3"></ClinicalDocument>'
    with pytest.raises(Exception, match="not an export phenowatch reads"):
        load(cda, display="export_cda.xml")


HEADER = '<?xml version="1.0" encoding="UTF-8"?>\n<HealthData locale="en_US">\n'
HR = (
    ' <Record type="HKQuantityTypeIdentifierHeartRate" sourceName="Watch" unit="count/min" '
    'startDate="{t}" endDate="{t}" value="{v}"/>\n'
)


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.datetimes(datetime(2015, 1, 1), datetime(2030, 1, 1)).map(
                lambda d: d.replace(microsecond=0)
            ),
            st.integers(-12 * 60, 14 * 60).map(lambda m: m - m % 15),
            st.integers(30, 220),
        ),
        min_size=1,
        max_size=20,
    )
)
def test_any_local_time_and_offset_comes_back_as_the_same_instant(
    samples: list[tuple[datetime, int, int]],
) -> None:
    body = ""
    for local, offset, bpm in samples:
        sign = "-" if offset < 0 else "+"
        written = f"{local:%Y-%m-%d %H:%M:%S} {sign}{abs(offset) // 60:02d}{abs(offset) % 60:02d}"
        body += HR.format(t=written, v=bpm)
    data = (HEADER + body + "</HealthData>\n").encode()

    loaded = load(data, display="export.xml")

    expected = {
        ((local - timedelta(minutes=offset)).replace(tzinfo=UTC), offset, float(bpm))
        for local, offset, bpm in samples
    }
    assert set(loaded.samples.select("start", "utc_offset_min", "value").iter_rows()) == expected


def test_public_samples_give_the_figures_written_in_them(public_samples: Path) -> None:
    apple = public_samples / "apple-health"
    iphone = load(apple / "rgosdin__docs" / "apple_health_export").samples
    steps = iphone.filter(pl.col("metric") == "steps")
    local_day = (pl.col("start") + pl.duration(minutes=pl.col("utc_offset_min"))).dt.date()
    june_15 = steps.filter(local_day == date(2019, 6, 15))
    # counted in the file: 1,588 StepCount records, 59 of them on 15 June 2019 summing to 13,669
    assert steps.height == 1588
    assert (june_15.height, june_15["value"].sum()) == (59, 13669.0)
    assert iphone.filter(pl.col("metric") == "sleep_asleep")["value"].to_list() == [600.0]

    watch = load(apple / "SebastianLJ__SleepStages_PM" / "full_good_sleep.xml").samples
    # watchOS 9.1 stages: 70 core, 25 deep, 25 REM, 22 awake, plus 4 in-bed from the iPhone
    assert dict(watch.group_by("metric").len().iter_rows()) == {
        "sleep_core": 70,
        "sleep_deep": 25,
        "sleep_rem": 25,
        "sleep_awake": 22,
        "sleep_in_bed": 4,
    }
    assert watch["utc_offset_min"].unique().to_list() == [60]

    # no DTD, attributes spread over several lines; dates written at +0200, but the sleep
    # records' HKTimeZone (Europe/Amsterdam, in January) says +0100
    pretty = load(apple / "alxdrcirilo__apple-health-parser" / "export.xml").samples
    assert sorted(pretty.select("metric", "utc_offset_min").iter_rows()) == [
        ("heart_rate", 120),
        ("heart_rate", 120),
        ("sleep_core", 60),
        ("sleep_in_bed", 60),
    ]

    version_3 = load(apple / "tdda__applehealthdata" / "export6s3sample.xml").samples
    assert version_3["metric"].to_list() == ["steps"] * 10

    heart = load(apple / "AbhikChowdhury6__dataImport" / "exampleExportBits.xml").samples
    assert heart.height == 11
    assert heart["device"].unique().to_list() == [W]
    assert heart["utc_offset_min"].unique().to_list() == [-420]


@pytest.mark.parametrize("name", ["export_v14", "export_v3"])
def test_exports_give_the_nights_worked_out_by_hand(name: str) -> None:
    # v14: the Watch's stages win over AutoSleep's unstaged record; 445 asleep minutes of 487
    # in bed; the New York night a week earlier lands on its own local date. v3: a nap by
    # another app is a second period of the same date; iPhone steps summed.
    expected = pl.read_csv(APPLE / f"{name}_nights.csv", schema=schema.NIGHTS)
    loaded = load(APPLE / f"{name}.xml", patient_id="p-017", metrics=NIGHTS_METRICS)

    assert_frame_equal(build_nights(loaded.samples), expected)


def test_an_unknown_hktimezone_leaves_the_offset_written_in_the_date() -> None:
    data = (APPLE / "export_v14.xml").read_bytes().replace(b"America/New_York", b"Mars/Olympus")

    samples = load(data, display="export.xml").samples
    night = samples.filter(pl.col("start") == t("2024-03-10 03:10"))

    assert night["utc_offset_min"].to_list() == [60]


def test_a_dtd_too_long_to_be_an_export_is_refused_before_parsing() -> None:
    padding = b"<!ELEMENT Padding EMPTY>\n" * 50_000  # 1.25 MB of declarations, never closed
    data = b'<?xml version="1.0"?>\n<!DOCTYPE HealthData [\n' + padding

    with pytest.raises(UnsafeInputError, match="runs past the first 1048576 bytes"):
        load(data, display="export.xml")


def test_a_dtd_longer_than_one_read_is_blanked_whole_and_lines_stay_true() -> None:
    text = (APPLE / "export_v14.xml").read_text(encoding="utf-8")
    notes = "".join(f"<!-- note {i}: {'x' * 60} -->\n" for i in range(3000))  # ~240 KB
    long_dtd = text.replace("<!-- HealthKit Export Version: 14 -->\n", notes)
    assert rows(load(long_dtd.encode(), display="export.xml").samples) == V14_ROWS

    broken = long_dtd.replace('value="62">', 'value="62"><', 1)
    line = broken[: broken.index('value="62"><')].count("\n") + 1
    with pytest.raises(MalformedFileError, match=f"export.xml, line {line}: XML is not"):
        load(broken.encode(), display="export.xml")


def test_records_nobody_asked_for_are_skipped_without_changing_the_rest() -> None:
    # phenowatch nights asks for no raw heart rate: those records are dropped before XML
    # parsing, and what remains is exactly the full read's rows of the wanted metrics
    data = (APPLE / "export_v14.xml").read_bytes()
    wanted = frozenset(NIGHTS_METRICS)

    skipped = load(data, display="export.xml", metrics=wanted).samples
    full = load(data, display="export.xml").samples

    assert "heart_rate" not in skipped["metric"].to_list()
    assert skipped.height > 0
    assert_frame_equal(skipped, full.filter(pl.col("metric").is_in(sorted(wanted))))


def test_a_line_after_skipped_records_is_still_named_rightly() -> None:
    data = (APPLE / "export_v14.xml").read_bytes()
    steps = data.index(b'type="HKQuantityTypeIdentifierStepCount"')
    value = re.compile(rb' value="[^"]*"').search(data, steps)
    assert value is not None
    data = data[: value.start()] + b' value="many"' + data[value.end() :]
    line = data[:steps].count(b"\n") + 1

    with pytest.raises(MalformedFileError, match=f"line {line}: .*StepCount"):
        load(data, display="export.xml", metrics=frozenset(NIGHTS_METRICS))


def test_more_lines_of_unwanted_records_than_lxml_reads_in_one_text_node() -> None:
    """Apple writes records grouped by type: a decade of heart rate is tens of millions of
    lines in a row, which nights do not read. Dropped, they must not leave one text node (or
    one read) longer than lxml takes without huge-tree mode (10 MB)."""
    hr = HR.format(t="2024-03-01 08:00:00 +0100", v=61).rstrip("\n").removesuffix("/>")
    steps = (
        ' <Record type="HKQuantityTypeIdentifierStepCount" sourceName="Watch" unit="count" '
        'startDate="2024-03-01 09:00:00 +0100" endDate="2024-03-01 09:10:00 +0100" '
        'value="812"/>\n'
    )
    data = HEADER + hr + ">" + "\n" * 10_500_000 + " </Record>\n" + steps + "</HealthData>\n"
    loaded = load(data.encode(), display="export.xml", metrics=NIGHTS_METRICS)
    assert loaded.samples.select("metric", "value").rows() == [("steps", 812.0)]


HR_WITH_METADATA = (
    ' <Record type="HKQuantityTypeIdentifierHeartRate" sourceName="Watch" unit="count/min" '
    'startDate="{t}" endDate="{t}" value="{v}">\n'
    '  <MetadataEntry key="HKMetadataKeyHeartRateMotionContext" value="0"/>\n'
    " </Record>\n"
)
STEPS = (
    ' <Record type="HKQuantityTypeIdentifierStepCount" sourceName="Watch" unit="count" '
    'startDate="{t}" endDate="{t}" value="{v}"/>\n'
)
HRV_WITH_BEATS = (
    ' <Record type="HKQuantityTypeIdentifierHeartRateVariabilitySDNN" sourceName="Watch" '
    'unit="ms" startDate="{t}" endDate="{t}" value="{v}">\n'
    "  <HeartRateVariabilityMetadataList>\n"
    + '   <InstantaneousBeatsPerMinute bpm="61" time="1:02:03.45 AM"/>\n' * 60
    + "{extra}  </HeartRateVariabilityMetadataList>\n </Record>\n"
)


def _long_heart_rate_run(records: int, *, extra: dict[int, str]) -> str:
    """An export whose heart rate (hundreds of kB of records nobody reads for nights) holds
    the records of ``extra`` at the given positions."""
    start = datetime(2024, 3, 1, 8, 0)
    lines = [HEADER]
    for i in range(records):
        stamp = (start + timedelta(seconds=37 * i)).strftime("%Y-%m-%d %H:%M:%S +0100")
        lines.append(extra.get(i) or (HR if i % 3 else HR_WITH_METADATA).format(t=stamp, v=60))
    stamp = start.strftime("%Y-%m-%d %H:%M:%S +0100")
    lines.append(HRV_WITH_BEATS.format(t=stamp, v=48.5, extra=""))
    lines.append("</HealthData>\n")
    return "".join(lines)


@pytest.mark.parametrize("position", [0, 1, 2_999, 3_000, 3_001, 7_777])
def test_a_wanted_record_inside_a_long_run_of_unwanted_ones_is_kept(position: int) -> None:
    """Long runs of records nobody asked for are dropped a whole region at a time: a step
    record among them, written plainly or with its attributes in another order, is still read,
    wherever it falls."""
    plain = STEPS.format(t="2024-03-01 09:00:00 +0100", v=812)
    reordered = (
        ' <Record sourceName="Watch" type="HKQuantityTypeIdentifierStepCount" unit="count" '
        'startDate="2024-03-01 10:00:00 +0100" endDate="2024-03-01 10:00:00 +0100" value="90"/>\n'
    )
    data = _long_heart_rate_run(
        8_000, extra={position: plain, (position + 1500) % 8_000: reordered}
    )
    nights = load(data.encode(), display="export.xml", metrics=NIGHTS_METRICS).samples
    everything = load(data.encode(), display="export.xml").samples

    assert sorted(nights.filter(pl.col("metric") == "steps")["value"].to_list()) == [90.0, 812.0]
    assert_frame_equal(nights, everything.filter(pl.col("metric").is_in(sorted(NIGHTS_METRICS))))
    assert everything.filter(pl.col("metric") == "heart_rate").height == 8_000 - 2


def test_broken_markup_inside_a_long_run_of_unwanted_records_still_refuses_the_file() -> None:
    """A heart-rate record that lost its closing tag is broken markup, read or not: the file
    is refused, as it is when every record is read."""
    stamp = "2024-03-01 09:00:00 +0100"
    unclosed = HR_WITH_METADATA.format(t=stamp, v=60).replace(" </Record>\n", "")
    data = _long_heart_rate_run(8_000, extra={5_000: unclosed}).encode()

    with pytest.raises(MalformedFileError, match="XML is not well-formed"):
        load(data, display="export.xml", metrics=NIGHTS_METRICS)
    with pytest.raises(MalformedFileError, match="XML is not well-formed"):
        load(data, display="export.xml")


def test_hrv_beat_lists_are_not_read_but_their_records_are() -> None:
    """HRV's beat-level children are skipped before parsing; the HRV figure, the line numbers
    after them and a beat list holding anything else are read as before."""
    beats = HRV_WITH_BEATS.format(t="2024-03-18 01:41:03 +0100", v=48.6, extra="")
    odd = HRV_WITH_BEATS.format(
        t="2024-03-19 01:41:03 +0100", v=51.2, extra="   <Note>kept for lxml</Note>\n"
    )
    steps = STEPS.format(t="2024-03-19 09:00:00 +0100", v="many")
    data = HEADER + beats + odd + steps + "</HealthData>\n"
    line = data[: data.index("StepCount")].count("\n") + 1

    with pytest.raises(MalformedFileError, match=f"line {line}: .*StepCount"):
        load(data.encode(), display="export.xml", metrics=NIGHTS_METRICS)
    good = data.replace('value="many"', 'value="12"')
    read = load(good.encode(), display="export.xml", metrics=NIGHTS_METRICS).samples
    assert read.filter(pl.col("metric") == "hrv_sdnn")["value"].to_list() == [48.6, 51.2]


def test_steps_summed_per_hour_come_out_in_the_same_order_every_time() -> None:
    start = datetime(2024, 3, 1, 0, 0)
    records = [
        STEPS.format(
            t=(start + timedelta(minutes=7 * i)).strftime("%Y-%m-%d %H:%M:%S +0100"), v=i % 97
        ).replace('sourceName="Watch"', f'sourceName="{("Watch", "iPhone", "Ring")[i % 3]}"')
        for i in range(6_000)
    ]
    data = (HEADER + "".join(records) + "</HealthData>\n").encode()

    reads = [
        load(data, display="export.xml", metrics=NIGHTS_METRICS, hourly_steps=True).samples
        for _ in range(4)
    ]

    assert reads[0].height > 1_000
    for again in reads[1:]:
        assert_frame_equal(again, reads[0])


def test_steps_summed_per_hour_give_the_same_nights() -> None:
    """The nights path reads steps as sums per device and local hour: the same nights, in a
    fraction of the rows (and a record written twice still counts once)."""
    data = (APPLE / "export_v14.xml").read_bytes()
    steps = data.index(b'<Record type="HKQuantityTypeIdentifierStepCount"')
    record = data[steps : data.index(b"\n", steps) + 1]
    other = re.sub(rb' value="[^"]*"', b' value="123"', record)  # a phone's, in the same hour
    data = data[:steps] + record + other + data[steps:]  # the first step record written twice
    whole = load(data, display="export.xml", metrics=NIGHTS_METRICS)
    hourly = load(data, display="export.xml", metrics=NIGHTS_METRICS, hourly_steps=True)
    counted = pl.col("metric") == "steps"
    assert hourly.samples.filter(counted).height < whole.samples.filter(counted).height
    assert_frame_equal(build_nights(hourly.samples), build_nights(whole.samples))
    assert_frame_equal(hourly.samples.filter(~counted), whole.samples.filter(~counted))


def _nights_in_blocks_match(samples: pl.DataFrame, block_sizes: tuple[int, ...]) -> None:
    at_once = build_nights(samples, block_rows=10**9)
    for block_rows in block_sizes:
        assert_frame_equal(build_nights(samples, block_rows=block_rows), at_once)


@pytest.mark.parametrize(
    "name", ["export_v14.xml", "export_v3.xml", "export_ios16.xml", "fragment.xml", "export.zip"]
)
@pytest.mark.parametrize("hourly_steps", [False, True])
def test_nights_worked_out_a_block_at_a_time_are_those_worked_out_at_once(
    name: str, hourly_steps: bool
) -> None:
    """How big exports stay in bounded memory (a few records at a time here): the same nights,
    also with the steps summed per hour as ``phenowatch nights`` reads them."""
    loaded = load(APPLE / name, metrics=NIGHTS_METRICS, hourly_steps=hourly_steps)
    _nights_in_blocks_match(loaded.samples, (1, 2, 5))


def test_public_apple_exports_give_the_same_nights_a_block_at_a_time(
    public_samples: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sleep_blocks = 0
    work_out_block = nights_module._sleep_block

    def counted(*args: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
        nonlocal sleep_blocks
        sleep_blocks += 1
        return work_out_block(*args)

    monkeypatch.setattr(nights_module, "_sleep_block", counted)
    exports = sorted((public_samples / "apple-health").rglob("*.xml"))
    exports = [path for path in exports if path.name != "export_cda.xml"]
    assert len(exports) == 5
    for path in exports:
        for hourly_steps in (False, True):
            loaded = load(path, metrics=NIGHTS_METRICS, hourly_steps=hourly_steps)
            _nights_in_blocks_match(loaded.samples, (3, 40, 400))
    # the Watch's week of staged sleep really was worked out a few nights at a time
    assert sleep_blocks > 2 * 3 * len(exports)
