"""Recognise and read every member of an upload into sample and PHQ-9 frames.

Formats are recognised from content (and the member's name where a vendor's file names are part
of its format). Refusal happens at the right level (docs/architecture.md, "What real data does"):

* a record that is a placeholder or carries an unknown value is skipped by its parser and
  counted (``Loaded.warnings``);
* a member that is broken (or of no known format) inside a folder or zip is refused by name and
  its siblings still load: nothing of it is kept, and ``Loaded.warnings`` says why;
* a lone file that is broken raises its typed error, and so does an upload from which nothing at
  all could be read (``NothingReadError``, naming every file it saw and why it was not read).

A caller therefore never receives part of a file.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import polars as pl

from ingest import schema
from ingest.archive import DEFAULT_LIMITS, Limits, Member, opened
from ingest.duplicates import without_exact_duplicates
from ingest.errors import IngestError, NothingReadError, UnknownFormatError
from ingest.formats import (
    Format,
    ParseOptions,
    Progress,
    apple_health,
    fitbit,
    garmin,
    oura,
    phq9,
)
from ingest.read_report import ReadWarning

NOT_READ = (
    "not an export phenowatch reads (Apple Health, Fitbit/Google Takeout, Oura, Garmin or a "
    "PHQ-9 file)"
)
NOT_FOUND = "no export phenowatch reads was found in it"

#: tried in this order; the first whose ``sniff`` accepts a member reads it
FORMATS: tuple[Format, ...] = (
    *apple_health.FORMATS,
    *fitbit.FORMATS,
    *oura.FORMATS,
    *garmin.FORMATS,
    *phq9.FORMATS,
)


@dataclass
class Loaded:
    samples: pl.DataFrame
    phq9: pl.DataFrame
    #: (member, format name) for every member that was read
    read: list[tuple[str, str]] = field(default_factory=list)
    #: members of no known format inside a folder or archive
    skipped: list[str] = field(default_factory=list)
    #: (member, error) for every member refused as broken; nothing of it is in the frames
    refused: list[tuple[str, str]] = field(default_factory=list)
    #: records skipped inside files that were read, by file and reason
    skipped_records: list[ReadWarning] = field(default_factory=list)

    @property
    def sources(self) -> list[str]:
        return sorted(self.samples["source"].unique().to_list()) if self.samples.height else []

    @property
    def warnings(self) -> list[ReadWarning]:
        """Everything left out, each naming its file: refused files, files of no known format,
        then skipped records."""
        return [
            *(ReadWarning("file_refused", name, error) for name, error in self.refused),
            *(ReadWarning("file_not_read", name, "no known format") for name in self.skipped),
            *self.skipped_records,
        ]


def _why(error: IngestError, member: Member) -> str:
    """The error without the member's name in front (the warning names it already)."""
    if error.file != member.display:
        return str(error)
    return error.message if error.record is None else f"{error.record}: {error.message}"


def recognise(member: Member) -> Format | None:
    head = member.head()
    for fmt in FORMATS:
        if fmt.sniff(member.path, head):
            return fmt
    return None


def load(
    sources: str | os.PathLike[str] | bytes | Sequence[str | os.PathLike[str]],
    *,
    patient_id: str = "",
    display: str | None = None,
    progress: Progress | None = None,
    metrics: frozenset[str] | None = None,
    limits: Limits = DEFAULT_LIMITS,
    hourly_steps: bool = False,
) -> Loaded:
    """Read files, folders, zips (or one upload's bytes) into frames for ``patient_id``.

    ``metrics`` limits the sample metrics kept (None: all of them); ``hourly_steps`` lets
    parsers sum timed steps per device and local hour (``ParseOptions.hourly_steps``): what the
    nights table needs, in a fraction of the memory."""
    options = ParseOptions(
        patient_id=patient_id, progress=progress, metrics=metrics, hourly_steps=hourly_steps
    )
    if isinstance(sources, (str, os.PathLike, bytes)):
        sources = [sources]  # type: ignore[list-item]
    reading = _Reading(options)
    for source in sources:
        label = display or ("<upload>" if isinstance(source, bytes) else str(source))
        with opened(source, display=label, limits=limits) as members:
            reading.read(members)
    out = reading.out
    if not out.read:
        if len(reading.errors) + len(out.skipped) == 1:  # one file seen: its error says it all
            raise (
                reading.errors[0]
                if reading.errors
                else UnknownFormatError(out.skipped[0], NOT_READ)
            )
        raise NothingReadError(
            display or ", ".join(str(s) for s in sources if not isinstance(s, bytes)),
            f"{NOT_FOUND}; files seen: "
            + ("; ".join(w.sentence() for w in out.warnings) or "none"),
        )
    if reading.samples:
        samples = without_exact_duplicates(pl.concat(reading.samples, rechunk=False))
        reading.samples.clear()
        out.samples = _sorted(samples, "start", "metric")
    if reading.phq9:
        out.phq9 = pl.concat(reading.phq9).unique(maintain_order=True)
    out.skipped_records = options.skips.warnings()
    return out


def _sorted(frame: pl.DataFrame, *by: str) -> pl.DataFrame:
    """``frame`` sorted by ``by`` (ties in their order), moved one column at a time, so that a
    decade of samples is never held twice. ``frame`` is emptied."""
    order = frame.select(pl.arg_sort_by(*by, maintain_order=True)).to_series()
    return pl.DataFrame([frame.drop_in_place(name).gather(order) for name in list(frame.columns)])


class _Reading:
    """What one load has read so far."""

    def __init__(self, options: ParseOptions) -> None:
        self.options = options
        self.out = Loaded(schema.empty(schema.SAMPLES), schema.empty(schema.PHQ9))
        self.errors: list[IngestError] = []
        self.samples: list[pl.DataFrame] = []
        self.phq9: list[pl.DataFrame] = []

    def read(self, members: list[Member]) -> None:
        member_options = replace(self.options, siblings=tuple(members), shared={})
        for member in members:
            try:
                if member.error is not None:
                    raise member.error
                fmt = recognise(member)
                if fmt is None:
                    self.out.skipped.append(member.display)
                    continue
                frame = fmt.parse(member, member_options)
                kind = schema.SAMPLES if fmt.kind == "samples" else schema.PHQ9
                frame = schema.validate(frame, kind, member.display)
            except IngestError as error:
                self.options.skips.forget(member.display)
                self.errors.append(error)
                self.out.refused.append((member.display, _why(error, member)))
                continue
            (self.samples if fmt.kind == "samples" else self.phq9).append(frame)
            self.out.read.append((member.display, fmt.name))
