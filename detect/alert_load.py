"""How many alerts people without labels get, and whether they went with feeling worse.

Pure functions over polars frames, used by ``phenowatch evaluate-real`` on any cohort folder
(real people, no ``labels.csv``). Definitions, written down once:

* A person's **observed time** runs from their first to their last night (inclusive); months
  are 30.44 days. Every passive alert on people who did not relapse is one a care team would
  have read for nothing, so the figure to keep low is passive alerts per person-month.
* Signals of one patient and kind within ``merge_within_days`` of the previous are one alert
  (as ``detect.evaluation``).
* **Wellness after alerts**: a self-report item (higher is better in PMData's pmsys: mood,
  sleep quality, readiness, and fatigue, stress and soreness scored so that 5 is fresh,
  relaxed, not sore) averaged over the ``after_days`` days after each passive alert, against
  the same person's average over every day they reported: the expectation for random days.
  A negative difference means people felt worse after alerts than on a random day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import polars as pl

from detect.evaluation import DAYS_PER_MONTH, alerts_frame, merge_alerts, observation_period
from detect.signals import Signal

PASSIVE = "passive_change"
GAP = "data_gap"
#: one alert a row, as alert load reads it: the first named metric of its sentence, or null
ALERT_ROWS: dict[str, pl.DataType] = {
    "patient_id": pl.String(),
    "kind": pl.String(),
    "severity": pl.String(),
    "fired_on": pl.Date(),
    "metric": pl.String(),
}


@dataclass(frozen=True)
class AlertLoad:
    people: int
    person_months: float
    passive_alerts: int
    gap_alerts: int
    per_person: pl.DataFrame  # patient_id, months, passive, data_gap
    by_metric: pl.DataFrame  # metric (the sentence's first), alerts
    by_week: pl.DataFrame  # week (its Monday), alerts, people
    #: the share of all passive alerts in the busiest week: a calendar effect shows as a spike
    busiest_week_share: float | None

    @property
    def passive_per_person_month(self) -> float | None:
        return self.passive_alerts / self.person_months if self.person_months else None


def signal_rows(signals: list[Signal]) -> pl.DataFrame:
    """Signals as ``ALERT_ROWS``."""
    return pl.DataFrame(
        [
            (s.patient_id, s.kind, s.severity, s.fired_on, s.metrics[0] if s.metrics else None)
            for s in signals
        ],
        schema=ALERT_ROWS,
        orient="row",
    )


def alert_load(
    alerts: pl.DataFrame, nights: pl.DataFrame, *, merge_within_days: int | None = 7
) -> AlertLoad:
    """Alert counts over the people in ``nights``; ``alerts`` holds patient_id, kind, fired_on
    and optionally ``metric`` (the first metric of the sentence)."""
    if "metric" not in alerts.columns:
        alerts = alerts.with_columns(metric=pl.lit(None, pl.String))
    metric = alerts.select("patient_id", "kind", pl.col("fired_on").cast(pl.Date), "metric")
    merged = merge_alerts(alerts_frame(alerts), merge_within_days).join(
        metric.unique(["patient_id", "kind", "fired_on"]), on=["patient_id", "kind", "fired_on"]
    )
    period = observation_period(nights).with_columns(
        months=((pl.col("last_day") - pl.col("first_day")).dt.total_days() + 1) / DAYS_PER_MONTH
    )
    counts = (
        merged.filter(pl.col("kind").is_in([PASSIVE, GAP]))
        .group_by("patient_id")
        .agg(
            passive=(pl.col("kind") == PASSIVE).sum(),
            data_gap=(pl.col("kind") == GAP).sum(),
        )
    )
    per_person = (
        period.select("patient_id", "months")
        .join(counts, on="patient_id", how="left")
        .with_columns(pl.col("passive", "data_gap").fill_null(0).cast(pl.Int64))
        .sort("patient_id")
    )
    passive = merged.filter(pl.col("kind") == PASSIVE)
    by_metric = (
        passive.group_by(pl.col("metric").fill_null("(none)"))
        .agg(alerts=pl.len())
        .sort("alerts", "metric", descending=[True, False])
    )
    by_week = (
        passive.group_by(week=pl.col("fired_on").dt.truncate("1w"))
        .agg(alerts=pl.len(), people=pl.col("patient_id").n_unique())
        .sort("week")
    )
    n = passive.height
    return AlertLoad(
        people=per_person.height,
        person_months=float(per_person["months"].sum()) if per_person.height else 0.0,
        passive_alerts=n,
        gap_alerts=int(per_person["data_gap"].sum()) if per_person.height else 0,
        per_person=per_person,
        by_metric=by_metric,
        by_week=by_week,
        busiest_week_share=float(by_week["alerts"].max()) / n if n else None,  # type: ignore[arg-type]
    )


def wellness_after_alerts(
    alerts: pl.DataFrame,
    wellness: pl.DataFrame,
    *,
    after_days: int = 14,
    merge_within_days: int | None = 7,
) -> pl.DataFrame:
    """One row per wellness item: alerts with reports after them, the mean after alerts, the
    mean on random days (each person's own mean, weighted as the alerts are), the difference.

    ``wellness``: patient_id, day (Date), then one numeric column per item."""
    items = [c for c in wellness.columns if c not in ("patient_id", "day")]
    passive = (
        merge_alerts(alerts_frame(alerts.filter(pl.col("kind") == PASSIVE)), merge_within_days)
        .select("patient_id", "fired_on")
        .with_row_index("alert")
    )
    own = wellness.group_by("patient_id").agg(pl.col(items).mean().name.suffix("_own"))
    after = (
        passive.join(wellness, on="patient_id")
        .filter(
            pl.col("day") > pl.col("fired_on"),
            pl.col("day") <= pl.col("fired_on") + timedelta(days=after_days),
        )
        .group_by("alert", "patient_id")
        .agg(pl.col(items).mean())
        .join(own, on="patient_id")
    )
    rows = []
    for item in items:
        both = after.filter(pl.col(item).is_not_null(), pl.col(f"{item}_own").is_not_null())
        mean_after = both[item].mean() if both.height else None
        mean_random = both[f"{item}_own"].mean() if both.height else None
        rows.append(
            (
                item,
                both.height,
                mean_after,
                mean_random,
                None
                if mean_after is None or mean_random is None
                else float(mean_after) - float(mean_random),  # type: ignore[arg-type]
            )
        )
    return pl.DataFrame(
        rows,
        schema={
            "item": pl.String(),
            "alerts": pl.Int64(),
            "after_alerts": pl.Float64(),
            "random_days": pl.Float64(),
            "difference": pl.Float64(),
        },
        orient="row",
    )
