"""The ``phenowatch`` command line: a thin layer that opens files and calls the packages.

Each command lives in ``api/commands/<name>.py`` and registers itself with ``register(app)``.
A command's module is imported only when that command runs, so ``phenowatch nights`` does not
load the web service, the database layer or the change-point libraries (start-up time and
memory stay those of the job itself). This is the one place the import is deferred: a command
is chosen on the command line, so the registry below maps names to modules; everything a
command then runs is wired with plain imports.
"""

from __future__ import annotations

import importlib

import typer

# typer vendors its own click: a command group's methods take and return its types
from typer._click import Command, Context
from typer.core import TyperGroup

#: command name -> the module that registers it
COMMANDS = {
    "nights": "api.commands.nights",
    "simulate": "api.commands.simulate",
    "evaluate": "api.commands.evaluate",
    "evaluate-real": "api.commands.evaluate_real",
    "replay": "api.commands.replay",
    "serve": "api.commands.serve",
    "worker": "api.commands.serve",
    "admin": "api.commands.admin",
    "demo": "api.commands.demo",
}


class LazyCommands(TyperGroup):
    """A command group that imports a command's module on first use."""

    def list_commands(self, ctx: Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: Context, cmd_name: str) -> Command | None:
        module = COMMANDS.get(cmd_name)
        if module is None:
            return None
        commands = typer.Typer()
        importlib.import_module(module).register(commands)
        return typer.main.get_group(commands).get_command(ctx, cmd_name)


app = typer.Typer(
    name="phenowatch",
    cls=LazyCommands,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def phenowatch() -> None:
    """Early, explained relapse alerts from wearables and the PHQ-9."""


def main() -> None:
    app()
