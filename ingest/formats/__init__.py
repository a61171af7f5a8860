"""One module per vendor family. Each exposes ``FORMATS``: the formats it reads.

A :class:`Format` recognises a member from its path and first bytes (``sniff``) and turns it
into a frame (``parse``): samples (``ingest.schema.SAMPLES``) or PHQ-9 entries
(``ingest.schema.PHQ9``). Parsers are pure: no database, settings or clock.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import polars as pl

from ingest.archive import Member

#: called with the number of bytes consumed since the last call
Progress = Callable[[int], None]


@dataclass(frozen=True)
class Format:
    name: str
    kind: Literal["samples", "phq9"]
    sniff: Callable[[str, bytes], bool]
    parse: Callable[[Member, str, Progress | None], pl.DataFrame]
