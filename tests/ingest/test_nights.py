"""build_nights, one rule at a time, on hand-built sample frames."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from ingest import build_nights
from ingest.errors import SchemaError
from ingest.schema import NIGHTS
from tests.ingest.nightkit import daily, frame, sample


def night(nights: pl.DataFrame, day: str, patient: str = "p1") -> dict[str, object]:
    rows = nights.filter(
        (pl.col("patient_id") == patient) & (pl.col("date") == date.fromisoformat(day))
    )
    assert rows.height == 1, f"expected one row for {patient} on {day}, got {rows.height}"
    return rows.row(0, named=True)


def test_empty_samples_give_an_empty_nights_table() -> None:
    nights = build_nights(frame())
    assert nights.is_empty()
    assert nights.schema == pl.Schema(NIGHTS)


def test_samples_of_the_wrong_shape_are_refused_naming_the_columns() -> None:
    wrong = frame(sample("steps", "2024-03-02T10:00", "2024-03-02T11:00", value=5.0)).drop("unit")
    with pytest.raises(SchemaError, match="missing column 'unit'"):
        build_nights(wrong.with_columns(pl.col("value").cast(pl.Int64)))


def test_a_night_belongs_to_the_date_it_ends_on_with_onset_and_midpoint_from_noon() -> None:
    nights = build_nights(frame(sample("sleep_asleep", "2024-03-01T23:00", "2024-03-02T07:00")))
    assert nights.schema == pl.Schema(NIGHTS)
    row = night(nights, "2024-03-02")
    assert nights.height == 1
    assert row["sleep_total_min"] == 480
    assert row["sleep_main_min"] == 480
    assert row["sleep_onset_min"] == 660  # 23:00 is 11 hours after noon
    assert row["sleep_midpoint_min"] == 660 + 240  # 03:00
    assert row["sleep_periods"] == 1
    assert row["sleep_source"] == "oura"
    assert row["utc_offset_min"] == 60
    assert row["has_sleep"] and not row["has_hrv"] and not row["has_steps"]
    assert row["sleep_efficiency"] is None  # no in-bed record: unknown, not 1


def test_overlapping_stages_are_counted_once_and_awake_and_in_bed_are_not_asleep() -> None:
    nights = build_nights(
        frame(
            sample("sleep_in_bed", "2024-03-01T22:30", "2024-03-02T07:30"),
            sample("sleep_core", "2024-03-01T23:00", "2024-03-02T03:00"),
            sample("sleep_deep", "2024-03-02T02:00", "2024-03-02T04:00"),  # overlaps core by 1h
            sample("sleep_awake", "2024-03-02T04:00", "2024-03-02T04:30"),
            sample("sleep_rem", "2024-03-02T04:30", "2024-03-02T07:00"),
        )
    )
    row = night(nights, "2024-03-02")
    assert row["sleep_total_min"] == 5 * 60 + 150  # 23:00-04:00 and 04:30-07:00
    assert row["sleep_periods"] == 1  # a 30-minute wake-up stays inside the night
    assert row["sleep_efficiency"] == pytest.approx(450 / 540)


def test_naps_count_in_the_total_but_not_in_the_main_sleep() -> None:
    nights = build_nights(
        frame(
            sample("sleep_asleep", "2024-03-01T23:30", "2024-03-02T06:30"),
            sample("sleep_asleep", "2024-03-02T14:00", "2024-03-02T14:45"),
        )
    )
    row = night(nights, "2024-03-02")
    assert row["sleep_total_min"] == 420 + 45
    assert row["sleep_main_min"] == 420
    assert row["sleep_periods"] == 2
    assert row["sleep_onset_min"] == 690  # of the main sleep, not of the nap


def test_a_gap_longer_than_ninety_minutes_splits_periods() -> None:
    nights = build_nights(
        frame(
            sample("sleep_asleep", "2024-03-01T21:00", "2024-03-01T22:00"),
            sample("sleep_asleep", "2024-03-01T23:31", "2024-03-02T06:00"),
        )
    )
    # the evening doze ends on the 1st, so it is a period of the 1st, not of the night after
    assert night(nights, "2024-03-01")["sleep_total_min"] == 60
    assert night(nights, "2024-03-02")["sleep_total_min"] == 389
    assert night(nights, "2024-03-02")["sleep_periods"] == 1


def test_a_sleep_ending_after_midnight_local_is_dated_by_its_end() -> None:
    # a late sleeper: 01:00-09:00 local on the 2nd, in UTC-8 (09:00-17:00 UTC on the 2nd)
    nights = build_nights(
        frame(sample("sleep_asleep", "2024-03-02T01:00", "2024-03-02T09:00", offset=-480))
    )
    row = night(nights, "2024-03-02")
    assert row["sleep_onset_min"] == 13 * 60
    assert row["utc_offset_min"] == -480


def test_spring_forward_night_is_dated_by_the_local_wake_up_date() -> None:
    # Europe/Berlin, 31 March 2024: clocks go from 02:00 (+60) to 03:00 (+120)
    nights = build_nights(
        frame(
            sample("sleep_core", "2024-03-30T23:00", "2024-03-31T01:59", offset=60),
            sample("sleep_deep", "2024-03-31T03:00", "2024-03-31T07:00", offset=120),
        )
    )
    row = night(nights, "2024-03-31")
    assert row["sleep_total_min"] == 179 + 240
    assert row["utc_offset_min"] == 120
    assert row["sleep_onset_min"] == 660


def test_eastward_flight_moves_the_wake_up_onto_the_next_local_date() -> None:
    # asleep 20:00-04:00 UTC; the last record starts after landing in UTC+9
    nights = build_nights(
        frame(
            sample("sleep_core", "2024-05-01T16:00", "2024-05-01T20:00", offset=-240),
            sample("sleep_core", "2024-05-02T09:00", "2024-05-02T13:00", offset=540),
        )
    )
    assert nights["date"].to_list() == [date(2024, 5, 2)]
    assert night(nights, "2024-05-02")["sleep_total_min"] == 480


def test_a_wearable_with_stages_beats_a_phone_estimate_for_the_same_night() -> None:
    nights = build_nights(
        frame(
            sample("sleep_asleep", "2024-03-01T22:00", "2024-03-02T08:00", source="apple_health"),
            sample("sleep_core", "2024-03-01T23:00", "2024-03-02T03:00", source="oura"),
            sample("sleep_rem", "2024-03-02T03:00", "2024-03-02T06:00", source="oura"),
        )
    )
    row = night(nights, "2024-03-02")
    assert row["sleep_total_min"] == 420
    assert row["sleep_source"] == "oura"


def test_recorders_of_equal_rank_are_merged_as_a_union() -> None:
    nights = build_nights(
        frame(
            sample("sleep_asleep", "2024-03-01T23:00", "2024-03-02T05:00", source="fitbit"),
            sample("sleep_asleep", "2024-03-02T01:00", "2024-03-02T07:00", source="garmin"),
        )
    )
    row = night(nights, "2024-03-02")
    assert row["sleep_total_min"] == 480
    assert row["sleep_source"] == "fitbit+garmin"


def test_hrv_is_the_mean_of_readings_during_the_main_sleep_else_the_daily_value() -> None:
    nights = build_nights(
        frame(
            sample("sleep_asleep", "2024-03-01T23:00", "2024-03-02T07:00"),
            sample("hrv_rmssd", "2024-03-02T02:00", value=40.0),
            sample("hrv_rmssd", "2024-03-02T05:00", value=50.0),
            sample("hrv_rmssd", "2024-03-02T15:00", value=99.0),  # daytime: not the night's
            daily("hrv_rmssd", "2024-03-02", 70.0),
            daily("hrv_sdnn", "2024-03-02", 61.0),
            daily("hrv_rmssd", "2024-03-03", 44.0),
        )
    )
    first = night(nights, "2024-03-02")
    assert first["hrv_rmssd_ms"] == 45.0
    assert first["hrv_sdnn_ms"] == 61.0  # kept apart from RMSSD
    second = night(nights, "2024-03-03")
    assert second["hrv_rmssd_ms"] == 44.0 and second["has_hrv"]
    assert second["hrv_sdnn_ms"] is None and not second["has_sleep"]


def test_an_hrv_window_that_began_just_before_sleep_counts_for_the_night() -> None:
    nights = build_nights(
        frame(
            sample("sleep_asleep", "2024-03-01T23:00", "2024-03-02T07:00"),
            sample("hrv_rmssd", "2024-03-01T22:55", "2024-03-01T23:05", value=38.0),
            sample("hrv_rmssd", "2024-03-01T21:00", "2024-03-01T21:05", value=90.0),
        )
    )
    assert night(nights, "2024-03-02")["hrv_rmssd_ms"] == 38.0


def test_steps_are_not_double_counted_across_a_phone_and_a_watch() -> None:
    nights = build_nights(
        frame(
            sample("steps", "2024-03-02T10:00", "2024-03-02T11:00", value=1000.0, device="iPhone"),
            sample("steps", "2024-03-02T18:00", "2024-03-02T18:30", value=500.0, device="iPhone"),
            sample("steps", "2024-03-02T10:00", "2024-03-02T11:00", value=1200.0, device="Watch"),
            daily("steps", "2024-03-03", 8000.0, source="fitbit"),
            sample("steps", "2024-03-03T09:00", "2024-03-03T10:00", value=700.0, source="fitbit"),
        )
    )
    assert night(nights, "2024-03-02")["steps"] == 1200.0 + 500.0  # 10:00 counted once
    assert night(nights, "2024-03-03")["steps"] == 8000.0


def test_steps_of_a_phone_and_a_watch_in_different_hours_both_count() -> None:
    nights = build_nights(
        frame(
            sample("steps", "2024-03-02T08:10", "2024-03-02T08:40", value=2000.0, device="iPhone"),
            sample("steps", "2024-03-02T17:00", "2024-03-02T17:45", value=5000.0, device="Watch"),
            sample("steps", "2024-03-02T17:05", "2024-03-02T17:40", value=4800.0, device="iPhone"),
        )
    )
    assert night(nights, "2024-03-02")["steps"] == 7000.0


def test_a_zero_length_asleep_record_is_not_a_night_of_zero_sleep() -> None:
    nights = build_nights(
        frame(
            sample("sleep_asleep", "2024-03-02T03:00", "2024-03-02T03:00"),
            daily("steps", "2024-03-02", 4000.0),
        )
    )
    row = night(nights, "2024-03-02")
    assert row["sleep_total_min"] is None and not row["has_sleep"]


def test_resting_heart_rate_daily_or_timed_by_local_date() -> None:
    nights = build_nights(
        frame(
            daily("resting_heart_rate", "2024-03-02", 58.0, source="fitbit"),
            sample("resting_heart_rate", "2024-03-03T23:30", value=61.0, offset=-300),
        )
    )
    assert night(nights, "2024-03-02")["resting_hr_bpm"] == 58.0
    assert night(nights, "2024-03-03")["resting_hr_bpm"] == 61.0  # 04:30 UTC on the 4th


def test_dates_between_data_are_filled_with_nulls_never_zeros() -> None:
    nights = build_nights(
        frame(
            sample("sleep_asleep", "2024-03-01T23:00", "2024-03-02T07:00"),
            daily("steps", "2024-03-05", 4000.0),
            sample("sleep_asleep", "2024-03-01T23:00", "2024-03-02T06:00", patient="p2"),
        )
    )
    p1 = nights.filter(pl.col("patient_id") == "p1")
    assert p1["date"].to_list() == [date(2024, 3, d) for d in (2, 3, 4, 5)]
    gap = night(nights, "2024-03-03")
    assert gap["sleep_total_min"] is None and gap["steps"] is None
    assert not (gap["has_sleep"] or gap["has_steps"] or gap["has_hrv"] or gap["has_resting_hr"])
    assert night(nights, "2024-03-02", "p2")["sleep_total_min"] == 420
    assert nights.filter(pl.col("patient_id") == "p2").height == 1


def test_a_gap_of_exactly_ninety_minutes_stays_in_the_night() -> None:
    nights = build_nights(
        frame(
            sample("sleep_asleep", "2024-03-01T23:00", "2024-03-02T02:00"),
            sample("sleep_asleep", "2024-03-02T03:30", "2024-03-02T07:00"),
        )
    )
    row = night(nights, "2024-03-02")
    assert row["sleep_periods"] == 1
    assert row["sleep_main_min"] == 180 + 210
    assert row["sleep_midpoint_min"] == 660 + 240  # half of 23:00-07:00, the wake-up included


def test_efficiency_uses_in_bed_records_of_the_nights_own_source_only() -> None:
    nights = build_nights(
        frame(
            sample("sleep_in_bed", "2024-03-01T20:00", "2024-03-02T09:00", source="apple_health"),
            sample("sleep_in_bed", "2024-03-01T22:30", "2024-03-02T07:00", source="oura"),
            sample("sleep_core", "2024-03-01T23:00", "2024-03-02T06:00", source="oura"),
        )
    )
    assert night(nights, "2024-03-02")["sleep_efficiency"] == pytest.approx(420 / 510)


def test_days_without_sleep_take_the_offset_of_their_last_sample() -> None:
    nights = build_nights(
        frame(
            sample("sleep_asleep", "2024-03-01T23:00", "2024-03-02T07:00", offset=60),
            sample("steps", "2024-03-03T09:00", "2024-03-03T10:00", value=10.0, offset=60),
            sample("steps", "2024-03-03T20:00", "2024-03-03T21:00", value=10.0, offset=-300),
        )
    )
    assert night(nights, "2024-03-02")["utc_offset_min"] == 60
    assert night(nights, "2024-03-03")["utc_offset_min"] == -300
