"""`phenowatch simulate` (not yet written)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Adds the command to the app; filled in by the work on this command."""
