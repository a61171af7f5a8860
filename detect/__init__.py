"""detect/: nights and PHQ-9 entries in, explained signals out (pure: no database, no clock).

Public API::

    detect_day(nights, phq9, day, config=DEFAULT) -> list[Signal]
    detect_range(nights, phq9, start, end, config=DEFAULT) -> list[Signal]
    phq9_submission_signals(entry, history, config=DEFAULT) -> list[Signal]
    change_points(nights_one_patient, config=DEFAULT) -> pl.DataFrame
    phq9_band(total, instrument="phq9") -> str
    DetectConfig, DEFAULT, DETECTOR_VERSION, Signal, MetricChange
"""

from detect.config import DEFAULT, DETECTOR_VERSION, Channel, DetectConfig
from detect.phq9_rules import phq9_band, phq9_submission_signals
from detect.pipeline import detect_day, detect_range
from detect.signals import MetricChange, Signal
from detect.timeline import change_points

__all__ = [
    "DEFAULT",
    "DETECTOR_VERSION",
    "Channel",
    "DetectConfig",
    "MetricChange",
    "Signal",
    "change_points",
    "detect_day",
    "detect_range",
    "phq9_band",
    "phq9_submission_signals",
]
