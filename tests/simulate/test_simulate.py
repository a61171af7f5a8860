"""The simulated cohort: truth frames in the declared schemas, with the properties the
evaluation relies on (remission before relapse, PHQ-9 confirmation after the passive change,
honest effect sizes, local dates that stay right across travel and daylight saving)."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from ingest import schema
from simulate import Cohort, simulate_cohort


@pytest.fixture(scope="module")
def cohort() -> Cohort:
    return simulate_cohort(60, 365, seed=7)


def test_frames_follow_the_declared_schemas(cohort: Cohort) -> None:
    schema.validate(cohort.nights, schema.NIGHTS, "nights")
    schema.validate(cohort.phq9, schema.PHQ9, "phq9")
    assert cohort.labels.schema == {"patient_id": pl.String(), "relapse_onset": pl.Date()}
    assert cohort.nights.height == 60 * 365
    assert cohort.nights.select("patient_id", "date").is_unique().all()


def test_same_seed_same_cohort_other_seed_other_cohort() -> None:
    a, b = simulate_cohort(5, 120, seed=3), simulate_cohort(5, 120, seed=3)
    assert_frame_equal(a.nights, b.nights)
    assert_frame_equal(a.phq9, b.phq9)
    assert not simulate_cohort(5, 120, seed=4).nights.equals(a.nights)


def test_about_half_relapse_and_every_vendor_is_used(cohort: Cohort) -> None:
    assert cohort.labels["relapse_onset"].is_not_null().sum() == 30
    assert set(cohort.patients["vendor"]) == {"apple_health", "fitbit", "oura", "garmin"}


def test_missing_nights_are_nulls_never_zeros(cohort: Cohort) -> None:
    missing = cohort.nights.filter(~pl.col("has_sleep"))
    assert 0.03 < missing.height / cohort.nights.height < 0.25
    assert missing["sleep_total_min"].null_count() == missing.height
    assert missing["steps"].null_count() == missing.height
    no_hrv = cohort.nights.filter(~pl.col("has_hrv"))
    assert no_hrv.select(pl.col("hrv_sdnn_ms", "hrv_rmssd_ms").null_count()).row(0) == (
        no_hrv.height,
        no_hrv.height,
    )
    assert (cohort.nights["sleep_total_min"].drop_nulls() > 0).all()


def test_apple_reports_sdnn_and_the_others_rmssd(cohort: Cohort) -> None:
    hrv = cohort.nights.filter(pl.col("has_hrv"))
    apple = hrv["sleep_source"] == "apple_health"
    assert hrv.filter(apple)["hrv_rmssd_ms"].null_count() == apple.sum()
    assert hrv.filter(~apple)["hrv_sdnn_ms"].null_count() == (~apple).sum()


def test_main_sleep_ends_on_its_local_wake_date(cohort: Cohort) -> None:
    main = cohort.periods.filter(pl.col("main")).with_columns(
        local_wake=(pl.col("wake_at") + pl.duration(minutes=pl.col("utc_offset_min"))).dt.date()
    )
    assert (main["local_wake"] == main["date"]).all()
    onset = cohort.nights["sleep_onset_min"].drop_nulls()
    assert onset.min() >= 0
    assert onset.max() < 1440
    assert 840 < cohort.nights["sleep_midpoint_min"].median() < 1140  # 02:00–07:00


def test_daylight_saving_moves_the_utc_offset_but_not_the_local_clock() -> None:
    c = simulate_cohort(8, 365, seed=11)
    ny = c.patients.filter(
        pl.col("home_zone") == "America/New_York", pl.col("trips").list.len() == 0
    )
    if ny.height == 0:
        pytest.skip("no stay-at-home New York patient drawn for this seed")
    pid = ny["patient_id"][0]
    days = c.days_frame.filter(pl.col("patient_id") == pid)
    offsets = dict(zip(days["date"], days["utc_offset_min"], strict=True))
    assert offsets[date(2025, 3, 1)] == -300
    assert offsets[date(2025, 4, 1)] == -240
    nights = c.nights.filter(pl.col("patient_id") == pid, pl.col("has_sleep"))
    around = nights.filter(pl.col("date").is_between(date(2025, 2, 20), date(2025, 3, 20)))
    # local midpoints stay in the night (between 00:00 and 10:00) on both sides of the change
    assert around["sleep_midpoint_min"].is_between(720, 1320).all()


def test_remission_before_relapse_and_confirmation_after_onset(cohort: Cohort) -> None:
    entries = cohort.phq9.join(cohort.labels, on="patient_id").with_columns(
        day=pl.col("answered_at").dt.date()
    )
    never = entries.filter(pl.col("relapse_onset").is_null())
    assert never["total"].max() < 5
    before = entries.filter(pl.col("day") < pl.col("relapse_onset"))
    assert before["total"].max() < 5
    confirmed = (
        entries.filter(pl.col("day") >= pl.col("relapse_onset"), pl.col("total") >= 10)
        .group_by("patient_id")
        .agg((pl.col("day").min() - pl.col("relapse_onset").first()).dt.total_days().alias("lag"))
    )
    assert confirmed.height >= 27  # nearly every relapse is confirmed by a PHQ-9
    assert confirmed["lag"].min() >= 7  # the PHQ-9 lags the passive change
    assert confirmed["lag"].max() <= 70


def test_items_add_up_and_item_9_only_around_relapse(cohort: Cohort) -> None:
    items = cohort.phq9.select(pl.sum_horizontal(schema.PHQ9_ITEMS)).to_series()
    assert (items == cohort.phq9["total"].cast(pl.Int64)).all()
    assert cohort.phq9.select(pl.max_horizontal(schema.PHQ9_ITEMS)).to_series().max() <= 3
    item9 = cohort.phq9.filter(pl.col("item_9") > 0).join(cohort.labels, on="patient_id")
    assert item9["relapse_onset"].null_count() == 0
    # about 15% of the fortnightly questionnaires are skipped
    per_patient = cohort.phq9.group_by("patient_id").len()["len"]
    assert 20 <= per_patient.mean() <= 25


def test_a_relapse_moves_metrics_by_about_one_to_two_noise_sds(cohort: Cohort) -> None:
    relapsing = cohort.patients.filter(pl.col("relapse_onset").is_not_null())
    nights = cohort.nights.join(relapsing.select("patient_id", "relapse_onset"), on="patient_id")
    phase = (
        pl.when(pl.col("date") < pl.col("relapse_onset") - timedelta(days=7))
        .then(pl.lit("before"))
        .when(
            pl.col("date").is_between(
                pl.col("relapse_onset") + timedelta(days=21),
                pl.col("relapse_onset") + timedelta(days=49),
            )
        )
        .then(pl.lit("during"))
    )
    steps = (
        nights.with_columns(phase=phase)
        .drop_nulls("phase")
        .group_by("patient_id", "phase")
        .agg(pl.col("steps").mean().alias("mean"), pl.col("steps").std().alias("sd"))
        .pivot("phase", index="patient_id", values=["mean", "sd"])
        .join(relapsing, on="patient_id")
        .filter(pl.col("effect_steps_sd") > 0)
        .with_columns(z=(pl.col("mean_before") - pl.col("mean_during")) / pl.col("sd_before"))
    )
    # noticeable but not trivial: on average around one SD of the person's own spread
    assert 0.5 < steps["z"].median() < 2.5


def test_a_short_cohort_has_no_relapse_without_a_baseline() -> None:
    c = simulate_cohort(4, 60, seed=1)
    assert c.labels["relapse_onset"].null_count() == 4
    assert c.nights.height == 240


def test_on_a_trip_dates_and_clocks_are_the_destinations(cohort: Cohort) -> None:
    trips = (
        cohort.patients.select("patient_id", "trips")
        .explode("trips")
        .drop_nulls()
        .with_columns(
            zone=pl.col("trips").str.extract(r"^(\S+) "),
            first=pl.col("trips").str.extract(r" (\d{4}-\d{2}-\d{2})\.\.").str.to_date(),
            last=pl.col("trips").str.extract(r"\.\.(\d{4}-\d{2}-\d{2})$").str.to_date(),
        )
    )
    assert trips.height > 5
    away = cohort.days_frame.join(trips, on="patient_id").filter(
        pl.col("date").is_between(pl.col("first") + timedelta(days=2), pl.col("last"))
    )
    assert (away["zone"] == away["zone_right"]).all()
    nights = cohort.nights.join(away.select("patient_id", "date"), on=["patient_id", "date"])
    # after the first two nights the body follows the local clock again: 02:00-07:00 midpoints
    slept = nights.filter(pl.col("has_sleep"))
    assert slept["sleep_midpoint_min"].is_between(720, 1260).mean() > 0.9


def test_a_new_device_reads_hrv_about_ten_percent_differently(cohort: Cohort) -> None:
    changed = cohort.patients.filter(
        pl.col("device_change_on").is_not_null(), pl.col("second_vendor").is_null()
    )
    assert changed.height > 0
    nights = cohort.nights.join(changed, on="patient_id").with_columns(
        hrv=pl.coalesce("hrv_sdnn_ms", "hrv_rmssd_ms"),
        after=pl.col("date") >= pl.col("device_change_on"),
    )
    # compare the 60 nights either side, away from any relapse
    near = nights.filter(
        (pl.col("date") - pl.col("device_change_on")).dt.total_days().abs() <= 60,
        pl.col("relapse_onset").is_null(),
    )
    ratios = (
        near.group_by("patient_id", "after")
        .agg(pl.col("hrv").mean(), pl.col("device_hrv_factor").first())
        .pivot("after", index=["patient_id", "device_hrv_factor"], values="hrv")
        .with_columns(ratio=pl.col("true") / pl.col("false"))
        .drop_nulls("ratio")
    )
    if ratios.height == 0:
        pytest.skip("no device change away from a relapse for this seed")
    assert ((ratios["ratio"] - ratios["device_hrv_factor"]).abs() < 0.08).mean() >= 0.75


def test_life_events_move_sleep_without_a_relapse(cohort: Cohort) -> None:
    babies = cohort.patients.filter(pl.col("life_event") == "new_baby")
    assert babies["relapse_onset"].null_count() == babies.height
    if babies.height == 0:
        pytest.skip("no new baby drawn for this seed")
    nights = cohort.nights.join(babies, on="patient_id").with_columns(
        during=pl.col("date").is_between("life_event_start", "life_event_end"),
    )
    sleep = nights.group_by("patient_id", "during").agg(pl.col("sleep_main_min").median())
    wide = sleep.pivot("during", index="patient_id", values="sleep_main_min")
    assert (wide["true"] < wide["false"] - 30).all()
