"""PHQ-9 answers: the codes that identify them, and the checks every entry passes.

Every PHQ-9 reader (JSON, CSV, NHANES DPQ, FHIR) turns its file into a *raw* frame (``RAW``:
one row per questionnaire, items as plain integers, the total as written in the file, and a
``record`` label such as ``line 4``) and hands it to :func:`finish`, which checks it whole and
computes the total. The rules:

* items and difficulty are 0-3; the instrument is ``phq9`` or ``phq8`` (PHQ-8 has no item 9);
* the total is the sum of the items when every item of the instrument is answered, and a total
  written in the file must equal it. With unanswered items the total is what the file says
  (checked against what the answered items allow: an Observation may carry only the total), or
  null when the file gives none;
* the first bad record rejects the whole file with an InvalidValueError naming the file, the
  record and the field; nothing partial is returned.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import polars as pl

from ingest.errors import InvalidValueError
from ingest.schema import PHQ9, PHQ9_ITEMS, UTC_DT, validate

#: LOINC codes of the nine questions, in the order of the questionnaire (not numeric order)
ITEM_LOINC: dict[str, int] = {
    "44250-9": 1,  # little interest or pleasure in doing things
    "44255-8": 2,  # feeling down, depressed, or hopeless
    "44259-0": 3,  # trouble falling or staying asleep, or sleeping too much
    "44254-1": 4,  # feeling tired or having little energy
    "44251-7": 5,  # poor appetite or overeating
    "44258-2": 6,  # feeling bad about yourself
    "44252-5": 7,  # trouble concentrating
    "44253-3": 8,  # moving or speaking slowly, or being fidgety
    "44260-8": 9,  # thoughts of being better off dead or of self-harm
}
PANEL_LOINC = "44249-1"
TOTAL_LOINC = "44261-6"
DIFFICULTY_LOINC = "69722-7"
#: LOINC answer list LL358-3 (the items)
ANSWER_CODES = {"LA6568-5": 0, "LA6569-3": 1, "LA6570-1": 2, "LA6571-9": 3}
#: LOINC answer list for the difficulty question
DIFFICULTY_CODES = {"LA6572-7": 0, "LA6573-5": 1, "LA6575-0": 2, "LA6574-3": 3}
INSTRUMENTS = ("phq9", "phq8")

RAW: dict[str, pl.DataType] = {
    "record": pl.String(),
    "patient_id": pl.String(),
    "answered_at": UTC_DT,
    **{item: pl.Int64() for item in PHQ9_ITEMS},
    "total": pl.Int64(),
    "difficulty": pl.Int64(),
    "instrument": pl.String(),
    "source": pl.String(),
    "utc_offset_min": pl.Int32(),
}


def parse_answer_time(
    text: object, file: str, record: str, field: str
) -> tuple[datetime, int | None]:
    """An ISO 8601 timestamp with its UTC offset (``Z`` or ``+01:00``), as UTC, and that offset
    in minutes east (``+01:00`` is 60, ``Z`` 0): the answer's local date is the day it counts on.

    A bare date (``2024-03-01``, which FHIR allows) is taken as midnight UTC of that day, with no
    offset (it names no clock); a time without an offset is refused, since the instant it names
    is unknown."""
    if not isinstance(text, str) or not text.strip():
        raise InvalidValueError(file, f"{field} is missing", record=record)
    value = text.strip()
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            day = date.fromisoformat(value)
            return datetime(day.year, day.month, day.day, tzinfo=UTC), None
        stamp = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidValueError(
            file, f"{field} {value!r} is not an ISO 8601 date-time", record=record
        ) from None
    if stamp.tzinfo is None:
        raise InvalidValueError(
            file, f"{field} {value!r} has no UTC offset (write e.g. +01:00 or Z)", record=record
        )
    offset = stamp.utcoffset()
    minutes = None if offset is None else int(offset.total_seconds() // 60)
    return stamp.astimezone(UTC), minutes


def whole_number(value: object, file: str, record: str, field: str) -> int | None:
    """A JSON answer as an int: integers, or floats with nothing after the point; null stays."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidValueError(file, f"{field} is {value!r}, not a whole number", record=record)
    if isinstance(value, float) and not value.is_integer():
        raise InvalidValueError(file, f"{field} is {value!r}, not a whole number", record=record)
    return int(value)


def raw_frame(rows: list[dict[str, object]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=RAW)


def _item_problems() -> list[pl.Expr]:
    problems: list[pl.Expr] = [
        pl.when(~pl.col(item).is_between(0, 3)).then(
            pl.format(f"{item} is {{}}, must be 0-3", pl.col(item))
        )
        for item in PHQ9_ITEMS
    ]
    problems.append(
        pl.when((pl.col("instrument") == "phq8") & pl.col("item_9").is_not_null()).then(
            pl.lit("item_9 is answered, but a PHQ-8 has no item 9")
        )
    )
    problems.append(
        pl.when(~pl.col("difficulty").is_between(0, 3)).then(
            pl.format("difficulty is {}, must be 0-3", pl.col("difficulty"))
        )
    )
    problems.append(
        pl.when(~pl.col("instrument").is_in(INSTRUMENTS)).then(
            pl.format("instrument is '{}', must be phq9 or phq8", pl.col("instrument"))
        )
    )
    return problems


def _total_problems(answered: pl.Expr, unanswered: pl.Expr) -> list[pl.Expr]:
    given = pl.col("total")
    top = pl.when(pl.col("instrument") == "phq8").then(24).otherwise(27)
    return [
        pl.when(~given.is_between(0, top)).then(pl.format("total is {}, must be 0-{}", given, top)),
        pl.when(given.is_between(0, top) & (unanswered == 0) & (given != answered)).then(
            pl.format("total is {} but the items add up to {}", given, answered)
        ),
        pl.when(
            given.is_between(0, top)
            & (unanswered > 0)
            & ((given < answered) | (given > answered + 3 * unanswered))
        ).then(
            pl.format(
                "total is {} but the answered items allow only {} to {}",
                given,
                answered,
                answered + 3 * unanswered,
            )
        ),
    ]


def finish(raw: pl.DataFrame, file: str) -> pl.DataFrame:
    """Check a raw frame whole and return it as PHQ-9 entries (``ingest.schema.PHQ9``)."""
    raw = raw.with_columns(pl.col("instrument").fill_null("phq9"))
    items_of = [pl.col(item) for item in PHQ9_ITEMS[:8]] + [
        pl.when(pl.col("instrument") == "phq9").then(pl.col("item_9")).otherwise(0)
    ]
    answered = pl.sum_horizontal(items_of)
    unanswered = pl.sum_horizontal([item.is_null().cast(pl.Int64) for item in items_of])
    item_problems = pl.concat_str(_item_problems(), separator="; ", ignore_nulls=True)
    checked = raw.with_columns(
        problem=pl.when(item_problems != "")
        .then(item_problems)
        .otherwise(
            pl.concat_str(_total_problems(answered, unanswered), separator="; ", ignore_nulls=True)
        ),
        computed=pl.when(unanswered == 0).then(answered).otherwise(pl.col("total")),
    )
    bad = checked.filter(pl.col("problem") != "")
    if bad.height:
        first = bad.row(0, named=True)
        more = f" (and {bad.height - 1} more bad records)" if bad.height > 1 else ""
        raise InvalidValueError(file, f"{first['problem']}{more}", record=first["record"])
    entries = checked.select(
        "patient_id",
        "answered_at",
        *(pl.col(item).cast(pl.Int8) for item in PHQ9_ITEMS),
        pl.col("computed").cast(pl.Int8).alias("total"),
        pl.col("difficulty").cast(pl.Int8),
        "instrument",
        "source",
        pl.col("utc_offset_min").cast(pl.Int32),
    )
    return validate(entries, PHQ9, file)
