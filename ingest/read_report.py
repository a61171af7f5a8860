"""What a load left out, and why: the records skipped inside files that were read, and the
files that were not read at all.

Real exports carry records no parser should read as data (a Fitbit ``unknown`` sleep segment in
the night the clocks change, a Garmin placeholder object with no date, a resting-heart-rate day
written as 0). Such a record is skipped and counted here, with the first one as an example
(file, record, why), so that the command summary, the upload status and the replay report can
show it. A file that is not read (no known format, or refused as broken) is named here too.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ReadWarning:
    """One line of what was left out. ``kind`` is ``record_skipped`` (``count`` records of
    ``file`` skipped for ``reason``; ``record`` names the first), ``file_refused`` (a broken
    file, ``reason`` is its error) or ``file_not_read`` (no known format)."""

    kind: str
    file: str
    reason: str
    record: str | None = None
    count: int = 1

    def sentence(self) -> str:
        if self.kind == "record_skipped":
            records = f"{self.count} record{'s' if self.count != 1 else ''}"
            return f"{self.file}: skipped {records} ({self.reason}; e.g. {self.record})"
        if self.kind == "file_refused":
            return f"refused {self.file}: {self.reason}"
        return f"not read: {self.file} ({self.reason})"

    def as_dict(self) -> dict[str, str | int | None]:
        return {
            "kind": self.kind,
            "file": self.file,
            "record": self.record,
            "reason": self.reason,
            "count": self.count,
        }


@dataclass
class SkipLog:
    """Collects record-level skips while files are parsed: ``(file, reason)`` → count and the
    first record. Parsers call :meth:`skip`; a parser run with a throw-away log (reading a
    sibling for its offsets) reports nothing."""

    counts: dict[tuple[str, str], int] = field(default_factory=dict)
    first: dict[tuple[str, str], str] = field(default_factory=dict)

    def skip(self, file: str, record: str, reason: str, count: int = 1) -> None:
        key = (file, reason)
        self.counts[key] = self.counts.get(key, 0) + count
        self.first.setdefault(key, record)

    def forget(self, file: str) -> None:
        """Drops what was counted for ``file`` (it was refused: nothing of it is kept)."""
        for key in [k for k in self.counts if k[0] == file]:
            del self.counts[key]
            del self.first[key]

    def warnings(self) -> list[ReadWarning]:
        return [
            ReadWarning("record_skipped", file, reason, self.first[(file, reason)], count)
            for (file, reason), count in self.counts.items()
        ]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def by_reason(warnings: list[ReadWarning]) -> dict[str, int]:
    """Records skipped per reason, over every file."""
    totals: dict[str, int] = {}
    for warning in warnings:
        if warning.kind == "record_skipped":
            totals[warning.reason] = totals.get(warning.reason, 0) + warning.count
    return totals
