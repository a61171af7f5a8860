"""The report page: one self-contained HTML file (inline CSS and SVG, no scripts, no network).

Its evaluation against the labels is the HTML rendering of ``api.report.evaluation.Labelled``,
the model that ``api.report.markdown`` renders for ``phenowatch evaluate``."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape

import polars as pl

from api.report import charts, timeline
from api.report.evaluation import Labelled
from api.report.figures import CohortCounts, cohort_counts, weekly_alerts
from api.report.model import ReportData
from api.report.series import patient_series

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;color:#1f2937;margin:0;
background:#f8fafc;line-height:1.45}
main{max-width:1000px;margin:0 auto;padding:24px 20px 60px}
h1{font-size:26px;margin:0 0 4px}
h2{font-size:20px;margin:32px 0 10px;border-bottom:1px solid #e5e7eb;padding-bottom:4px}
h3{font-size:16px;margin:22px 0 6px}
.muted{color:#6b7280}.note{font-size:13px;color:#6b7280}
.cards{display:flex;flex-wrap:wrap;gap:10px;margin:10px 0}
.card{background:#fff;border:1px solid #e5e7eb;border-radius:8px;padding:10px 14px;min-width:130px}
.card b{display:block;font-size:22px}.card span{color:#6b7280;font-size:13px}
table{border-collapse:collapse;background:#fff;font-size:13px;margin:6px 0 12px}
th,td{border:1px solid #e5e7eb;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f1f5f9}td.n{text-align:right;font-variant-numeric:tabular-nums}
article{background:#fff;border:1px solid #e5e7eb;border-radius:8px;padding:8px 12px;margin:14px 0}
article h3{margin:4px 0}.legend{font-size:12px;color:#4b5563}
.key{display:inline-flex;align-items:center;gap:4px;margin-right:14px}
.sev-urgent{color:#b91c1c;font-weight:600}.sev-high{color:#ea580c;font-weight:600}
.sev-moderate{color:#a16207}.sev-info{color:#2563eb}.error{color:#b91c1c}
svg{display:block;max-width:100%;height:auto}
"""


def _card(value: str, label: str) -> str:
    return f'<div class="card"><b>{escape(value)}</b><span>{escape(label)}</span></div>'


def _table(header: Sequence[str], rows: Iterable[Sequence[str]], numeric: set[int]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="n">{cell}</td>' if i in numeric else f"<td>{cell}</td>"
            for i, cell in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.0f}%"


def _cohort_section(counts: CohortCounts, data: ReportData) -> str:
    span = (
        f"{counts.first_day.isoformat()} to {counts.last_day.isoformat()}"
        if counts.first_day and counts.last_day
        else "no nights"
    )
    cards = "".join(
        [
            _card(f"{counts.patients:,}", "patients"),
            _card(f"{counts.nights:,}", "nights"),
            _card(f"{counts.phq9_entries:,}", "PHQ-9 entries"),
            _card(f"{counts.alerts:,}", "alerts"),
            _card(f"{counts.failed:,}", "folders that failed"),
        ]
    )
    rows = [
        (escape(k), f'<span class="sev-{escape(s)}">{escape(s)}</span>', f"{n:,}")
        for k, s, n in counts.by_kind_severity
    ]
    table = (
        _table(("kind", "severity", "alerts"), rows, {2})
        if rows
        else '<p class="muted">No alerts were raised.</p>'
    )
    return (
        '<section id="cohort"><h2>Cohort</h2>'
        f'<p class="muted">Nights from {escape(span)}; {counts.nights_with_sleep:,} of them with '
        "sleep data.</p>"
        f'<div class="cards">{cards}</div><h3>Alerts by kind and severity</h3>{table}'
        "<h3>Alerts per week</h3>"
        + charts.weekly_alerts_svg(weekly_alerts(data.alerts))
        + charts.kind_legend_html()
        + "</section>"
    )


def _days(value: float | None) -> str:
    return "–" if value is None else f"{value:g} d"


def _labelled_section(labelled: Labelled, resolve_after: int | None) -> str:
    if labelled.headline is None:
        return (
            '<section id="evaluation"><h2>Against the labels</h2>'
            f'<p class="muted">{escape(labelled.note)}</p></section>'
        )
    figures = labelled.headline.evaluation
    false_rate = figures.false_passive_per_patient_month
    burden = figures.alerts_per_100_patient_weeks
    cards = "".join(
        [
            _card(
                _pct(figures.sensitivity_any), "sensitivity before PHQ-9 confirmation (any alert)"
            ),
            _card(_pct(figures.sensitivity_passive), "sensitivity from passive alerts alone"),
            _card(f"{figures.caught_any} / {figures.confirmed}", "confirmed relapses caught"),
            _card(_days(figures.median_lead_any), "median lead time"),
            _card(_days(figures.median_lead_passive), "median lead time (passive)"),
            _card(
                "–" if false_rate is None else f"{false_rate:.2f}",
                "false passive alerts per patient-month",
            ),
            _card("–" if burden is None else f"{burden:.1f}", "alerts per 100 patients per week"),
        ]
    )
    histogram = charts.histogram_svg(
        list(labelled.headline.lead_days_any),
        bin_width=7,
        unit="days before PHQ-9 confirmation",
        label="lead time distribution",
    )
    return (
        '<section id="evaluation"><h2>Against the labels</h2>'
        f'<p class="note">{escape(labelled.note)} {figures.relapses} labelled relapses, '
        f"{labelled.headline.unconfirmed} never confirmed by a PHQ-9 (left out of sensitivity). "
        f"{escape(_care_team_sentence(resolve_after))}</p>"
        f'<div class="cards">{cards}</div>'
        f"<h3>Lead time of the relapses caught</h3>{histogram}</section>"
    )


def _care_team_sentence(resolve_after: int | None) -> str:
    """How the alerts were answered, which decides whether a later episode opens an alert: the
    service keeps one active alert per patient and kind."""
    if resolve_after is None:
        return (
            "Nobody acknowledged or resolved an alert, and the service keeps one active alert "
            "per patient and kind, so a patient's first alert of a kind stayed open and a later "
            "change of that kind fired it again instead of opening a new one."
        )
    return (
        f"The replay's care team resolved every alert {resolve_after} days after it first "
        "fired; the service keeps one active alert per patient and kind, so a change of the "
        "same kind while an alert was active fired it again, and one after it was resolved "
        "opened a new alert."
    )


def _failures_section(data: ReportData) -> str:
    if not data.failures:
        return ""
    rows = [
        (escape(f.folder), f'<span class="error">{escape(f.error)}</span>') for f in data.failures
    ]
    return (
        '<section id="failed"><h2>Folders that could not be read</h2>'
        "<p>These patients were left out; everyone else was replayed.</p>"
        + _table(("folder", "error"), rows, set())
        + "</section>"
    )


def _left_out_section(data: ReportData) -> str:
    if not data.left_out:
        return ""
    rows = [(escape(f.folder), escape(f.error)) for f in data.left_out]
    return (
        '<section id="left-out"><h2>Files and records left out</h2>'
        "<p>These patients were replayed without what is listed here; everything else they "
        "had was read.</p>"
        + _table(("patient", "what was left out, and why"), rows, set())
        + "</section>"
    )


def _patients_section(data: ReportData) -> str:
    ids = data.patient_ids()
    per_nights = dict(data.nights.group_by("patient_id").len().rows())
    per_phq9 = dict(data.phq9.group_by("patient_id").len().rows())
    per_alerts = dict(data.alerts.group_by("patient_id").len().rows())
    first_alert = dict(data.alerts.group_by("patient_id").agg(pl.col("fired_on").min()).rows())
    onsets: dict[str, object] = {}
    if data.labels is not None:
        onsets = dict(data.labels.select("patient_id", "relapse_onset").rows())
    plotted = ids[: data.max_patient_plots]
    rows = []
    for pid in ids:
        name = f'<a href="#p-{escape(pid)}">{escape(pid)}</a>' if pid in plotted else escape(pid)
        onset, first = onsets.get(pid), first_alert.get(pid)
        rows.append(
            (
                name,
                f"{per_nights.get(pid, 0):,}",
                f"{per_phq9.get(pid, 0):,}",
                f"{per_alerts.get(pid, 0):,}",
                "" if first is None else str(first),
                "" if onset is None else str(onset),
            )
        )
    header = ("patient", "nights", "PHQ-9", "alerts", "first alert", "relapse onset (label)")
    articles = [_patient_article(data, pid) for pid in plotted]
    more = (
        f'<p class="muted">{len(ids) - len(plotted):,} more patients are in the table above but '
        "not plotted; their nights are in nights.csv and their alerts in alerts.jsonl.</p>"
        if len(ids) > len(plotted)
        else ""
    )
    return (
        '<section id="patients"><h2>Patients</h2>'
        + _table(header, rows, {1, 2, 3})
        + timeline.legend_html()
        + "".join(articles)
        + more
        + "</section>"
    )


def _patient_article(data: ReportData, pid: str) -> str:
    series = patient_series(data, pid)
    rows = [
        (
            escape(a.fired_on.isoformat()),
            escape(a.kind),
            f'<span class="sev-{escape(a.severity)}">{escape(a.severity)}</span>',
            escape(a.explanation),
        )
        for a in series.alerts
    ]
    alerts = _table(("fired on", "kind", "severity", "explanation"), rows, set()) if rows else ""
    return (
        f'<article id="p-{escape(pid)}"><h3>{escape(pid)}</h3>'
        + timeline.timeline_svg(series)
        + alerts
        + "</article>"
    )


def render(data: ReportData, labelled: Labelled) -> str:
    counts = cohort_counts(data)
    versions = sorted(v for v in data.alerts["detector_version"].unique().to_list() if v)
    subtitle = " · ".join(
        part
        for part in (
            escape(data.source),
            f"detector {escape(', '.join(versions))}" if versions else "",
        )
        if part
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(data.title)}</title><style>{CSS}</style></head><body><main>"
        f'<h1>{escape(data.title)}</h1><p class="muted">{subtitle}</p>'
        + _cohort_section(counts, data)
        + _labelled_section(labelled, data.resolve_after)
        + _failures_section(data)
        + _left_out_section(data)
        + _patients_section(data)
        + "</main></body></html>\n"
    )
