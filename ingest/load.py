"""Recognise and read every member of an upload into sample and PHQ-9 frames.

Formats are recognised from content (and the member's name where a vendor's file names are part
of its format). A single file of no known format is an error; inside a folder or a zip, members
of no known format are skipped and listed. Any member that fails fails the whole load, so a
caller never receives a partial frame.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import polars as pl

from ingest import schema
from ingest.archive import DEFAULT_LIMITS, Limits, Member, iter_members
from ingest.duplicates import without_exact_duplicates
from ingest.errors import UnknownFormatError
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

    @property
    def sources(self) -> list[str]:
        return sorted(self.samples["source"].unique().to_list()) if self.samples.height else []


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
) -> Loaded:
    """Read files, folders, zips (or one upload's bytes) into frames for ``patient_id``.

    ``metrics`` limits the sample metrics kept (None: all of them)."""
    options = ParseOptions(patient_id=patient_id, progress=progress, metrics=metrics)
    if isinstance(sources, (str, os.PathLike, bytes)):
        sources = [sources]  # type: ignore[list-item]
    sample_frames: list[pl.DataFrame] = []
    phq9_frames: list[pl.DataFrame] = []
    read: list[tuple[str, str]] = []
    skipped: list[str] = []
    for source in sources:
        label = display or ("<upload>" if isinstance(source, bytes) else str(source))
        members = list(iter_members(source, display=label, limits=limits))
        single = len(members) == 1 and members[0].display == label
        found = 0
        member_options = replace(options, siblings=tuple(members))
        for member in members:
            fmt = recognise(member)
            if fmt is None:
                skipped.append(member.display)
                continue
            found += 1
            frame = fmt.parse(member, member_options)
            if fmt.kind == "samples":
                sample_frames.append(schema.validate(frame, schema.SAMPLES, member.display))
            else:
                phq9_frames.append(schema.validate(frame, schema.PHQ9, member.display))
            read.append((member.display, fmt.name))
        if not found:
            raise UnknownFormatError(
                label,
                "not an export phenowatch reads (Apple Health, Fitbit/Google Takeout, Oura, "
                "Garmin or a PHQ-9 file)"
                if single
                else "no export phenowatch reads was found in it",
            )
    samples = (
        without_exact_duplicates(pl.concat(sample_frames))
        if sample_frames
        else schema.empty(schema.SAMPLES)
    )
    phq9_entries = (
        pl.concat(phq9_frames).unique(maintain_order=True)
        if phq9_frames
        else schema.empty(schema.PHQ9)
    )
    return Loaded(samples.sort("start", "metric"), phq9_entries, read, skipped)
