"""The replay report: one self-contained HTML page built from a cohort's frames.

from api.report import ReportData, write_report
write_report(out / "report.html", ReportData(nights=..., phq9=..., alerts=...))
"""

from __future__ import annotations

from pathlib import Path

from api.report.figures import labelled_figures
from api.report.model import ALERTS, CHANGE_POINTS, ReportData
from api.report.page import render
from ingest.cohort_folder import LABELS, Failure

__all__ = [
    "ALERTS",
    "CHANGE_POINTS",
    "LABELS",
    "Failure",
    "ReportData",
    "render_report",
    "write_report",
]


def render_report(data: ReportData) -> str:
    figures, note = labelled_figures(data)
    return render(data, figures, note)


def write_report(path: Path, data: ReportData) -> Path:
    path.write_text(render_report(data), encoding="utf-8")
    return path
