"""What detect/ returns: signals, frozen values with a plain-language explanation.

A signal is detect/'s judgement of one patient on one day. The service stores it as an alert
with a life cycle; replay writes it to alerts.jsonl. Every field below is part of the contract.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any, Literal

Kind = Literal["phq9_safety", "phq9_relapse", "passive_change", "data_gap"]
Severity = Literal["urgent", "high", "moderate", "info"]
Direction = Literal["up", "down", "shift", "irregular"]

KINDS: tuple[Kind, ...] = ("phq9_safety", "phq9_relapse", "passive_change", "data_gap")
SEVERITIES: tuple[Severity, ...] = ("urgent", "high", "moderate", "info")


@dataclass(frozen=True)
class MetricChange:
    """How one metric moved against the person's own baseline."""

    metric: str  # a nights column, e.g. "sleep_total_min", or "phq9_total"
    direction: Direction
    baseline: float  # the person's usual level (median over the baseline window)
    current: float  # the level over the evidence window
    #: change in robust standard units: (current - baseline) / (1.4826 * MAD)
    z: float
    #: relative change, (current - baseline) / baseline, where a ratio makes sense
    pct: float | None = None


@dataclass(frozen=True)
class Signal:
    patient_id: str
    kind: Kind
    severity: Severity
    fired_on: date  # the day being judged
    window_start: date  # first day of the evidence
    window_end: date  # last day of the evidence (never after fired_on)
    explanation: str  # one plain sentence a coordinator understands
    detector: str  # e.g. "phenowatch.passive"
    detector_version: str
    changes: tuple[MetricChange, ...] = field(default_factory=tuple)

    @property
    def metrics(self) -> tuple[str, ...]:
        return tuple(c.metric for c in self.changes)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (dates as ISO strings), the shape written to alerts.jsonl."""
        out = asdict(self)
        out["metrics"] = list(self.metrics)
        for key in ("fired_on", "window_start", "window_end"):
            out[key] = out[key].isoformat()
        out["changes"] = [dict(c) for c in out["changes"]]
        return out
