"""False alerts are put down to the cause the simulator knows of; missed relapses are listed
with what they moved."""

from __future__ import annotations

from datetime import date

import polars as pl

from simulate import simulate_cohort
from simulate.diagnosis import false_alert_causes, missed_relapses


def test_each_false_alert_gets_the_cause_around_it() -> None:
    patients = simulate_cohort(8, 365, seed=7).patients
    one = patients.row(0, named=True)
    patients = patients.with_columns(
        life_event=pl.when(pl.col("patient_id") == one["patient_id"])
        .then(pl.lit("illness"))
        .otherwise(pl.col("life_event")),
        life_event_start=pl.when(pl.col("patient_id") == one["patient_id"])
        .then(pl.lit(date(2025, 5, 1)))
        .otherwise(pl.col("life_event_start")),
        life_event_end=pl.when(pl.col("patient_id") == one["patient_id"])
        .then(pl.lit(date(2025, 5, 8)))
        .otherwise(pl.col("life_event_end")),
        trips=pl.when(pl.col("patient_id") == one["patient_id"])
        .then(pl.lit(["Asia/Tokyo 2025-09-01..2025-09-10"]))
        .otherwise(pl.col("trips")),
        device_change_on=pl.lit(None, pl.Date),
        relapse_onset=pl.lit(None, pl.Date),
    )
    alerts = pl.DataFrame(
        {
            "patient_id": [one["patient_id"]] * 3,
            "kind": ["passive_change"] * 3,
            "fired_on": [date(2025, 5, 20), date(2025, 9, 12), date(2025, 12, 1)],
        }
    )
    causes = false_alert_causes(alerts, patients)["cause"].to_list()
    assert causes == ["life event: illness", "trip across time zones", "noise (no known cause)"]


def test_missed_relapses_list_what_the_relapse_moved() -> None:
    cohort = simulate_cohort(4, 365, seed=7)
    relapsing = cohort.labels.drop_nulls()
    per_relapse = relapsing.with_columns(
        confirmed_on=pl.col("relapse_onset") + pl.duration(days=20),
        first_alert_any=pl.col("relapse_onset") + pl.duration(days=20),
        first_alert_passive=pl.lit(None, pl.Date),
    )
    missed = missed_relapses(per_relapse, cohort.patients)
    assert missed["patient_id"].to_list() == relapsing["patient_id"].to_list()
    assert {"vendor", "sleep_response", "effect_hrv_sd"} <= set(missed.columns)
