"""An evaluation as one model, built once, rendered to Markdown (``api.report.markdown``) and to
HTML (the report page, ``api.report.page``).

Every figure is measured by ``detect.evaluation`` (against labels) or ``detect.alert_load``
(without labels); this module only gathers what a rendering shows, as typed values and frames,
so that no renderer computes anything and both show the same numbers:

* ``Headline``: the figures against the targets, and the lead times behind them;
* ``RunReport``: one detection run over a simulated cohort (``phenowatch evaluate``): the
  headline, then where the false alerts came from and which relapses were missed;
* ``Agreement``: the same cohort on the simulator's truth nights and through its files;
* ``Labelled``: a replayed cohort's headline, or why there is none (the report page);
* ``AlertLoadReport``: alert load on people without labels (``phenowatch evaluate-real``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from api.report.model import ReportData
from detect.alert_load import AlertLoad
from detect.evaluation import Evaluation, Targets, evaluate, observation_period
from detect.signals import Signal
from ingest.cohort_folder import Failure
from simulate.diagnosis import false_alert_causes, missed_relapses, signals_frame

#: what a relapse caught, a lead time and a false alert mean, for readers of the report page
DEFINITION = (
    "A relapse counts once the first PHQ-9 of 10 or more on or after its labelled onset "
    "confirms it; it is caught when an alert (passive change, PHQ-9 relapse or safety) fires "
    "between 28 days before the onset and that confirmation. Lead time is the confirmation day "
    "minus the first such alert. A passive alert is false when it fires away from every "
    "relapse (more than 28 days before an onset or over 120 days after its confirmation)."
)
#: passive alerts per person-month a care team can live with, on people who did not relapse
ALERT_LOAD_TARGET = 0.10


@dataclass(frozen=True)
class Run:
    """One detection run over a simulated cohort and its evaluation."""

    label: str
    patients: pl.DataFrame  # the simulator's per-patient truth
    nights: pl.DataFrame
    phq9: pl.DataFrame
    labels: pl.DataFrame
    signals: list[Signal]
    evaluation: Evaluation
    seconds: float
    #: patient folders, or files in them, that could not be read (the files path)
    failures: tuple[Failure, ...] = ()


@dataclass(frozen=True)
class Headline:
    """The figures of an evaluation, whether each meets its target, and the lead times."""

    evaluation: Evaluation
    targets: Targets
    met: dict[str, bool]
    #: days before the confirming PHQ-9, one per relapse caught by any alert
    lead_days_any: tuple[float, ...]

    @property
    def unconfirmed(self) -> int:
        return self.evaluation.relapses - self.evaluation.confirmed


def headline(evaluation: Evaluation, targets: Targets = Targets()) -> Headline:
    leads = evaluation.per_relapse["lead_any"].drop_nulls().cast(float).to_list()
    return Headline(evaluation, targets, evaluation.meets(targets), tuple(leads))


@dataclass(frozen=True)
class RunReport:
    """One run: its headline and what lies behind the false and the missed alerts."""

    title: str
    patients: int
    patient_nights: int
    seconds: float
    headline: Headline
    signals_by_kind: pl.DataFrame  # kind, signals
    false_by_cause: pl.DataFrame  # cause, false alerts, per_patient_month
    false_by_metrics: pl.DataFrame  # metrics, false alerts (the ten most)
    #: quartiles of the passive lead times, or None when no passive alert caught a relapse
    passive_lead_quartiles: tuple[float | None, float | None, float | None] | None
    missed: pl.DataFrame  # the first ``listed`` relapses no passive alert caught
    missed_total: int
    listed: int
    left_out: tuple[Failure, ...] = field(default=())


def run_report(run: Run, title: str, *, listed: int = 15) -> RunReport:
    ev = run.evaluation
    signals = signals_frame(run.signals)
    false = ev.false_alerts.join(
        signals.select("patient_id", "kind", "fired_on", "metrics").unique(
            ["patient_id", "kind", "fired_on"]
        ),
        on=["patient_id", "kind", "fired_on"],
        how="left",
    )
    causes = false_alert_causes(false, run.patients)
    months = ev.patient_months_outside or 1.0
    by_cause = (
        causes.group_by("cause")
        .len("false alerts")
        .with_columns(per_patient_month=(pl.col("false alerts") / months).round(3))
        .sort("false alerts", descending=True)
    )
    by_metrics = (
        causes.group_by("metrics").len("false alerts").sort("false alerts", descending=True)
    ).head(10)
    missed = missed_relapses(ev.per_relapse, run.patients)
    leads = ev.per_relapse.filter(pl.col("lead_passive").is_not_null())["lead_passive"]
    quartiles = tuple(leads.quantile(q) for q in (0.25, 0.5, 0.75)) if leads.len() else None
    return RunReport(
        title=title,
        patients=ev.patients,
        patient_nights=run.nights.height,
        seconds=run.seconds,
        headline=headline(ev),
        signals_by_kind=signals.group_by("kind").len("signals").sort("kind"),
        false_by_cause=by_cause,
        false_by_metrics=by_metrics,
        passive_lead_quartiles=quartiles,  # type: ignore[arg-type]
        missed=missed.head(listed),
        missed_total=missed.height,
        listed=listed,
        left_out=run.failures,
    )


@dataclass(frozen=True)
class Agreement:
    """The files path against the truth path on one cohort."""

    truth: Evaluation
    files: Evaluation
    #: signals (patient, kind, day) found on both paths, and on each
    both: int
    truth_signals: int
    files_signals: int


def agreement(truth: Run, files: Run) -> Agreement:
    def keys(run: Run) -> pl.DataFrame:
        return signals_frame(run.signals).select("patient_id", "kind", "fired_on").unique()

    a, b = keys(truth), keys(files)
    both = a.join(b, on=["patient_id", "kind", "fired_on"]).height
    return Agreement(truth.evaluation, files.evaluation, both, a.height, b.height)


@dataclass(frozen=True)
class Labelled:
    """A replayed cohort against its labels: the headline, or None and the reason."""

    headline: Headline | None
    note: str


def labelled(data: ReportData) -> Labelled:
    if data.labels is None:
        return Labelled(
            None, "This cohort has no labels.csv, so sensitivity and lead time cannot be measured."
        )
    period = observation_period(data.nights)
    if period.height == 0:
        return Labelled(None, "No nights were replayed, so there is nothing to measure.")
    labels = data.labels.join(period.select("patient_id"), on="patient_id", how="semi")
    return Labelled(headline(evaluate(data.alerts, labels, data.phq9, period)), DEFINITION)


@dataclass(frozen=True)
class AlertLoadReport:
    """Alert load on people without labels (``detect.alert_load``) and what explains it."""

    title: str
    load: AlertLoad
    #: one sentence per passive alert, when detection ran here (none for a replay's alerts)
    sentences: tuple[str, ...]
    calendar: pl.DataFrame  # detect.calendar.calendar_effects
    wellness: pl.DataFrame | None  # detect.alert_load.wellness_after_alerts, PMData only
    target: float = ALERT_LOAD_TARGET

    @property
    def met(self) -> bool:
        rate = self.load.passive_per_person_month
        return rate is not None and rate <= self.target
