"""PHQ-9 files in, checked entries out; anything out of range rejects the whole file."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest import load
from ingest.errors import InvalidValueError, MalformedFileError, UnknownFormatError
from ingest.schema import PHQ9, PHQ9_ITEMS

PHQ = Path(__file__).resolve().parents[2] / "fixtures" / "phq9"


def items(row: dict[str, object]) -> list[object]:
    return [row[item] for item in PHQ9_ITEMS]


def test_json_list_with_items_as_a_list_or_as_fields() -> None:
    loaded = load(PHQ / "entries.json")
    assert loaded.read == [(str(PHQ / "entries.json"), "phq9_json")]
    entries = loaded.phq9
    assert entries.schema == pl.Schema(PHQ9)
    first, second = entries.sort("answered_at").rows(named=True)
    assert first["answered_at"] == datetime(2024, 3, 4, 8, 15, tzinfo=UTC)
    assert items(first) == [1, 2, 1, 2, 0, 1, 1, 0, 0]
    assert (first["total"], first["difficulty"], first["instrument"]) == (8, 1, "phq9")
    assert first["patient_id"] == "p-017" and first["source"] == "phq9_json"
    assert second["total"] == 15 and second["item_9"] == 1 and second["difficulty"] is None


def test_the_uploads_patient_wins_over_the_files_own() -> None:
    entries = load(PHQ / "entries.json", patient_id="p-900").phq9
    assert entries["patient_id"].unique().to_list() == ["p-900"]


def test_phq8_has_no_item_9_and_a_total_out_of_24() -> None:
    entry = load(PHQ / "phq8.json").phq9.row(0, named=True)
    assert entry["instrument"] == "phq8"
    assert entry["item_9"] is None
    assert entry["total"] == 22
    assert entry["answered_at"] == datetime(2024, 5, 2, 23, 0, tzinfo=UTC)


def test_csv_with_blank_difficulty_and_fractional_seconds() -> None:
    entries = load(PHQ / "entries.csv").phq9.sort("answered_at")
    assert entries["total"].to_list() == [2, 6, 17]
    assert entries["difficulty"].to_list() == [0, None, 2]
    assert entries["source"].unique().to_list() == ["phq9_csv"]
    assert entries["answered_at"][2] == datetime(2024, 2, 5, 9, 58, 0, 250000, tzinfo=UTC)


def test_nhanes_refused_and_dont_know_are_unanswered_and_leave_no_total() -> None:
    loaded = load(PHQ / "dpq_small.csv")
    assert loaded.read[0][1] == "nhanes_dpq"
    entries = {row["patient_id"]: row for row in loaded.phq9.rows(named=True)}
    assert list(entries) == [f"nhanes-{n}" for n in (93705, 93711, 93712, 93713, 93714)]
    assert items(entries["nhanes-93711"]) == [1, 1, 2, 1, 0, 0, 1, 0, 0]
    assert entries["nhanes-93711"]["total"] == 6
    assert entries["nhanes-93711"]["difficulty"] == 1
    assert entries["nhanes-93712"]["item_2"] is None  # 7: refused
    assert entries["nhanes-93712"]["total"] is None
    assert entries["nhanes-93714"]["item_9"] is None  # 9: don't know
    assert entries["nhanes-93714"]["total"] is None
    assert items(entries["nhanes-93713"]) == [None] * 9
    assert all(row["answered_at"] is None for row in entries.values())


def test_nhanes_zeros_written_by_sas_conversion_read_as_zero() -> None:
    entry = load(PHQ / "dpq_sas_zeros.csv").phq9.row(0, named=True)
    assert items(entry) == [0, 1, 0, 2, 0, 0, 1, 0, 0]
    assert (entry["patient_id"], entry["total"], entry["difficulty"]) == ("nhanes-109266", 4, 1)


def test_csv_without_item_9_is_a_phq8() -> None:
    entry = load(PHQ / "phq8.csv").phq9.row(0, named=True)
    assert (entry["instrument"], entry["item_9"], entry["total"]) == ("phq8", None, 6)


def test_fhir_response_items_are_matched_by_loinc_code_not_position() -> None:
    entry = load(PHQ / "questionnaire_response.json").phq9.row(0, named=True)
    assert items(entry) == [2, 2, 2, 2, 1, 1, 2, 1, 1]  # written in reverse order
    assert entry["total"] == 14
    assert entry["difficulty"] == 1
    assert entry["patient_id"] == "p-311"
    assert entry["answered_at"] == datetime(2024, 2, 10, 19, 30, tzinfo=UTC)
    assert entry["source"] == "fhir"


def test_fhir_observation_with_components() -> None:
    entry = load(PHQ / "observation_components.json").phq9.row(0, named=True)
    assert items(entry) == [0, 1, 0, 1, 0, 0, 1, 0, 0]
    assert entry["total"] == 3


def test_fhir_bundle_panel_with_members_skips_other_questionnaires_and_errors() -> None:
    entries = load(PHQ / "bundle_has_member.json").phq9
    assert entries.height == 1  # the GAD-7 and the entered-in-error total are not PHQ-9 entries
    entry = entries.row(0, named=True)
    assert items(entry) == [1, 1, 1, 0, 0, 0, 0, 0, 2]
    assert entry["total"] == 5


def test_opaque_link_ids_are_resolved_by_the_questionnaire_beside_the_response() -> None:
    entries = load(PHQ / "opaque_links").phq9  # questionnaire.json and response.json
    assert entries.height == 1  # the form itself holds no answers
    entry = entries.row(0, named=True)
    assert items(entry) == [0, 1, 1, 2, 0, 1, 0, 0, 3]
    assert (entry["total"], entry["difficulty"], entry["patient_id"]) == (8, 0, "p-77")


def test_opaque_link_ids_are_resolved_by_the_questionnaire_in_the_same_bundle() -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"resource": json.loads((PHQ / "opaque_links" / name).read_text())}
            for name in ("response.json", "questionnaire.json")
        ],
    }
    entry = load(json.dumps(bundle).encode(), display="bundle.json").phq9.row(0, named=True)
    assert items(entry) == [0, 1, 1, 2, 0, 1, 0, 0, 3]


def test_opaque_link_ids_without_their_questionnaire_are_refused() -> None:
    path = PHQ / "opaque_links" / "response.json"
    with pytest.raises(InvalidValueError, match="cannot be matched to a PHQ-9 question") as caught:
        load(path)
    assert str(caught.value).startswith(f"{path}, QuestionnaireResponse/clinic-r1: ")


@pytest.mark.parametrize(
    ("name", "record", "words"),
    [
        ("item_out_of_range.csv", "line 3", "item_4 is 4, must be 0-3"),
        ("total_mismatch.json", "record 2", "total is 9 but the items add up to 8"),
        ("no_offset.json", "record 1", "answered_at '2024-03-04T09:15:00' has no UTC offset"),
        ("dpq_bad_code.csv", "line 3", "DPQ040 is 5, must be 0-3, 7 (refused)"),
        ("unknown_answer_code.json", "QuestionnaireResponse/qr-bad-code", "item_5 has the unknown"),
        ("fhir_total_mismatch.json", "QuestionnaireResponse/qr-bad-total", "total is 16 but"),
    ],
)
def test_a_bad_record_rejects_the_whole_file_naming_file_record_and_field(
    name: str, record: str, words: str
) -> None:
    path = PHQ / "bad" / name
    with pytest.raises(InvalidValueError) as caught:
        load(path)
    message = str(caught.value)
    assert message.startswith(f"{path}, {record}: "), message
    assert words in message


def test_a_fhir_answer_of_an_unreadable_type_is_refused() -> None:
    response = json.loads((PHQ / "questionnaire_response.json").read_text())
    response["item"][0]["item"][0]["answer"] = [{"valueString": "sometimes"}]  # item 9
    with pytest.raises(InvalidValueError, match="item_9 is answered as valueString"):
        load(json.dumps(response).encode(), display="qr.json")


def test_a_gad7_response_sharing_the_answer_codes_is_not_taken_for_a_phq9(tmp_path: Path) -> None:
    gad7 = PHQ / "other" / "gad7_response.json"
    with pytest.raises(UnknownFormatError):
        load(gad7)
    for path in (gad7, PHQ / "questionnaire_response.json"):
        (tmp_path / path.name).write_bytes(path.read_bytes())
    loaded = load(tmp_path)  # a folder: the GAD-7 is skipped, the PHQ-9 read
    assert loaded.skipped == [f"{tmp_path}/gad7_response.json"]
    assert loaded.phq9["total"].to_list() == [14]


@pytest.mark.parametrize("cell", ["nan", "inf", "2.5", "two", "1e400"])
def test_csv_cells_that_are_not_whole_numbers_are_refused(cell: str) -> None:
    upload = f"answered_at,{','.join(PHQ9_ITEMS)}\n2024-01-01T08:00:00Z,0,0,{cell},0,0,0,0,0,0\n"
    with pytest.raises(InvalidValueError, match=f"line 2: item_3 is '{cell}', not a whole number"):
        load(upload.encode(), display="phq.csv")


def test_json_that_is_not_json_is_malformed() -> None:
    with pytest.raises(MalformedFileError, match="not valid JSON"):
        load(b'{"answered_at": "2024-01-01T00:00:00Z", "items": [0,', display="broken.json")


# --- properties of the checks ------------------------------------------------------------------

answers = st.lists(st.integers(0, 3), min_size=9, max_size=9)
moments = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2040, 1, 1), timezones=st.just(UTC)
)


def json_upload(records: list[dict[str, object]]) -> bytes:
    return json.dumps(records).encode()


def csv_upload(rows: list[list[object]]) -> bytes:
    header = "answered_at," + ",".join(PHQ9_ITEMS)
    return "\n".join([header, *(",".join(map(str, row)) for row in rows)]).encode()


phq8_or_9 = st.lists(st.integers(0, 3), min_size=8, max_size=9)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(moments, phq8_or_9), min_size=1, max_size=5, unique_by=lambda r: r[0]))
def test_valid_answers_are_kept_and_totalled(records: list[tuple[datetime, list[int]]]) -> None:
    upload = json_upload([{"answered_at": at.isoformat(), "items": ans} for at, ans in records])
    entries = load(upload, display="phq.json").phq9
    assert entries.height == len(records)
    for at, ans in records:
        row = entries.filter(pl.col("answered_at") == at).row(0, named=True)
        assert items(row)[: len(ans)] == ans
        assert row["total"] == sum(ans)
        if len(ans) == 8:
            assert row["instrument"] == "phq8" and row["item_9"] is None and row["total"] <= 24
        else:
            assert row["instrument"] == "phq9" and row["total"] <= 27


@settings(max_examples=40, deadline=None)
@given(
    st.lists(answers, min_size=1, max_size=6),
    st.data(),
    st.one_of(st.integers(4, 120), st.integers(-50, -1)),
)
def test_one_out_of_range_answer_rejects_the_whole_csv(
    rows: list[list[int]], data: st.DataObject, bad: int
) -> None:
    row = data.draw(st.integers(0, len(rows) - 1))
    item = data.draw(st.integers(0, 8))
    rows[row][item] = bad
    upload = csv_upload([["2024-01-01T08:00:00Z", *answer] for answer in rows])
    with pytest.raises(InvalidValueError) as caught:
        load(upload, display="phq.csv")
    assert str(caught.value).startswith(f"phq.csv, line {row + 2}: item_{item + 1} is {bad}")


@settings(max_examples=40, deadline=None)
@given(answers, st.integers(0, 27))
def test_a_written_total_must_equal_the_sum(ans: list[int], total: int) -> None:
    upload = json_upload([{"answered_at": "2024-01-01T08:00:00Z", "items": ans, "total": total}])
    if total == sum(ans):
        assert load(upload, display="phq.json").phq9["total"].to_list() == [total]
    else:
        with pytest.raises(InvalidValueError, match=f"total is {total} but the items add up"):
            load(upload, display="phq.json")


@settings(max_examples=30, deadline=None)
@given(answers, st.sampled_from(["LA6568-5", "LA6569-3", "LA6570-1", "LA6571-9", "LA1234-5"]))
def test_fhir_answer_codes_score_0_to_3_and_unknown_codes_are_refused(
    ans: list[int], code: str
) -> None:
    codes = ["LA6568-5", "LA6569-3", "LA6570-1", "LA6571-9"]
    linked = [f"PHQ.{n}" for n in range(1, 10)]
    response = {
        "resourceType": "QuestionnaireResponse",
        "id": "r1",
        "authored": "2024-01-01T08:00:00Z",
        "item": [
            {"linkId": link, "answer": [{"valueCoding": {"code": codes[a]}}]}
            for link, a in zip(linked, ans, strict=True)
        ],
    }
    response["item"][0]["answer"][0]["valueCoding"]["code"] = code  # type: ignore[index]
    upload = json.dumps(response).encode()
    if code in codes:
        entry = load(upload, display="qr.json").phq9.row(0, named=True)
        assert items(entry) == [codes.index(code), *ans[1:]]
    else:
        with pytest.raises(InvalidValueError, match="item_1 has the unknown answer code LA1234-5"):
            load(upload, display="qr.json")


@settings(max_examples=25, deadline=None)
@given(st.randoms(use_true_random=False))
def test_the_order_of_fhir_items_never_matters(rng: random.Random) -> None:
    response = json.loads((PHQ / "questionnaire_response.json").read_text())
    rng.shuffle(response["item"][0]["item"])
    entry = load(json.dumps(response).encode(), display="qr.json").phq9.row(0, named=True)
    assert items(entry) == [2, 2, 2, 2, 1, 1, 2, 1, 1]
    assert (entry["total"], entry["difficulty"]) == (14, 1)


def test_an_answer_keeps_the_offset_it_was_given_with(tmp_path: Path) -> None:
    """The instant is stored in UTC; the offset says which local date the answer was on."""
    (tmp_path / "phq9.csv").write_text(
        "answered_at,item_1,item_2,item_3,item_4,item_5,item_6,item_7,item_8,item_9\n"
        "2026-03-01T23:30:00-08:00,1,1,1,1,0,0,0,0,0\n"
        "2026-03-02T00:30:00+13:00,1,1,1,1,0,0,0,0,0\n"
        "2026-03-03T09:00:00Z,1,1,1,1,0,0,0,0,0\n"
    )
    (tmp_path / "more.json").write_text(
        json.dumps(
            [
                {"answered_at": "2026-03-04T22:45:00-05:00", "items": [0] * 9},
                {"answered_at": "2026-03-05", "items": [0] * 9},
            ]
        )
    )
    csv = load(tmp_path / "phq9.csv").phq9.sort("answered_at")
    assert csv.select("answered_at", "utc_offset_min").rows() == [
        (datetime(2026, 3, 1, 11, 30, tzinfo=UTC), 780),
        (datetime(2026, 3, 2, 7, 30, tzinfo=UTC), -480),
        (datetime(2026, 3, 3, 9, 0, tzinfo=UTC), 0),
    ]
    answers = load(tmp_path / "more.json").phq9
    # a bare date names no clock: no offset, its day is that date
    assert answers["utc_offset_min"].to_list() == [-300, None]
