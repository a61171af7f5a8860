"""Placeholder: filled in by the apple_health parser work."""

from __future__ import annotations

from ingest.formats import Format

FORMATS: tuple[Format, ...] = ()
