"""`phenowatch replay DIR --out OUT [--db URL] [--from DATE --to DATE] [--resolve-after DAYS]`.

A cohort folder (one sub-folder per patient, optional labels.csv) fed day by day through the live
pipeline under a simulated clock; writes OUT/alerts.jsonl, OUT/nights.csv and OUT/report.html
and prints a one-line summary. The database is a fresh SQLite file under OUT unless --db says.
The replay's care team resolves each alert 7 days after it first fired unless
--resolve-after says otherwise (0, or --no-resolve: alerts stay open, nobody answers them).
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ingest.errors import IngestError

if TYPE_CHECKING:
    from api.replay import ReplayResult

#: api.replay.care_team.DEFAULT_RESOLVE_AFTER, written out so that the command line starts
#: without the service stack (tests/api/test_replay.py checks that the two agree)
DEFAULT_RESOLVE_AFTER = 7


def _date(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)") from None


def run_replay(
    cohort: Path,
    out: Path,
    *,
    database_url: str | None = None,
    start: date | None = None,
    end: date | None = None,
    console: Console | None = None,
    resolve_after: int | None = DEFAULT_RESOLVE_AFTER,
) -> ReplayResult:
    """Replays with progress bars on ``console`` (stderr by default)."""
    from api.replay import replay_cohort  # the service stack, only when a replay runs

    console = console or Console(stderr=True)
    with Progress(
        TextColumn("{task.description:<14}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[where]}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    ) as progress:
        reading = progress.add_task("reading", total=None, where="")
        replaying = progress.add_task("replaying", total=None, where="", visible=False)

        def on_folder(done: int, total: int, folder: str) -> None:
            progress.update(reading, completed=done, total=total, where=folder)

        def on_day(done: int, total: int, day: date) -> None:
            progress.update(replaying, completed=done, total=total, where=day.isoformat())

        def on_stage(name: str) -> None:
            progress.update(reading, visible=False)
            progress.update(replaying, visible=True)

        return replay_cohort(
            cohort,
            out,
            database_url=database_url,
            start=start,
            end=end,
            on_folder=on_folder,
            on_day=on_day,
            on_stage=on_stage,
            resolve_after=resolve_after,
        )


def replay_command(
    cohort: Annotated[
        Path,
        typer.Argument(help="Cohort folder: one sub-folder per patient, optional labels.csv."),
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the outputs.")],
    db: Annotated[
        str | None,
        typer.Option("--db", help="Database URL (default: a fresh SQLite file under OUT)."),
    ] = None,
    start: Annotated[
        str | None, typer.Option("--from", help="First day to replay (YYYY-MM-DD).")
    ] = None,
    end: Annotated[
        str | None, typer.Option("--to", help="Last day to replay (YYYY-MM-DD).")
    ] = None,
    resolve_after: Annotated[
        int,
        typer.Option(
            "--resolve-after",
            min=0,
            metavar="DAYS",
            help="The care team resolves each alert this many days after it first fired "
            "(0: never).",
        ),
    ] = DEFAULT_RESOLVE_AFTER,
    no_resolve: Annotated[
        bool,
        typer.Option(
            "--no-resolve", help="Nobody resolves alerts: each stays open (--resolve-after 0)."
        ),
    ] = False,
) -> None:
    """Replay a cohort day by day through the live pipeline; write alerts, nights and a report."""
    started = datetime.now()
    try:
        result = run_replay(
            cohort,
            out,
            database_url=db,
            start=_date(start),
            end=_date(end),
            resolve_after=None if no_resolve else resolve_after or None,
        )
    except IngestError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    for failure in result.failures:
        typer.echo(f"failed: {failure.folder}: {failure.error}", err=True)
    for left_out in result.left_out:
        typer.echo(f"left out: {left_out.folder}: {left_out.error}", err=True)
    took = (datetime.now() - started).total_seconds()
    typer.echo(f"replayed {result.summary()} in {took:.0f} s")
    typer.echo(f"stages: {stage_line(result.seconds)}")
    typer.echo(f"wrote {out / 'alerts.jsonl'}, {out / 'nights.csv'} and {out / 'report.html'}")


def stage_line(seconds: dict[str, float]) -> str:
    """Each stage's wall time and the peak memory, so that a slow run shows where it went."""
    import resource  # Unix only, like the replay's process pool start method

    mine = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    readers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024
    stages = ", ".join(f"{name} {value:.1f} s" for name, value in seconds.items())
    return f"{stages}; peak memory {mine} MB (reading processes {readers} MB)"


def register(app: typer.Typer) -> None:
    app.command("replay")(replay_command)
