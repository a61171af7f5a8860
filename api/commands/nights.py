"""`phenowatch nights FILE|DIR... --out nights.csv|nights.parquet`: exports to the nights table.

No database: the exports are read (only the metrics the nights table uses, so years of raw heart
rate never fill memory), turned into one row per patient per local date, and written as CSV or
Parquet by the extension of ``--out``. A broken file among others is refused by name and the
rest is written; when nothing at all can be read, the typed error is printed in one line and the
command exits 1. The summary names every file and record left out.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import polars as pl
import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from ingest import build_nights, load
from ingest.archive import iter_members
from ingest.errors import IngestError
from ingest.nights import NIGHTS_METRICS
from ingest.read_report import ReadWarning

WRITERS = {".csv": "csv", ".parquet": "parquet"}


def _total_bytes(paths: list[Path]) -> int:
    """Bytes the parsers will read (uncompressed sizes of zip members)."""
    return sum(member.size or 0 for path in paths for member in iter_members(path))


def summary(nights: pl.DataFrame, out: Path, warnings: list[ReadWarning]) -> str:
    """The command's last words: what was written, then every file or record left out, each
    naming its file."""
    if nights.is_empty():
        text = f"wrote 0 nights to {out}: no sleep, HRV, resting heart rate or step data found"
    else:
        patients = nights["patient_id"].n_unique()
        first, last = nights["date"].dt.min(), nights["date"].dt.max()
        sources = sorted(
            {s for value in nights["sleep_source"].drop_nulls() for s in value.split("+")}
        )
        text = (
            f"wrote {nights.height} nights ({int(nights['has_sleep'].sum())} with sleep) "
            f"for {patients} patient{'s' if patients != 1 else ''}, {first} to {last}, "
            f"sleep from {', '.join(sources) or 'no source'} to {out}"
        )
    unknown = sum(w.kind == "file_not_read" for w in warnings)
    refused = sum(w.kind == "file_refused" for w in warnings)
    records = sum(w.count for w in warnings if w.kind == "record_skipped")
    if unknown:
        text += f"; skipped {unknown} file{'s' if unknown != 1 else ''} of no known format"
    if refused:
        text += f"; refused {refused} broken file{'s' if refused != 1 else ''}"
    if records:
        text += f"; skipped {records} record{'s' if records != 1 else ''}"
    return "\n".join([text, *(f"  {w.sentence()}" for w in warnings)])


def nights_command(
    paths: Annotated[
        list[Path], typer.Argument(help="Export files, folders or zips.", show_default=False)
    ],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="nights.csv or nights.parquet", show_default=False)
    ],
    patient: Annotated[
        str,
        typer.Option(
            "--patient", "-p", help="Patient id for every row (default: as the files say)."
        ),
    ] = "",
) -> None:
    """Turn wearable exports into the nights table (one row per patient per local date)."""
    kind = WRITERS.get(out.suffix.lower())
    if kind is None:
        raise typer.BadParameter("must end in .csv or .parquet", param_hint="--out")
    console = Console(stderr=True)
    try:
        with Progress(
            TextColumn("reading"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=True,
            disable=not console.is_terminal,
        ) as progress:
            task = progress.add_task("read", total=_total_bytes(paths))
            loaded = load(
                [str(p) for p in paths],
                patient_id=patient,
                metrics=NIGHTS_METRICS,
                hourly_steps=True,
                progress=lambda n: progress.advance(task, n),
            )
        nights = build_nights(loaded.samples)
    except IngestError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    try:
        if kind == "csv":
            nights.write_csv(out)
        else:
            nights.write_parquet(out)
    except OSError as exc:
        typer.echo(f"error: {out}: cannot write ({exc.strerror or exc})", err=True)
        raise typer.Exit(1) from None
    typer.echo(summary(nights, out, loaded.warnings))


def register(app: typer.Typer) -> None:
    app.command("nights")(nights_command)
