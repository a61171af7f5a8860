"""Why an alert was false or a relapse missed, from what the simulator knows about each patient.

A false passive alert is put down to the nearest known cause around it (a life event, a change
of device, a trip, the tail of a relapse after its excluded span) or to nothing but noise; a
missed relapse is described by the metrics it moved and how strongly. These tables are what a
detector's owner reads to tune thresholds.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, timedelta

import polars as pl

from detect.signals import Signal

#: days around a cause within which an alert is put down to it: (before, after its end)
EVENT_REACH = (7, 28)
DEVICE_REACH = (7, 42)
TRIP_REACH = (3, 10)
_TRIP = re.compile(r"^(?P<zone>\S+) (?P<first>\d{4}-\d{2}-\d{2})\.\.(?P<last>\d{4}-\d{2}-\d{2})$")


def signals_frame(signals: Iterable[Signal]) -> pl.DataFrame:
    """patient_id, kind, severity, fired_on, metrics (sorted, "+"-joined), explanation."""
    rows = [
        (s.patient_id, s.kind, s.severity, s.fired_on, "+".join(sorted(s.metrics)), s.explanation)
        for s in signals
    ]
    return pl.DataFrame(
        rows,
        schema={
            "patient_id": pl.String,
            "kind": pl.String,
            "severity": pl.String,
            "fired_on": pl.Date,
            "metrics": pl.String,
            "explanation": pl.String,
        },
        orient="row",
    )


def trips_frame(patients: pl.DataFrame) -> pl.DataFrame:
    """patient_id, zone, first, last: one row per trip."""
    rows = []
    for pid, trips in patients.select("patient_id", "trips").iter_rows():
        for trip in trips or []:
            match = _TRIP.match(trip)
            if match:
                rows.append(
                    (
                        pid,
                        match["zone"],
                        date.fromisoformat(match["first"]),
                        date.fromisoformat(match["last"]),
                    )
                )
    return pl.DataFrame(
        rows,
        schema={"patient_id": pl.String, "zone": pl.String, "first": pl.Date, "last": pl.Date},
        orient="row",
    )


def _near(first: str, last: str, reach: tuple[int, int]) -> pl.Expr:
    return pl.col("fired_on").is_between(
        pl.col(first) - timedelta(days=reach[0]), pl.col(last) + timedelta(days=reach[1])
    )


def false_alert_causes(false_alerts: pl.DataFrame, patients: pl.DataFrame) -> pl.DataFrame:
    """``false_alerts`` (patient_id, fired_on, …) with a ``cause`` column."""
    alerts = false_alerts.with_row_index("alert")
    known = alerts.join(patients, on="patient_id", how="left")
    trips = trips_frame(patients)
    on_trip = (
        alerts.join(trips, on="patient_id")
        .filter(_near("first", "last", TRIP_REACH))
        .select("alert")
        .unique()
        .with_columns(trip=pl.lit(True))
    )
    cause = (
        pl.when(_near("life_event_start", "life_event_end", EVENT_REACH))
        .then(pl.format("life event: {}", pl.col("life_event")))
        .when(_near("device_change_on", "device_change_on", DEVICE_REACH))
        .then(
            pl.when(pl.col("second_vendor").is_not_null())
            .then(pl.lit("change of vendor"))
            .otherwise(pl.lit("new device, same vendor"))
        )
        .when(pl.col("trip").fill_null(False))
        .then(pl.lit("trip across time zones"))
        .when(pl.col("relapse_onset").is_not_null())
        .then(
            pl.when(pl.col("fired_on") < pl.col("relapse_onset"))
            .then(pl.lit("noise, long before a relapse"))
            .otherwise(pl.lit("after a relapse's excluded span"))
        )
        .otherwise(pl.lit("noise (no known cause)"))
    )
    return (
        known.join(on_trip, on="alert", how="left")
        .with_columns(cause=cause)
        .select(*false_alerts.columns, "cause")
    )


def missed_relapses(per_relapse: pl.DataFrame, patients: pl.DataFrame) -> pl.DataFrame:
    """Confirmed relapses no passive alert caught, with what the relapse moved (in SDs)."""
    return (
        per_relapse.filter(
            pl.col("confirmed_on").is_not_null(), pl.col("first_alert_passive").is_null()
        )
        .join(patients, on=["patient_id", "relapse_onset"], how="left")
        .select(
            "patient_id",
            "relapse_onset",
            "confirmed_on",
            "first_alert_any",
            "vendor",
            "sleep_response",
            *(pl.col(f"effect_{m}_sd").round(2) for m in ("sleep", "hrv", "rhr", "steps")),
        )
    )
