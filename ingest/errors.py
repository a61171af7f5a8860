"""Typed errors raised by ingest/.

Every error names the file (and, where it applies, the record or line) and says what was wrong,
so that a patient, a coordinator or the API can show it as it is. The API turns these into
RFC 9457 problem responses in one place; nothing here knows about HTTP.
"""

from __future__ import annotations


class IngestError(Exception):
    """Base class: a file could not be read into frames. Nothing of it is kept."""

    #: short machine-readable slug, used as the problem type by the API
    code = "ingest-error"

    def __init__(self, file: str | None, message: str, *, record: str | int | None = None):
        self.file = file
        self.record = record
        self.message = message
        super().__init__(self.__str__())

    def __str__(self) -> str:
        where = self.file or "<input>"
        if self.record is not None:
            where = f"{where}, {self.record}"
        return f"{where}: {self.message}"


class UnknownFormatError(IngestError):
    """The bytes are not any export phenowatch reads."""

    code = "unknown-format"


class MalformedFileError(IngestError):
    """A known format, but the content is broken (truncated, bad syntax, missing field)."""

    code = "malformed-file"


class UnsafeInputError(IngestError):
    """Hostile input refused without expanding it: entity bombs, external entities, zip bombs,
    archive members with absolute or parent-directory paths."""

    code = "unsafe-input"


class InvalidValueError(IngestError):
    """A value outside what the format allows, e.g. a PHQ-9 item that is not 0-3."""

    code = "invalid-value"


class SchemaError(IngestError):
    """A frame does not match its declared schema. Lists every bad column at once."""

    code = "schema-error"


class NothingReadError(UnknownFormatError):
    """An upload (folder, zip, several files) from which no file could be read. The message
    names the files seen and why each was left out."""

    code = "nothing-read"
