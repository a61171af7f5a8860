"""What a report is built from: the frames of one replayed (or live) cohort.

The report never reads a database or a folder; replay, a test or a notebook hands it frames.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import polars as pl

from ingest.cohort_folder import Failure

#: one row per alert, the columns of alerts.jsonl that the report reads: fields of
#: api.alert_shape, in the file's order
ALERTS: dict[str, pl.DataType] = {
    "patient_id": pl.String(),
    "kind": pl.String(),
    "severity": pl.String(),
    "metrics": pl.List(pl.String()),
    "fired_on": pl.Date(),
    "window_start": pl.Date(),
    "window_end": pl.Date(),
    "explanation": pl.String(),
    "detector_version": pl.String(),
}

#: detect.change_points output
CHANGE_POINTS: dict[str, pl.DataType] = {
    "patient_id": pl.String(),
    "metric": pl.String(),
    "date": pl.Date(),
    "direction": pl.String(),
    "z": pl.Float64(),
}


def empty(schema: Mapping[str, pl.DataType]) -> pl.DataFrame:
    return pl.DataFrame(schema=dict(schema))


@dataclass(frozen=True)
class ReportData:
    nights: pl.DataFrame  # ingest.schema.NIGHTS
    phq9: pl.DataFrame  # ingest.schema.PHQ9
    alerts: pl.DataFrame = field(default_factory=lambda: empty(ALERTS))
    change_points: pl.DataFrame = field(default_factory=lambda: empty(CHANGE_POINTS))
    labels: pl.DataFrame | None = None  # LABELS, or None when the cohort has no labels
    failures: tuple[Failure, ...] = ()
    #: what was left out of patients who were read: a refused file or skipped records, one
    #: sentence each naming the file (``folder`` is the patient)
    left_out: tuple[Failure, ...] = ()
    title: str = "phenowatch replay report"
    source: str = ""  # where the cohort came from, shown under the title
    #: a replay's care-team policy: alerts resolved this many days after they first fired
    #: (None: nobody resolves them)
    resolve_after: int | None = None
    #: per-patient plots beyond this many are left out (the table still lists everyone)
    max_patient_plots: int = 60

    def patient_ids(self) -> list[str]:
        ids: set[str] = set()
        for frame in (self.nights, self.phq9, self.alerts):
            ids.update(frame["patient_id"].unique().to_list())
        return sorted(ids)
