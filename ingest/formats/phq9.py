"""Placeholder: filled in by the phq9 parser work."""

from __future__ import annotations

from ingest.formats import Format

FORMATS: tuple[Format, ...] = ()
