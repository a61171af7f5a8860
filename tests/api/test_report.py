"""The HTML report, built from hand-made cohort frames (no database, no replay)."""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl

from api.report import ALERTS, CHANGE_POINTS, LABELS, Failure, ReportData, render_report
from api.report.evaluation import labelled
from api.report.markdown import figures_table
from ingest.schema import NIGHTS, PHQ9

START = date(2026, 1, 5)


def cohort_nights(patients: int = 3, days: int = 120) -> pl.DataFrame:
    rows = []
    for p in range(patients):
        for d in range(days):
            day = START + timedelta(days=d)
            gap = 40 <= d < 47 and p == 1  # a week without any data for patient 1
            late = d >= 80 and p == 0  # patient 0 sleeps less, HRV falls, resting HR rises
            wave = math.sin(d / 3 + p)
            rows.append(
                {
                    "patient_id": f"p{p:03d}",
                    "date": day,
                    "sleep_total_min": None if gap else 440 + 25 * wave - (70 if late else 0),
                    "sleep_main_min": None if gap else 420 + 25 * wave,
                    "sleep_onset_min": None if gap else 660.0,
                    "sleep_midpoint_min": None if gap else 900.0,
                    "sleep_efficiency": None if gap else 0.9,
                    "sleep_periods": None if gap else 1,
                    "sleep_source": None if gap else "oura",
                    "hrv_sdnn_ms": None,
                    "hrv_rmssd_ms": None if gap else 42 + 4 * wave - (9 if late else 0),
                    "resting_hr_bpm": None if gap else 58 + 2 * wave + (5 if late else 0),
                    "steps": None if gap else 8000 + 1500 * wave - (3000 if late else 0),
                    "utc_offset_min": 60,
                    "has_sleep": not gap,
                    "has_hrv": not gap,
                    "has_resting_hr": not gap,
                    "has_steps": not gap,
                }
            )
    return pl.DataFrame(rows, schema=NIGHTS)


def cohort_phq9() -> pl.DataFrame:
    rows = []
    for p in range(3):
        for week in range(0, 120, 14):
            total = 4 if not (p == 0 and week >= 98) else 14
            items = [1 if i < total % 9 else 0 for i in range(9)]
            items[0] += total - sum(items)
            item9 = 1 if (p == 2 and week == 56) else 0
            items[8] = item9
            rows.append(
                {
                    "patient_id": f"p{p:03d}",
                    "answered_at": datetime.combine(
                        START + timedelta(days=week), datetime.min.time(), UTC
                    )
                    + timedelta(hours=9),
                    **{f"item_{i + 1}": items[i] for i in range(9)},
                    "total": sum(items),
                    "difficulty": 1,
                    "instrument": "phq9",
                    "source": "json",
                }
            )
    return pl.DataFrame(rows, schema=PHQ9)


def cohort_alerts() -> pl.DataFrame:
    def alert(pid, kind, severity, fired, start, text, metrics):
        return {
            "patient_id": pid,
            "kind": kind,
            "severity": severity,
            "metrics": metrics,
            "fired_on": START + timedelta(days=fired),
            "window_start": START + timedelta(days=start),
            "window_end": START + timedelta(days=fired),
            "explanation": text,
            "detector_version": "2026.11.2",
        }

    rows = [
        alert(
            "p000",
            "passive_change",
            "high",
            88,
            80,
            "Sleep down 70 min and resting HR up 5 bpm.",
            ["sleep_total_min", "resting_hr_bpm"],
        ),
        alert("p000", "phq9_relapse", "high", 98, 98, "PHQ-9 rose from 4 to 14.", ["phq9_total"]),
        alert("p001", "data_gap", "info", 46, 40, "No nights for 7 days.", []),
        alert("p002", "phq9_safety", "urgent", 56, 56, "Item 9 answered 1.", ["phq9_item_9"]),
    ]
    return pl.DataFrame(rows, schema=ALERTS)


def cohort_change_points() -> pl.DataFrame:
    rows = [
        ("p000", "sleep_total_min", START + timedelta(days=80), "down", -3.1),
        ("p000", "hrv_rmssd_ms", START + timedelta(days=81), "down", -2.7),
    ]
    return pl.DataFrame(rows, schema=CHANGE_POINTS, orient="row")


def cohort_labels() -> pl.DataFrame:
    rows = [("p000", START + timedelta(days=80)), ("p001", None), ("p002", None)]
    return pl.DataFrame(rows, schema=LABELS, orient="row")


def cohort_report_data(**overrides) -> ReportData:
    values = dict(
        nights=cohort_nights(),
        phq9=cohort_phq9(),
        alerts=cohort_alerts(),
        change_points=cohort_change_points(),
        labels=cohort_labels(),
        failures=(Failure("p003", "p003/export.xml: line 7: not well-formed XML"),),
        source="fixtures cohort",
    )
    values.update(overrides)
    return ReportData(**values)


def test_report_is_one_self_contained_page() -> None:
    html = render_report(cohort_report_data())
    assert html.startswith("<!doctype html>")
    # nothing to fetch: no scripts, no external stylesheets, images or fonts
    assert "<script" not in html
    assert not re.search(r'(src|href)="(https?:)?//', html)
    assert "<link" not in html
    assert html.count("<svg") >= 3


def test_report_shows_cohort_figures_and_alerts_by_kind() -> None:
    html = render_report(cohort_report_data())
    assert "<b>3</b><span>patients</span>" in html
    assert "<b>360</b><span>nights</span>" in html
    assert "<b>4</b><span>alerts</span>" in html
    for kind in ("phq9_safety", "phq9_relapse", "passive_change", "data_gap"):
        assert kind in html


def test_report_plots_each_patient_with_alerts_change_points_and_onset() -> None:
    html = render_report(cohort_report_data())
    for pid in ("p000", "p001", "p002"):
        assert f'<article id="p-{pid}">' in html
        assert f'aria-label="timeline of patient {pid}"' in html
    assert "change point 2026-03-26 sleep_total_min down (z=-3.1)" in html
    assert "relapse onset (label)" in html
    assert "Sleep down 70 min and resting HR up 5 bpm." in html
    assert "item 9 = 1" in html


def test_report_lists_folders_that_failed_with_their_error() -> None:
    html = render_report(cohort_report_data())
    assert "Folders that could not be read" in html
    assert "p003/export.xml: line 7: not well-formed XML" in html
    assert "Folders that could not be read" not in render_report(cohort_report_data(failures=()))


def test_report_without_labels_says_why_there_is_no_sensitivity() -> None:
    html = render_report(cohort_report_data(labels=None))
    assert "no labels.csv" in html


def test_report_is_deterministic() -> None:
    assert render_report(cohort_report_data()) == render_report(cohort_report_data())


def test_report_caps_the_plots_but_lists_every_patient() -> None:
    html = render_report(cohort_report_data(max_patient_plots=1))
    assert html.count("<article") == 1
    assert '<td><a href="#p-p000">p000</a></td>' in html
    assert "<td>p002</td>" in html
    assert "2 more patients are in the table above but not plotted" in html


def test_empty_cohort_still_renders(tmp_path: Path) -> None:
    html = render_report(
        ReportData(nights=pl.DataFrame(schema=NIGHTS), phq9=pl.DataFrame(schema=PHQ9))
    )
    assert "<b>0</b><span>patients</span>" in html
    assert "No alerts were raised." in html


def test_report_measures_sensitivity_and_lead_time_against_the_labels() -> None:
    html = render_report(cohort_report_data())
    # p000 relapses on day 80, its passive alert fires on day 88, the PHQ-9 confirms on day 98
    assert "<b>100%</b><span>sensitivity before PHQ-9 confirmation (any alert)</span>" in html
    assert "<b>1 / 1</b><span>confirmed relapses caught</span>" in html
    assert "<b>10 d</b><span>median lead time</span>" in html
    assert "<b>0.00</b><span>false passive alerts per patient-month</span>" in html
    assert 'aria-label="lead time distribution"' in html


def test_the_page_and_the_markdown_render_one_evaluation() -> None:
    data = cohort_report_data()
    against_labels = labelled(data)
    assert against_labels.headline is not None
    html = render_report(data, against_labels)
    markdown = figures_table(against_labels.headline)
    # the same measurement, each in its own medium: 1 of 1 confirmed relapses, 10 days ahead
    assert "<b>1 / 1</b><span>confirmed relapses caught</span>" in html
    assert "| sensitivity (any alert kind) | 100.0% (1/1) | ≥ 80% | yes |" in markdown
    assert "<b>10 d</b><span>median lead time</span>" in html
    assert "| median lead before confirming PHQ-9 (any) | 10.0 days | ≥ 7 days | yes |" in markdown
    assert html == render_report(data)
