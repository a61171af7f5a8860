"""`replay_cohort`: read the folder, replay it into a database, write OUT's three files."""

from __future__ import annotations

import time as wallclock
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, time
from pathlib import Path

import polars as pl
from sqlalchemy import Engine

from api.clock import FixedClock
from api.db import make_engine, make_session_factory
from api.migrations import upgrade
from api.replay.care_team import DEFAULT_RESOLVE_AFTER
from api.replay.days import DayProgress, Timings, at, day_range, replay_days, replay_span
from api.replay.outputs import (
    stored_alerts,
    stored_nights,
    write_alerts_jsonl,
    write_nights_csv,
)
from api.report import ReportData, write_report
from api.report.evaluation import labelled
from api.report.model import CHANGE_POINTS, empty
from detect.evaluation import Evaluation
from ingest.cohort_folder import CohortFrames, Failure, FolderProgress, read_cohort

DEFAULT_TEAM = "replay"
DATABASE_FILE = "replay.sqlite"


@dataclass(frozen=True)
class ReplayResult:
    out: Path
    database_url: str
    patients: int
    failures: tuple[Failure, ...]
    days: tuple[date, ...]
    nights: pl.DataFrame  # as stored
    alerts: pl.DataFrame  # api.report.model.ALERTS, as written to alerts.jsonl
    evaluation: Evaluation | None
    seconds: dict[str, float] = field(default_factory=dict)  # wall time of each stage
    resolve_after: int | None = None  # the care-team policy: days until resolved, None: never
    #: refused files and skipped records of the patients that were read
    left_out: tuple[Failure, ...] = ()

    def alerts_by_kind(self) -> dict[str, int]:
        counts = self.alerts.group_by("kind").len().sort("kind").rows()
        return {str(kind): int(n) for kind, n in counts}

    def summary(self) -> str:
        """One line for the end of `phenowatch replay`."""
        kinds = ", ".join(f"{k} {n}" for k, n in self.alerts_by_kind().items()) or "none"
        parts = [
            f"{self.patients} patients",
            f"{self.nights.height} nights",
            f"{len(self.days)} days",
            f"{self.alerts.height} alerts ({kinds})",
            f"{len(self.failures)} failed folders",
            f"{len(self.left_out)} files or record groups left out",
            "alerts resolved "
            + (
                "never (nobody answers them)"
                if self.resolve_after is None
                else f"{self.resolve_after} days after they first fired"
            ),
        ]
        ev = self.evaluation
        if ev is not None and ev.sensitivity_any is not None:
            lead = "–" if ev.median_lead_any is None else f"{ev.median_lead_any:g} d"
            parts.append(
                f"sensitivity {100 * ev.sensitivity_any:.0f}% ({ev.caught_any}/{ev.confirmed}), "
                f"median lead {lead}"
            )
        return "; ".join(parts)


def default_database_url(out: Path) -> str:
    return f"sqlite:///{(out / DATABASE_FILE).resolve()}"


def fresh_database(url: str, out: Path) -> Engine:
    """The engine, migrated; the default SQLite file under OUT is started afresh."""
    if url == default_database_url(out):
        for suffix in ("", "-wal", "-shm"):
            (out / (DATABASE_FILE + suffix)).unlink(missing_ok=True)
    engine = make_engine(url)
    upgrade(engine)
    return engine


def replay_cohort(
    cohort: Path,
    out: Path,
    *,
    database_url: str | None = None,
    start: date | None = None,
    end: date | None = None,
    team_name: str = DEFAULT_TEAM,
    on_folder: FolderProgress | None = None,
    on_day: DayProgress | None = None,
    on_stage: Callable[[str], None] | None = None,
    resolve_after: int | None = DEFAULT_RESOLVE_AFTER,
) -> ReplayResult:
    """Replays the cohort folder into a fresh database and writes OUT's files. With
    ``resolve_after`` days (None or 0: never) the replay's care team resolves each alert that
    long after it first fired (``api.replay.care_team``)."""
    resolve_after = resolve_after or None
    out.mkdir(parents=True, exist_ok=True)
    seconds: dict[str, float] = {}
    clock_start = wallclock.perf_counter()

    def stage(name: str) -> None:
        nonlocal clock_start
        now = wallclock.perf_counter()
        seconds[name] = round(now - clock_start, 3)
        clock_start = now

    frames = read_cohort(cohort, on_folder)
    stage("read")
    days = _days(frames, start, end)
    url = database_url or default_database_url(out)
    engine = fresh_database(url, out)
    try:
        factory = make_session_factory(engine)
        timings = Timings()
        clock = FixedClock(at(days[0] if days else date(1970, 1, 1), time(0, 0)))
        if on_stage:
            on_stage("replaying")
        replay_days(
            factory,
            nights=frames.nights,
            phq9=frames.phq9,
            patient_ids=frames.patient_ids,
            days=days,
            clock=clock,
            team_name=team_name,
            timings=timings,
            progress=on_day,
            resolve_after=resolve_after,
        )
        stage("replay")
        seconds |= {f"replay: {k}": round(v, 3) for k, v in timings.seconds.items()}
        first, last = (days[0], days[-1]) if days else (date.min, date.min)
        with factory() as session:
            alerts = stored_alerts(session, patient_ids=frames.patient_ids, first=first, last=last)
            nights = stored_nights(session, patient_ids=frames.patient_ids, last=last)
    finally:
        engine.dispose()
    result_frames = _report_data(frames, nights, alerts, cohort, resolve_after)
    write_alerts_jsonl(out / "alerts.jsonl", alerts)
    write_nights_csv(out / "nights.csv", nights)
    against_labels = labelled(result_frames)
    write_report(out / "report.html", result_frames, against_labels)
    stage("write")
    return ReplayResult(
        out=out,
        database_url=url,
        patients=len(frames.patient_ids),
        failures=frames.failures,
        left_out=frames.left_out,
        days=tuple(days),
        nights=nights,
        alerts=alerts,
        evaluation=against_labels.headline.evaluation if against_labels.headline else None,
        seconds=seconds,
        resolve_after=resolve_after,
    )


def _days(frames: CohortFrames, start: date | None, end: date | None) -> list[date]:
    span = replay_span(frames.nights, frames.phq9)
    if span is None:
        return []
    first, last = start or span[0], end or span[1]
    return day_range(first, last) if first <= last else []


def _report_data(
    frames: CohortFrames,
    nights: pl.DataFrame,
    alerts: pl.DataFrame,
    cohort: Path,
    resolve_after: int | None,
) -> ReportData:
    last = nights["date"].max()
    phq9 = frames.phq9.filter(pl.col("answered_at").dt.date() <= last) if last else frames.phq9
    data = ReportData(
        nights=nights,
        phq9=phq9,
        alerts=alerts,
        labels=frames.labels,
        failures=frames.failures,
        left_out=frames.left_out,
        source=f"replay of {cohort.name}",
        resolve_after=resolve_after,
    )
    plotted = data.patient_ids()[: data.max_patient_plots]
    return replace(data, change_points=_change_points(nights, plotted))


def _change_points(nights: pl.DataFrame, patient_ids: list[str]) -> pl.DataFrame:
    """detect.change_points for the patients whose timelines the report draws."""
    from detect import change_points  # numpy and ruptures: only when a report is drawn

    wanted = nights.filter(pl.col("patient_id").is_in(patient_ids))
    found = [change_points(rows) for rows in wanted.partition_by("patient_id", maintain_order=True)]
    found = [f.select(list(CHANGE_POINTS)) for f in found if f.height]
    return pl.concat(found).sort("patient_id", "date", "metric") if found else empty(CHANGE_POINTS)
