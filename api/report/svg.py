"""Small, deterministic SVG drawing helpers for the HTML report.

Everything here returns markup strings; numbers are written with fixed precision so that the
same frames always give the same bytes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from html import escape

SEVERITY_COLOURS = {
    "urgent": "#b91c1c",
    "high": "#ea580c",
    "moderate": "#ca8a04",
    "info": "#2563eb",
}
KIND_COLOURS = {
    "phq9_safety": "#b91c1c",
    "phq9_relapse": "#7c3aed",
    "passive_change": "#0f766e",
    "data_gap": "#64748b",
}
GRID = "#e5e7eb"
INK = "#1f2937"
MUTED = "#6b7280"


def num(value: float) -> str:
    """A coordinate with one decimal, without a trailing '.0'."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def text(
    x: float,
    y: float,
    body: str,
    *,
    size: int = 11,
    anchor: str = "start",
    fill: str = MUTED,
    weight: str = "normal",
) -> str:
    return (
        f'<text x="{num(x)}" y="{num(y)}" font-size="{size}" text-anchor="{anchor}" '
        f'fill="{fill}" font-weight="{weight}">{escape(body)}</text>'
    )


def line(
    x1: float,
    y1: float,
    x2: float,
    y2: float,
    *,
    stroke: str = GRID,
    width: float = 1,
    dash: str | None = None,
) -> str:
    dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
    return (
        f'<line x1="{num(x1)}" y1="{num(y1)}" x2="{num(x2)}" y2="{num(y2)}" '
        f'stroke="{stroke}" stroke-width="{num(width)}"{dash_attr}/>'
    )


def rect(
    x: float,
    y: float,
    w: float,
    h: float,
    *,
    fill: str,
    opacity: float = 1.0,
    title: str | None = None,
) -> str:
    tip = f"<title>{escape(title)}</title>" if title else ""
    op = f' fill-opacity="{opacity:.2f}"' if opacity < 1 else ""
    return (
        f'<rect x="{num(x)}" y="{num(y)}" width="{num(max(w, 0.0))}" height="{num(max(h, 0.0))}" '
        f'fill="{fill}"{op}>{tip}</rect>'
    )


def svg(width: float, height: float, body: Iterable[str], *, label: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{num(width)}" height="{num(height)}" '
        f'viewBox="0 0 {num(width)} {num(height)}" role="img" aria-label="{escape(label)}" '
        f'font-family="system-ui, sans-serif">' + "".join(body) + "</svg>"
    )


@dataclass(frozen=True)
class DateAxis:
    """Maps calendar days to x pixels across [left, left + width]."""

    first: date
    last: date
    left: float
    width: float

    @property
    def days(self) -> int:
        return max((self.last - self.first).days, 1)

    def x(self, day: date) -> float:
        return self.left + self.width * (day - self.first).days / self.days

    def ticks(self) -> list[tuple[date, str]]:
        """Month starts for long spans, Mondays for short ones."""
        span = (self.last - self.first).days
        out: list[tuple[date, str]] = []
        if span <= 60:
            day = self.first + timedelta(days=(7 - self.first.weekday()) % 7)
            while day <= self.last:
                out.append((day, day.strftime("%d %b")))
                day += timedelta(days=7)
            return out
        step = 1 if span <= 400 else 3
        year, month = self.first.year, self.first.month
        while True:
            month += 1
            if month > 12:
                year, month = year + 1, 1
            day = date(year, month, 1)
            if day > self.last:
                return out
            if (month - 1) % step == 0:
                out.append((day, day.strftime("%b %Y" if month == 1 or not out else "%b")))


@dataclass(frozen=True)
class ValueAxis:
    """Maps values to y pixels in a panel [top, top + height] (larger values higher)."""

    low: float
    high: float
    top: float
    height: float

    @classmethod
    def fit(
        cls,
        values: Sequence[float],
        top: float,
        height: float,
        floor: float | None = None,
        ceiling: float | None = None,
    ) -> ValueAxis:
        low = min(values) if values else 0.0
        high = max(values) if values else 1.0
        if high - low < 1e-9:
            low, high = low - 1.0, high + 1.0
        pad = (high - low) * 0.08
        low, high = low - pad, high + pad
        if floor is not None:
            low = max(low, floor)
        if ceiling is not None:
            high = min(high, ceiling)
        return cls(low, high, top, height)

    def y(self, value: float) -> float:
        return self.top + self.height * (1 - (value - self.low) / (self.high - self.low))


def polyline_segments(
    points: Sequence[tuple[date, float | None]], xaxis: DateAxis, yaxis: ValueAxis, *, stroke: str
) -> str:
    """One path; a missing day (None, or a day skipped) breaks the line, so gaps stay visible."""
    parts: list[str] = []
    previous: date | None = None
    lone: list[str] = []
    run = 0
    for day, value in points:
        if value is None:
            previous = None
            continue
        command = "L" if previous is not None and (day - previous).days == 1 else "M"
        if command == "M" and run == 1:
            lone.append(parts[-1][1:])
        run = run + 1 if command == "L" else 1
        parts.append(f"{command}{num(xaxis.x(day))} {num(yaxis.y(value))}")
        previous = day
    if run == 1 and parts:
        lone.append(parts[-1][1:])
    dots = "".join(
        f'<circle cx="{xy.split()[0]}" cy="{xy.split()[1]}" r="1.5" fill="{stroke}"/>'
        for xy in lone
    )
    if not parts:
        return ""
    return (
        f'<path d="{"".join(parts)}" fill="none" stroke="{stroke}" stroke-width="1.3" '
        f'stroke-linejoin="round"/>' + dots
    )


def format_value(value: float) -> str:
    if abs(value) >= 1000:
        return f"{value / 1000:.1f}k"
    if abs(value) >= 100:
        return f"{value:.0f}"
    return f"{value:.1f}".rstrip("0").rstrip(".")
