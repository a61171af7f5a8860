"""Placeholder: filled in by the oura parser work."""

from __future__ import annotations

from ingest.formats import Format

FORMATS: tuple[Format, ...] = ()
