"""`phenowatch simulate --patients N --days D --seed S --out DIR`: a synthetic cohort in real
vendor formats (one sub-folder per patient) with ``labels.csv`` of the true relapse onsets.

The same seed always writes the same files. See ``simulate`` for the model.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from simulate import Cohort, simulate_cohort
from simulate.cohort import DEFAULT_START
from simulate.writers.cohort_folder import write_cohort


def summary(cohort: Cohort, out: Path) -> str:
    relapses = int(cohort.labels["relapse_onset"].is_not_null().sum())
    vendors = cohort.patients["vendor"].value_counts().sort("vendor")
    mix = ", ".join(f"{n} {v}" for v, n in vendors.iter_rows())
    return (
        f"wrote {len(cohort.patient_ids)} patients x {cohort.days} days (seed {cohort.seed}, "
        f"{relapses} relapsing; {mix}) and labels.csv to {out}"
    )


def simulate_command(
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder to write the cohort into.")],
    patients: Annotated[int, typer.Option("--patients", "-n", min=1)] = 20,
    days: Annotated[int, typer.Option("--days", "-d", min=1)] = 365,
    seed: Annotated[int, typer.Option("--seed", "-s")] = 1,
    start: Annotated[
        str, typer.Option("--start", help="First wake date (YYYY-MM-DD).")
    ] = DEFAULT_START.isoformat(),
) -> None:
    """Write a synthetic cohort with known relapses as real wearable exports and PHQ-9 files."""
    try:
        first = date.fromisoformat(start)
    except ValueError:
        raise typer.BadParameter(f"{start!r} is not a date (YYYY-MM-DD)") from None
    console = Console(stderr=True)
    cohort = simulate_cohort(patients, days, seed, first)
    with Progress(
        TextColumn("writing"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    ) as progress:
        task = progress.add_task("writing", total=patients)
        write_cohort(cohort, out, progress=lambda _: progress.advance(task))
    typer.echo(summary(cohort, out))


def register(app: typer.Typer) -> None:
    app.command("simulate")(simulate_command)
