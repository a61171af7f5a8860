"""Reading vendor CSV exports (Fitbit/Google Takeout, Oura web export) with errors that name
the file, the line and the column.

Every cell is read as text first and converted column by column with polars, so a bad value
is reported with its line number instead of a parser's generic message.
"""

from __future__ import annotations

import io

import polars as pl

from ingest.archive import Member
from ingest.errors import InvalidValueError, MalformedFileError
from ingest.formats import ParseOptions
from ingest.formats.vendor_records import read_bytes

#: the first data row is line 2 (line 1 is the header)
LINE = pl.int_range(pl.len()) + 2


def header_of(head: bytes, separator: str = ",") -> list[str]:
    """The column names on the first line of ``head`` (BOM and quotes removed)."""
    first = head.split(b"\n", 1)[0].lstrip(b"\xef\xbb\xbf").rstrip(b"\r")
    try:
        text = first.decode("utf-8")
    except UnicodeDecodeError:
        return []
    return [name.strip().strip('"') for name in text.split(separator)]


def read_text_csv(
    member: Member,
    options: ParseOptions,
    required: list[str],
    separator: str = ",",
    quote_char: str | None = '"',
) -> pl.DataFrame:
    """All cells as text, plus a ``line`` column; MalformedFileError when a required column is
    missing or a line cannot be split. ``quote_char=None`` for exports that write JSON into
    cells without quoting them (Oura)."""
    data = read_bytes(member, options)
    try:
        frame = pl.read_csv(
            io.BytesIO(data),
            separator=separator,
            infer_schema=False,
            raise_if_empty=False,
            quote_char=quote_char,
        )
    except (pl.exceptions.ComputeError, pl.exceptions.NoDataError) as exc:
        raise MalformedFileError(member.display, f"not a readable CSV file ({exc})") from exc
    missing = [name for name in required if name not in frame.columns]
    if missing:
        raise MalformedFileError(member.display, f"missing columns {missing}")
    return frame.with_columns(line=LINE)


def require_cells(frame: pl.DataFrame, columns: list[str], file: str) -> None:
    """MalformedFileError naming the first line where a required cell is empty (a truncated
    last line shows up this way)."""
    blank = [pl.col(c).is_null() | (pl.col(c).str.strip_chars() == "") for c in columns]
    if not frame.select(pl.any_horizontal(blank).any()).item():
        return  # the usual case, found in one pass
    for column in columns:
        empty = frame.filter(pl.col(column).is_null() | (pl.col(column).str.strip_chars() == ""))
        if empty.height:
            raise MalformedFileError(
                file, f"column {column!r} is empty", record=f"line {empty['line'][0]}"
            )


def numbers(frame: pl.DataFrame, column: str, file: str) -> pl.Series:
    """The column as f64; InvalidValueError naming the first line whose cell is not a number."""
    parsed = frame[column].str.strip_chars().cast(pl.Float64, strict=False)
    if not parsed.has_nulls():
        return parsed
    bad = frame.filter(frame[column].is_not_null() & (frame[column] != "") & parsed.is_null())
    if bad.height:
        raise InvalidValueError(
            file,
            f"column {column!r} is {bad[column][0]!r}, expected a number",
            record=f"line {bad['line'][0]}",
        )
    return parsed


def times(
    frame: pl.DataFrame, column: str, fmt: str, file: str, *, aware: bool = False
) -> pl.Series:
    """The column parsed with ``fmt`` (naive, or UTC when ``aware``); InvalidValueError naming
    the first line that does not match."""
    dtype = pl.Datetime("us", "UTC") if aware else pl.Datetime("us")
    text = frame[column].str.strip_chars()
    parsed = text.str.strptime(dtype, fmt, strict=False)
    if not parsed.has_nulls():
        return parsed
    bad = frame.filter(text.is_not_null() & (text != "") & parsed.is_null())
    if bad.height:
        raise InvalidValueError(
            file,
            f"column {column!r} is {bad[column][0]!r}, not a time like {fmt!r}",
            record=f"line {bad['line'][0]}",
        )
    return parsed
