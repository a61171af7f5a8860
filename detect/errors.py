"""Typed errors raised by detect/."""

from __future__ import annotations


class DetectError(Exception):
    """Base class for detection errors."""


class InputFrameError(DetectError):
    """A frame handed to detect/ does not have the columns or types it needs."""


class ScoreRangeError(DetectError):
    """A questionnaire score lies outside its instrument's range."""
