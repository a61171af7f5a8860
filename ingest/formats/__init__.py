"""One module per vendor family. Each exposes ``FORMATS``: the formats it reads.

A :class:`Format` recognises a member from its path and first bytes (``sniff``) and turns it
into a frame (``parse``): samples (``ingest.schema.SAMPLES``) or PHQ-9 entries
(``ingest.schema.PHQ9``). Parsers are pure: no database, settings or clock.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar, cast

import polars as pl

from ingest.archive import Member
from ingest.read_report import SkipLog

#: called with the number of bytes consumed since the last call
Progress = Callable[[int], None]
T = TypeVar("T")


@dataclass(frozen=True)
class ParseOptions:
    """What a caller asks of a parser."""

    patient_id: str = ""
    progress: Progress | None = None
    #: sample metrics wanted (None: all). A parser may skip the others while streaming, which is
    #: how ``phenowatch nights`` stays in bounded memory on years of per-second heart rate.
    metrics: frozenset[str] | None = None
    #: timed steps may be given as their sums per device and local clock hour (of each record's
    #: start), which is all the nights table reads of them: a decade of an iPhone's and a
    #: Watch's step records then takes a fraction of the memory
    hourly_steps: bool = False
    #: every member of the same upload (folder or zip), this one included. A vendor whose files
    #: lack something another file of the same export carries (Fitbit's local offsets live in
    #: UserSleeps; Garmin's in the UDS files) may read it from here. Empty for a lone file.
    siblings: tuple[Member, ...] = ()
    #: where parsers count the records they skip (placeholders, unknown values); a parser
    #: reading a sibling for its offsets passes a fresh log, so nothing is counted twice
    skips: SkipLog = field(default_factory=SkipLog)
    #: what the parsers of one upload work out from its siblings, worked out once (see
    #: ``once``); ``ingest.load`` gives every upload its own
    shared: dict[str, Any] = field(default_factory=dict, compare=False)

    def wants(self, metric: str) -> bool:
        return self.metrics is None or metric in self.metrics

    def once(self, name: str, work: Callable[[], T]) -> T:
        """``work()``, done once for the whole upload: every Fitbit file of a Takeout needs
        the same offset table from its UserSleeps files, every UserSleeps file the same spans
        of its sleep logs, and a Takeout holds dozens of each."""
        if name not in self.shared:
            self.shared[name] = work()
        return cast(T, self.shared[name])


@dataclass(frozen=True)
class Format:
    """``sniff(path, head)`` says from a member's path and first 64 KiB whether this format
    reads it; ``parse(member, options)`` returns a frame of the samples or PHQ-9 schema."""

    name: str
    kind: Literal["samples", "phq9"]
    sniff: Callable[[str, bytes], bool]
    parse: Callable[[Member, ParseOptions], pl.DataFrame]
