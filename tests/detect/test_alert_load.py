"""Alert load on people without labels: per person-month, by metric and week, and wellness."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl

from detect.alert_load import alert_load, wellness_after_alerts

START = date(2020, 1, 1)


def two_people_for_two_months() -> pl.DataFrame:
    days = pl.date_range(START, START + timedelta(days=60), eager=True)
    return pl.concat(pl.DataFrame({"patient_id": pid, "date": days}) for pid in ("a", "b"))


def alerts(*rows: tuple[str, str, date, str | None]) -> pl.DataFrame:
    return pl.DataFrame(
        rows,
        schema={
            "patient_id": pl.String,
            "kind": pl.String,
            "fired_on": pl.Date,
            "metric": pl.String,
        },
        orient="row",
    )


def test_passive_alerts_per_person_month_by_metric_and_week() -> None:
    found = alerts(
        ("a", "passive_change", date(2020, 1, 10), "resting_hr_bpm"),
        ("a", "passive_change", date(2020, 1, 12), "resting_hr_bpm"),  # the same alert
        ("b", "passive_change", date(2020, 1, 9), "sleep_total_min"),
        ("b", "data_gap", date(2020, 2, 20), None),
    )
    load = alert_load(found, two_people_for_two_months())
    assert load.people == 2 and load.passive_alerts == 2 and load.gap_alerts == 1
    assert round(load.person_months, 2) == round(2 * 61 / 30.44, 2)
    assert load.passive_per_person_month == 2 / load.person_months
    assert dict(load.by_metric.rows()) == {"resting_hr_bpm": 1, "sleep_total_min": 1}
    assert load.by_week.rows() == [(date(2020, 1, 6), 2, 2)]
    assert load.busiest_week_share == 1.0


def test_wellness_after_alerts_against_each_persons_own_days() -> None:
    days = pl.date_range(START, START + timedelta(days=40), eager=True)
    mood = [
        2.0 if START + timedelta(days=10) < d <= START + timedelta(days=24) else 4.0 for d in days
    ]
    wellness = pl.DataFrame({"patient_id": "a", "day": days, "mood": mood})
    table = wellness_after_alerts(
        alerts(("a", "passive_change", START + timedelta(days=10), "sleep_total_min")), wellness
    )
    row = table.row(0, named=True)
    assert row["item"] == "mood" and row["alerts"] == 1 and row["after_alerts"] == 2.0
    assert row["difference"] < -1  # felt worse after the alert than on a random day
