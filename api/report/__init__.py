"""The replay report: one self-contained HTML page built from a cohort's frames.

from api.report import ReportData, write_report
write_report(out / "report.html", ReportData(nights=..., phq9=..., alerts=...))
"""

from __future__ import annotations

from pathlib import Path

from api.report.evaluation import Labelled, labelled
from api.report.model import ALERTS, CHANGE_POINTS, ReportData
from api.report.page import render
from ingest.cohort_folder import LABELS, Failure

__all__ = [
    "ALERTS",
    "CHANGE_POINTS",
    "LABELS",
    "Failure",
    "Labelled",
    "ReportData",
    "render_report",
    "write_report",
]


def render_report(data: ReportData, against_labels: Labelled | None = None) -> str:
    """The page; ``against_labels`` when the caller has already measured it (else measured)."""
    return render(data, labelled(data) if against_labels is None else against_labels)


def write_report(path: Path, data: ReportData, against_labels: Labelled | None = None) -> Path:
    path.write_text(render_report(data, against_labels), encoding="utf-8")
    return path
