"""How early and how often the alerts come: alerts judged against known relapse onsets.

Pure functions over polars frames, shared by ``phenowatch evaluate`` and the replay report.

Definitions, written down once:

* A relapse is **confirmed** by the first PHQ-9 answered on or after its onset with a total of
  10 or more (``confirmed_on``, the patient's local date of the answer). Relapses never
  confirmed are counted apart and left out of sensitivity.
* A relapse is **caught** when an alert fires in ``[onset - lookback_days, confirmed_on]``.
  "Any" counts ``passive_change``, ``phq9_relapse`` and ``phq9_safety`` alerts; "passive" counts
  ``passive_change`` alone. The **lead time** is ``confirmed_on`` minus the first such alert
  (days; 0 when only the confirming PHQ-9 itself raised the alert).
* A passive alert is **false** when it fires outside every relapse's excluded span
  ``[onset - lookback_days, confirmed_on + recovery_days]`` (an unconfirmed relapse's span
  runs ``recovery_days`` past its onset instead). False alerts are counted per patient-month
  (30.44 days) of observed time outside those spans.
* Signals of one patient and kind that follow each other within ``merge_within_days`` are one
  alert, as the service keeps one alert open per patient and kind (``None``: count every signal).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

import numpy as np
import polars as pl

from detect.phq9_rules import answered_on, with_offsets
from detect.signals import Signal

PASSIVE = "passive_change"
CATCHING_KINDS = ("passive_change", "phq9_relapse", "phq9_safety")
DAYS_PER_MONTH = 30.44

ALERTS = {
    "patient_id": pl.String(),
    "kind": pl.String(),
    "severity": pl.String(),
    "fired_on": pl.Date(),
}


@dataclass(frozen=True)
class Targets:
    sensitivity: float = 0.80
    median_lead_days: float = 7.0
    false_passive_per_patient_month: float = 0.12


@dataclass(frozen=True)
class Evaluation:
    patients: int
    relapses: int
    confirmed: int
    caught_any: int
    caught_passive: int
    median_lead_any: float | None  # days before the confirming PHQ-9, over caught relapses
    median_lead_passive: float | None
    alerts: int  # after merging, every kind
    passive_alerts: int
    false_passive: int
    patient_months_outside: float
    patient_weeks: float
    #: one row per relapse: onset, confirmation, first alerts and lead times
    per_relapse: pl.DataFrame
    #: the passive alerts counted as false
    false_alerts: pl.DataFrame

    @property
    def sensitivity_any(self) -> float | None:
        return self.caught_any / self.confirmed if self.confirmed else None

    @property
    def sensitivity_passive(self) -> float | None:
        return self.caught_passive / self.confirmed if self.confirmed else None

    @property
    def false_passive_per_patient_month(self) -> float | None:
        months = self.patient_months_outside
        return self.false_passive / months if months else None

    @property
    def chance_passive_sensitivity(self) -> float | None:
        """The passive sensitivity a detector with no skill would reach: passive alerts at
        this evaluation's false-alert rate, at random times, landing in each catch window."""
        rate = self.false_passive_per_patient_month
        windows = self.per_relapse.filter(pl.col("confirmed_on").is_not_null()).select(
            days=(pl.col("confirmed_on") - pl.col("catch_from")).dt.total_days() + 1
        )
        if rate is None or windows.height == 0:
            return None
        months = windows["days"].to_numpy() / DAYS_PER_MONTH
        return float(np.mean(1 - np.exp(-rate * months)))

    @property
    def alerts_per_100_patient_weeks(self) -> float | None:
        return 100 * self.alerts / self.patient_weeks if self.patient_weeks else None

    @property
    def passive_alerts_per_100_patient_weeks(self) -> float | None:
        return 100 * self.passive_alerts / self.patient_weeks if self.patient_weeks else None

    def meets(self, targets: Targets = Targets()) -> dict[str, bool]:
        """Which targets are met (a missing figure never meets its target)."""
        sens, lead = self.sensitivity_any, self.median_lead_any
        false = self.false_passive_per_patient_month
        return {
            "sensitivity": sens is not None and sens >= targets.sensitivity,
            "median_lead_days": lead is not None and lead >= targets.median_lead_days,
            "false_passive_per_patient_month": false is not None
            and false <= targets.false_passive_per_patient_month,
        }


def alerts_frame(alerts: Iterable[Signal] | pl.DataFrame) -> pl.DataFrame:
    """Signals (or a frame with at least patient_id, kind, fired_on) as the ALERTS frame."""
    if isinstance(alerts, pl.DataFrame):
        frame = alerts
        if "severity" not in frame.columns:
            frame = frame.with_columns(severity=pl.lit(None, pl.String))
        if frame.schema.get("fired_on") == pl.String:
            frame = frame.with_columns(pl.col("fired_on").str.to_date())
        return frame.select(pl.col(c).cast(t) for c, t in ALERTS.items())
    rows = [(s.patient_id, s.kind, s.severity, s.fired_on) for s in alerts]
    return pl.DataFrame(rows, schema=ALERTS, orient="row")


def observation_period(nights: pl.DataFrame) -> pl.DataFrame:
    """patient_id, first_day, last_day: the span of dates each patient has rows for."""
    return nights.group_by("patient_id").agg(
        pl.col("date").min().alias("first_day"), pl.col("date").max().alias("last_day")
    )


def merge_alerts(alerts: pl.DataFrame, within_days: int | None) -> pl.DataFrame:
    """One row per alert: signals of a patient and kind within ``within_days`` of the previous
    one are folded into the first."""
    alerts = alerts.sort("patient_id", "kind", "fired_on")
    if within_days is None:
        return alerts
    gap = pl.col("fired_on").diff().over("patient_id", "kind").dt.total_days()
    return alerts.filter(gap.is_null() | (gap > within_days))


def confirmations(labels: pl.DataFrame, phq9: pl.DataFrame) -> pl.DataFrame:
    """Labels of relapsing patients with ``confirmed_on``: the first PHQ-9 total of 10 or more
    on or after onset (null when none)."""
    relapses = labels.filter(pl.col("relapse_onset").is_not_null()).select(
        "patient_id", "relapse_onset"
    )
    answers = with_offsets(phq9).select("patient_id", answered_on().alias("day"), "total")
    first = (
        relapses.join(answers, on="patient_id")
        .filter(pl.col("day") >= pl.col("relapse_onset"), pl.col("total") >= 10)
        .group_by("patient_id")
        .agg(pl.col("day").min().alias("confirmed_on"))
    )
    return relapses.join(first, on="patient_id", how="left").sort("patient_id")


def _first_alert(
    relapses: pl.DataFrame, alerts: pl.DataFrame, kinds: tuple[str, ...], name: str
) -> pl.DataFrame:
    caught = (
        relapses.join(alerts.filter(pl.col("kind").is_in(kinds)), on="patient_id")
        .filter(pl.col("fired_on").is_between(pl.col("catch_from"), pl.col("confirmed_on")))
        .group_by("patient_id")
        .agg(pl.col("fired_on").min().alias(name))
    )
    return relapses.join(caught, on="patient_id", how="left")


def evaluate(
    alerts: Iterable[Signal] | pl.DataFrame,
    labels: pl.DataFrame,
    phq9: pl.DataFrame,
    period: pl.DataFrame,
    *,
    lookback_days: int = 28,
    recovery_days: int = 120,
    merge_within_days: int | None = 7,
) -> Evaluation:
    """Judge ``alerts`` against ``labels`` (patient_id, relapse_onset) using the PHQ-9 entries
    for confirmation; ``period`` (patient_id, first_day, last_day) is each patient's observed
    span (see ``observation_period``)."""
    merged = merge_alerts(alerts_frame(alerts), merge_within_days)
    lookback = timedelta(days=lookback_days)
    relapses = confirmations(labels, phq9).with_columns(
        catch_from=pl.col("relapse_onset") - lookback,
        excluded_to=pl.coalesce("confirmed_on", "relapse_onset") + timedelta(days=recovery_days),
    )
    per_relapse = _first_alert(relapses, merged, CATCHING_KINDS, "first_alert_any")
    per_relapse = _first_alert(per_relapse, merged, (PASSIVE,), "first_alert_passive")
    per_relapse = per_relapse.with_columns(
        (pl.col("confirmed_on") - pl.col(f"first_alert_{m}")).dt.total_days().alias(f"lead_{m}")
        for m in ("any", "passive")
    ).drop("excluded_to")
    confirmed = per_relapse.filter(pl.col("confirmed_on").is_not_null())

    spans = relapses.select("patient_id", "catch_from", "excluded_to")
    passive = merged.filter(pl.col("kind") == PASSIVE).with_row_index("alert")
    excused = (
        passive.join(spans, on="patient_id")
        .filter(pl.col("fired_on").is_between(pl.col("catch_from"), pl.col("excluded_to")))
        .select("alert")
        .unique()
    )
    false_alerts = passive.join(excused, on="alert", how="anti").drop("alert")

    observed = period.with_columns(
        days=(pl.col("last_day") - pl.col("first_day")).dt.total_days() + 1
    )
    overlap = (
        observed.join(spans, on="patient_id")
        .with_columns(
            days_in=(
                pl.min_horizontal("last_day", "excluded_to")
                - pl.max_horizontal("first_day", "catch_from")
            ).dt.total_days()
            + 1
        )
        .select(pl.col("days_in").clip(lower_bound=0).sum())
        .item()
    )
    total_days = float(observed["days"].sum()) if observed.height else 0.0

    def median(column: str) -> float | None:
        value = confirmed[column].drop_nulls().median()
        return None if value is None else float(value)  # type: ignore[arg-type]

    return Evaluation(
        patients=period.height,
        relapses=relapses.height,
        confirmed=confirmed.height,
        caught_any=int(confirmed["first_alert_any"].is_not_null().sum()),
        caught_passive=int(confirmed["first_alert_passive"].is_not_null().sum()),
        median_lead_any=median("lead_any"),
        median_lead_passive=median("lead_passive"),
        alerts=merged.height,
        passive_alerts=passive.height,
        false_passive=false_alerts.height,
        patient_months_outside=(total_days - float(overlap or 0)) / DAYS_PER_MONTH,
        patient_weeks=total_days / 7,
        per_relapse=per_relapse,
        false_alerts=false_alerts,
    )
