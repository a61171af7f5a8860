"""One patient's timeline as an inline SVG: nights, change points, PHQ-9 scores and alerts.

Stacked panels share one date axis: sleep, HRV, resting heart rate, steps, then the PHQ-9 total
on its fixed 0–27 scale with the severity bands. Alerts are drawn across every panel (the
evidence window shaded, a marker on the day it fired); change points sit on the metric's own
panel; a labelled relapse onset is a dashed black line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from html import escape

from api.report import svg

WIDTH = 960.0
LEFT = 140.0
LABEL_X = LEFT - 34  # panel titles end here; value labels sit right of it
RIGHT = 14.0
TOP = 22.0
PANEL = 58.0
GAP = 12.0
BOTTOM = 22.0

PHQ9_BANDS = (
    (0, 5, "#f0fdf4"),
    (5, 10, "#fefce8"),
    (10, 15, "#fff7ed"),
    (15, 20, "#fef2f2"),
    (20, 27, "#fee2e2"),
)


@dataclass(frozen=True)
class Panel:
    title: str
    columns: tuple[str, ...]  # the nights columns drawn here, first non-empty one wins
    unit: str
    colour: str
    scale: float = 1.0  # stored value x scale = drawn value


PANELS = (
    Panel("Sleep", ("sleep_total_min",), "h", "#4338ca", 1 / 60),
    Panel("HRV", ("hrv_rmssd_ms", "hrv_sdnn_ms"), "ms", "#0f766e"),
    Panel("Resting HR", ("resting_hr_bpm",), "bpm", "#be123c"),
    Panel("Steps", ("steps",), "k", "#a16207", 1 / 1000),
)


@dataclass(frozen=True)
class AlertMark:
    kind: str
    severity: str
    fired_on: date
    window_start: date
    explanation: str


@dataclass(frozen=True)
class PatientSeries:
    """Everything the timeline draws for one patient, as plain Python values."""

    patient_id: str
    nights: dict[str, list[tuple[date, float | None]]]  # column -> (date, value) sorted by date
    phq9: list[tuple[date, int, int | None]] = field(default_factory=list)  # day, total, item 9
    alerts: list[AlertMark] = field(default_factory=list)
    change_points: list[tuple[str, date, str, float]] = field(default_factory=list)
    relapse_onset: date | None = None

    def span(self) -> tuple[date, date] | None:
        days: list[date] = [d for series in self.nights.values() for d, _ in series]
        days += [d for d, _, _ in self.phq9]
        for alert in self.alerts:
            days += [alert.window_start, alert.fired_on]
        if self.relapse_onset is not None:
            days.append(self.relapse_onset)
        return (min(days), max(days)) if days else None


def _panel_series(series: PatientSeries, panel: Panel) -> list[tuple[date, float | None]]:
    """The first of the panel's columns that has data (RMSSD before SDNN for HRV), scaled."""
    for column in panel.columns:
        points = series.nights.get(column, [])
        if any(v is not None for _, v in points):
            return [(d, None if v is None else v * panel.scale) for d, v in points]
    return []


def _alert_layer(
    series: PatientSeries, xaxis: svg.DateAxis, top: float, bottom: float
) -> list[str]:
    out: list[str] = []
    for alert in series.alerts:
        colour = svg.SEVERITY_COLOURS.get(alert.severity, svg.MUTED)
        x0, x1 = xaxis.x(alert.window_start), xaxis.x(alert.fired_on)
        tip = f"{alert.fired_on} {alert.kind} ({alert.severity}): {alert.explanation}"
        out.append(svg.rect(x0, top, max(x1 - x0, 1.0), bottom - top, fill=colour, opacity=0.08))
        out.append(svg.line(x1, top, x1, bottom, stroke=colour, width=1.2))
        out.append(
            f'<path d="M{svg.num(x1 - 5)} {svg.num(top - 9)}L{svg.num(x1 + 5)} {svg.num(top - 9)}'
            f'L{svg.num(x1)} {svg.num(top - 1)}Z" fill="{colour}"><title>{escape(tip)}'
            "</title></path>"
        )
    return out


def _relapse_layer(
    series: PatientSeries, xaxis: svg.DateAxis, top: float, bottom: float
) -> list[str]:
    if series.relapse_onset is None:
        return []
    x = xaxis.x(series.relapse_onset)
    return [
        svg.line(x, top - 12, x, bottom, stroke=svg.INK, width=1.4, dash="5 3"),
        svg.text(x + 3, top - 12, "relapse onset (label)", size=10, fill=svg.INK),
    ]


def _panel_title(title: str, unit: str, top: float) -> list[str]:
    middle = top + PANEL / 2
    return [
        svg.text(LABEL_X, middle, title, anchor="end", fill=svg.INK, weight="600"),
        svg.text(LABEL_X, middle + 13, unit, anchor="end", size=10),
    ]


def _metric_panel(
    series: PatientSeries, panel: Panel, xaxis: svg.DateAxis, top: float
) -> list[str]:
    points = _panel_series(series, panel)
    out = [svg.rect(xaxis.left, top, xaxis.width, PANEL, fill="#fafafa")]
    out += _panel_title(panel.title, panel.unit, top)
    values = [v for _, v in points if v is not None]
    if not values:
        out.append(svg.text(xaxis.left + 8, top + PANEL / 2 + 4, "no data"))
        return out
    yaxis = svg.ValueAxis.fit(values, top + 2, PANEL - 4, floor=0.0)
    for value in (min(values), max(values)):
        y = yaxis.y(value)
        out.append(svg.line(xaxis.left, y, xaxis.left + xaxis.width, y, dash="2 3"))
        out.append(svg.text(LEFT - 5, y + 4, svg.format_value(value), anchor="end", size=10))
    out.append(svg.polyline_segments(points, xaxis, yaxis, stroke=panel.colour))
    by_day = dict(points)
    for metric, day, direction, z in series.change_points:
        if metric not in panel.columns:
            continue
        x = xaxis.x(day)
        out.append(svg.line(x, top, x, top + PANEL, stroke="#9333ea", width=1.2, dash="3 2"))
        on_day = by_day.get(day)
        y = yaxis.y(on_day) if on_day is not None else top + PANEL / 2
        tip = f"change point {day.isoformat()} {metric} {direction} (z={z:.1f})"
        out.append(
            f'<path d="M{svg.num(x)} {svg.num(y - 5)}L{svg.num(x + 5)} {svg.num(y)}'
            f'L{svg.num(x)} {svg.num(y + 5)}L{svg.num(x - 5)} {svg.num(y)}Z" fill="#9333ea">'
            f"<title>{escape(tip)}</title></path>"
        )
    return out


def _phq9_panel(series: PatientSeries, xaxis: svg.DateAxis, top: float) -> list[str]:
    yaxis = svg.ValueAxis(0, 27, top, PANEL)
    out = _panel_title("PHQ-9", "total", top)
    for low, high, colour in PHQ9_BANDS:
        out.append(
            svg.rect(
                xaxis.left, yaxis.y(high), xaxis.width, yaxis.y(low) - yaxis.y(high), fill=colour
            )
        )
    for value in (0, 10, 20):
        out.append(svg.text(LEFT - 5, yaxis.y(value) + 4, str(value), anchor="end", size=10))
    coords = [(xaxis.x(d), yaxis.y(total), total, item9, d) for d, total, item9 in series.phq9]
    if len(coords) > 1:
        path = "".join(
            f"{'M' if i == 0 else 'L'}{svg.num(x)} {svg.num(y)}"
            for i, (x, y, *_rest) in enumerate(coords)
        )
        out.append(f'<path d="{path}" fill="none" stroke="#7c3aed" stroke-width="1"/>')
    for x, y, total, item9, day in coords:
        ring = ' stroke="#b91c1c" stroke-width="2"' if item9 else ""
        tip = f"PHQ-9 {day.isoformat()}: {total}" + (f", item 9 = {item9}" if item9 else "")
        out.append(
            f'<circle cx="{svg.num(x)}" cy="{svg.num(y)}" r="3" fill="#7c3aed"{ring}>'
            f"<title>{escape(tip)}</title></circle>"
        )
    if not coords:
        out.append(svg.text(xaxis.left + 8, top + PANEL / 2 + 4, "no questionnaires"))
    return out


def timeline_svg(series: PatientSeries) -> str:
    """The patient's stacked timeline, or a short note when there is nothing to draw."""
    span = series.span()
    if span is None:
        return '<p class="muted">No nights, questionnaires or alerts to plot.</p>'
    panels = len(PANELS) + 1
    height = TOP + panels * PANEL + (panels - 1) * GAP + BOTTOM
    xaxis = svg.DateAxis(span[0], span[1], LEFT, WIDTH - LEFT - RIGHT)
    plot_bottom = height - BOTTOM
    body: list[str] = []
    tops = [TOP + i * (PANEL + GAP) for i in range(panels)]
    for panel, top in zip(PANELS, tops, strict=False):
        body += _metric_panel(series, panel, xaxis, top)
    body += _phq9_panel(series, xaxis, tops[-1])
    for day, label in xaxis.ticks():
        x = xaxis.x(day)
        body.append(svg.line(x, TOP, x, plot_bottom, stroke="#f3f4f6"))
        body.append(svg.text(x, plot_bottom + 15, label, anchor="middle", size=10))
    body += _alert_layer(series, xaxis, TOP, plot_bottom)
    body += _relapse_layer(series, xaxis, TOP, plot_bottom)
    return svg.svg(WIDTH, height, body, label=f"timeline of patient {series.patient_id}")


def legend_html() -> str:
    items = [
        ("#4338ca", "line", "nights (a break is a night without data)"),
        ("#9333ea", "diamond", "change point"),
        ("#b91c1c", "tri", "alert (urgent)"),
        ("#ea580c", "tri", "alert (high)"),
        ("#ca8a04", "tri", "alert (moderate)"),
        ("#2563eb", "tri", "alert (info)"),
        ("#1f2937", "dash", "labelled relapse onset"),
    ]
    shapes = {
        "line": '<path d="M1 7L15 7" stroke="{c}" stroke-width="2"/>',
        "diamond": '<path d="M8 2L13 7L8 12L3 7Z" fill="{c}"/>',
        "tri": '<path d="M3 2L13 2L8 11Z" fill="{c}"/>',
        "dash": '<path d="M8 0L8 14" stroke="{c}" stroke-width="1.5" stroke-dasharray="3 2"/>',
    }
    spans = "".join(
        f'<span class="key"><svg width="16" height="14" viewBox="0 0 16 14">'
        f"{shapes[shape].format(c=colour)}</svg>{escape(text)}</span>"
        for colour, shape, text in items
    )
    return f'<p class="legend">{spans}</p>'
