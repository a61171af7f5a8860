"""Cohort charts as inline SVG: alerts per week by kind, and a histogram of lead times."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from api.report import svg
from detect.signals import KINDS

WIDTH = 960.0
LEFT = 48.0
RIGHT = 14.0


def _nice_ceiling(value: float) -> int:
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10000):
        if value <= step:
            return step
    return int(value) + 1


def weekly_alerts_svg(weeks: Sequence[tuple[date, dict[str, int]]]) -> str:
    """Stacked bars, one a week, coloured by alert kind."""
    if not weeks:
        return '<p class="muted">No alerts were raised.</p>'
    height, top, bottom = 190.0, 12.0, 26.0
    plot_h = height - top - bottom
    peak = _nice_ceiling(max(sum(counts.values()) for _, counts in weeks))
    slot = (WIDTH - LEFT - RIGHT) / len(weeks)
    body: list[str] = []
    for frac in (0.0, 0.5, 1.0):
        y = top + plot_h * (1 - frac)
        body.append(svg.line(LEFT, y, WIDTH - RIGHT, y))
        body.append(svg.text(LEFT - 6, y + 4, f"{peak * frac:g}", anchor="end", size=10))
    label_every = max(1, round(len(weeks) / 12))
    for i, (week, counts) in enumerate(weeks):
        x = LEFT + i * slot + slot * 0.1
        y = top + plot_h
        for kind in KINDS:
            n = counts.get(kind, 0)
            if not n:
                continue
            h = plot_h * n / peak
            y -= h
            body.append(
                svg.rect(
                    x,
                    y,
                    slot * 0.8,
                    h,
                    fill=svg.KIND_COLOURS[kind],
                    title=f"week of {week.isoformat()}: {n} {kind}",
                )
            )
        if i % label_every == 0:
            body.append(
                svg.text(
                    x + slot * 0.4, height - 8, week.strftime("%d %b %y"), anchor="middle", size=10
                )
            )
    return svg.svg(WIDTH, height, body, label="alerts per week by kind")


def kind_legend_html() -> str:
    keys = "".join(
        f'<span class="key"><svg width="12" height="12" viewBox="0 0 12 12">'
        f'<rect width="12" height="12" fill="{svg.KIND_COLOURS[kind]}"/></svg>{kind}</span>'
        for kind in KINDS
    )
    return f'<p class="legend">{keys}</p>'


def histogram_svg(values: Sequence[float], *, bin_width: float, unit: str, label: str) -> str:
    """Counts of ``values`` in bins of ``bin_width`` starting at the lowest multiple below them."""
    if not values:
        return '<p class="muted">Nothing to show.</p>'
    low = bin_width * (min(values) // bin_width)
    bins = int((max(values) - low) // bin_width) + 1
    counts = [0] * bins
    for value in values:
        counts[int((value - low) // bin_width)] += 1
    width, height, top, bottom = 520.0, 180.0, 12.0, 30.0
    plot_h = height - top - bottom
    peak = _nice_ceiling(max(counts))
    slot = (width - LEFT - RIGHT) / bins
    body: list[str] = []
    for frac in (0.0, 0.5, 1.0):
        y = top + plot_h * (1 - frac)
        body.append(svg.line(LEFT, y, width - RIGHT, y))
        body.append(svg.text(LEFT - 6, y + 4, f"{peak * frac:g}", anchor="end", size=10))
    label_every = max(1, round(bins / 10))
    for i, n in enumerate(counts):
        start = low + i * bin_width
        h = plot_h * n / peak
        x = LEFT + i * slot
        tip = f"{start:g} to {start + bin_width:g} {unit}: {n}"
        body.append(svg.rect(x + 1, top + plot_h - h, slot - 2, h, fill="#0f766e", title=tip))
        if i % label_every == 0:
            body.append(svg.text(x, height - 14, f"{start:g}", anchor="middle", size=10))
    body.append(svg.text(width - RIGHT, height - 2, unit, anchor="end", size=10))
    return svg.svg(width, height, body, label=label)
