"""The ``phenowatch`` command line: a thin layer that opens files and calls the packages.

Each command lives in ``api/commands/<name>.py`` and registers itself on the app here.
"""

from __future__ import annotations

import typer

from api.commands import admin, demo, evaluate, nights, replay, serve, simulate

app = typer.Typer(
    name="phenowatch",
    help="Early, explained relapse alerts from wearables and the PHQ-9.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

for module in (nights, simulate, evaluate, serve, admin, replay, demo):
    module.register(app)


def main() -> None:
    app()
