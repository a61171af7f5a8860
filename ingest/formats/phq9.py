"""PHQ-9 files: phenowatch's JSON and CSV, NHANES DPQ tables, and FHIR R4 (see ``phq9_fhir``).

**JSON** — one object or a list of objects::

    {"patient_id": "p1",                        # optional
     "answered_at": "2024-03-01T09:30:00+01:00", # ISO 8601 with its offset
     "items": [0, 1, 2, 1, 0, 0, 1, 0, 0],       # nine answers 0-3 in order (8 for a PHQ-8),
                                                 #   or "item_1": 0 ... "item_9": 0
     "difficulty": 1,                            # optional, 0-3
     "total": 5,                                 # optional, checked against the items
     "instrument": "phq9"}                       # optional: "phq9" or "phq8"

A list of eight answers (or no ``item_9``) is a PHQ-8. Records are named ``record 1``,
``record 2``...

**CSV** — a header with ``answered_at`` and ``item_1`` ... ``item_9`` (``item_9`` absent: PHQ-8),
and optionally ``patient_id``, ``difficulty``, ``total``, ``instrument``; blank cells are
unanswered. Other columns are ignored. Lines are numbered as in the file (the header is line 1).

**NHANES DPQ** — the CDC depression screener table (``SEQN, DPQ010 ... DPQ090, DPQ100``, values
written as floats like ``1.0``). 7 (refused), 9 (don't know) and blank are unanswered items, and
a respondent with an unanswered item has a null total. Zeros written as
``5.397605346934028e-79`` (an artefact of converting SAS transport files) read as 0. NHANES
records no date: ``answered_at`` is null, and ``patient_id`` is ``nhanes-<SEQN>``, whatever
patient the upload is for.

For JSON, CSV and FHIR, the upload's patient id (``ParseOptions.patient_id``) wins; without one,
the file's own ``patient_id`` (FHIR: the subject reference) is used.
"""

from __future__ import annotations

import io
import json
from datetime import datetime
from typing import Any

import polars as pl

from ingest.archive import Member
from ingest.errors import InvalidValueError, MalformedFileError
from ingest.formats import Format, ParseOptions, phq9_fhir
from ingest.phq9 import finish, parse_answer_time, raw_frame, whole_number
from ingest.schema import PHQ9_ITEMS

NHANES_ITEMS = {f"DPQ0{i}0": f"item_{i}" for i in range(1, 10)}
NHANES_CODES = {0: 0, 1: 1, 2: 2, 3: 3, 7: None, 9: None}  # 7 refused, 9 don't know


def _read_all(member: Member, options: ParseOptions) -> bytes:
    with member.open() as fh:
        data = fh.read()
    if options.progress:
        options.progress(len(data))
    return data


def _header(head: bytes) -> list[str]:
    first = head.lstrip(b"\xef\xbb\xbf").split(b"\n", 1)[0].decode("utf-8", "replace")
    return [name.strip().strip('"').lower() for name in first.strip().split(",")]


def _json_object_start(head: bytes) -> bool:
    return head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] in (b"{", b"[")


# --- JSON -------------------------------------------------------------------------------------


def sniff_json(path: str, head: bytes) -> bool:
    return (
        _json_object_start(head)
        and b'"answered_at"' in head
        and (b'"items"' in head or b'"item_1"' in head)
    )


def _json_row(obj: Any, record: str, file: str, options: ParseOptions) -> dict[str, object]:
    if not isinstance(obj, dict):
        raise MalformedFileError(file, "each entry must be a JSON object", record=record)
    if "items" in obj:
        items = obj["items"]
        if not isinstance(items, list) or len(items) not in (8, 9):
            raise MalformedFileError(
                file, "items must be a list of 9 answers (8 for a PHQ-8)", record=record
            )
        answers = dict(zip(PHQ9_ITEMS, items, strict=False))
    else:
        missing = [item for item in PHQ9_ITEMS[:8] if item not in obj]
        if missing:
            raise MalformedFileError(file, f"missing {', '.join(missing)}", record=record)
        answers = {item: obj[item] for item in PHQ9_ITEMS if item in obj}
    instrument = obj.get("instrument") or ("phq9" if "item_9" in answers else "phq8")
    row: dict[str, object] = {
        item: whole_number(answers.get(item), file, record, item) for item in PHQ9_ITEMS
    }
    answered_at, offset = parse_answer_time(obj.get("answered_at"), file, record, "answered_at")
    return {
        **row,
        "record": record,
        "patient_id": options.patient_id or str(obj.get("patient_id") or ""),
        "answered_at": answered_at,
        "utc_offset_min": offset,
        "total": whole_number(obj.get("total"), file, record, "total"),
        "difficulty": whole_number(obj.get("difficulty"), file, record, "difficulty"),
        "instrument": str(instrument).lower(),
        "source": "phq9_json",
    }


def parse_json(member: Member, options: ParseOptions) -> pl.DataFrame:
    file = member.display
    try:
        doc = json.loads(_read_all(member, options))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MalformedFileError(file, f"not valid JSON ({exc})") from exc
    objs = doc if isinstance(doc, list) else [doc]
    # one questionnaire per object: a PHQ-9 file holds a handful, never a hot path
    rows = [_json_row(obj, f"record {n}", file, options) for n, obj in enumerate(objs, 1)]
    return finish(raw_frame(rows), file)


# --- CSV --------------------------------------------------------------------------------------


def sniff_csv(path: str, head: bytes) -> bool:
    names = _header(head)
    return "answered_at" in names and "item_1" in names


def _read_csv(member: Member, options: ParseOptions) -> pl.DataFrame:
    data = _read_all(member, options)
    try:
        frame = pl.read_csv(io.BytesIO(data), infer_schema=False)
    except (pl.exceptions.ComputeError, pl.exceptions.NoDataError) as exc:
        raise MalformedFileError(member.display, f"not a readable CSV table ({exc})") from exc
    frame = frame.rename({name: name.strip().lower() for name in frame.columns})
    # the header is line 1, so the first record is line 2
    return frame.with_columns(
        pl.col(c).str.strip_chars().fill_null("") for c in frame.columns
    ).with_row_index("line", offset=2)


def _numbers(
    frame: pl.DataFrame, columns: list[str], file: str, *, snap: float = 0.0
) -> pl.DataFrame:
    """Cast text cells to whole numbers (``2`` or ``2.0``), blank to null; anything else is an
    InvalidValueError naming the first offending line and column. Values within ``snap`` of a
    whole number are taken as it."""
    for column in columns:
        text = pl.col(column)
        number = text.cast(pl.Float64, strict=False)
        off = (number - number.round()).abs() > snap
        bad = frame.filter((text != "") & (number.is_null() | ~number.is_finite() | off))
        if bad.height:
            line, value = bad.select("line", column).row(0)
            raise InvalidValueError(
                file, f"{column} is {value!r}, not a whole number", record=f"line {line}"
            )
    return frame.with_columns(
        pl.when(pl.col(c) != "").then(pl.col(c).cast(pl.Float64).round().cast(pl.Int64)).alias(c)
        for c in columns
    )


def parse_csv(member: Member, options: ParseOptions) -> pl.DataFrame:
    file = member.display
    frame = _read_csv(member, options)
    missing = [c for c in ("answered_at", *PHQ9_ITEMS[:8]) if c not in frame.columns]
    if missing:
        raise MalformedFileError(file, f"the header lacks {', '.join(missing)}", record="line 1")
    numeric = [c for c in (*PHQ9_ITEMS, "total", "difficulty") if c in frame.columns]
    frame = _numbers(frame, numeric, file)
    default_instrument = "phq9" if "item_9" in frame.columns else "phq8"
    # strict ISO parsing with an error naming the line; PHQ-9 tables are small
    stamps: list[datetime] = []
    offsets: list[int | None] = []
    for line, text in frame.select("line", "answered_at").iter_rows():
        stamp, offset = parse_answer_time(text, file, f"line {line}", "answered_at")
        stamps.append(stamp)
        offsets.append(offset)
    raw = frame.select(
        pl.format("line {}", "line").alias("record"),
        (
            pl.lit(options.patient_id)
            if options.patient_id or "patient_id" not in frame.columns
            else pl.col("patient_id")
        ).alias("patient_id"),
        pl.Series("answered_at", stamps, dtype=pl.Datetime("us", "UTC")),
        *(
            pl.col(c) if c in frame.columns else pl.lit(None, pl.Int64).alias(c)
            for c in (*PHQ9_ITEMS, "total", "difficulty")
        ),
        (
            pl.when(pl.col("instrument") != "")
            .then(pl.col("instrument").str.to_lowercase())
            .otherwise(pl.lit(default_instrument))
            if "instrument" in frame.columns
            else pl.lit(default_instrument)
        ).alias("instrument"),
        pl.lit("phq9_csv").alias("source"),
        pl.Series("utc_offset_min", offsets, dtype=pl.Int32),
    )
    return finish(raw.cast(raw_frame([]).schema), file)


# --- NHANES DPQ -------------------------------------------------------------------------------


def sniff_nhanes(path: str, head: bytes) -> bool:
    names = _header(head)
    return "seqn" in names and "dpq010" in names


def parse_nhanes(member: Member, options: ParseOptions) -> pl.DataFrame:
    file = member.display
    frame = _read_csv(member, options).rename(str.upper)
    missing = [c for c in ("SEQN", *NHANES_ITEMS, "DPQ100") if c not in frame.columns]
    if missing:
        raise MalformedFileError(file, f"the header lacks {', '.join(missing)}", record="line 1")
    # SAS transport files turned into CSV write some zeros as 5.397605346934028e-79
    columns = ["SEQN", *NHANES_ITEMS, "DPQ100"]
    frame = _numbers(frame.rename({"LINE": "line"}), columns, file, snap=1e-9)
    for column in (*NHANES_ITEMS, "DPQ100"):
        bad = frame.filter(~pl.col(column).is_in(list(NHANES_CODES)))
        if bad.height:
            line, value = bad.select("line", column).row(0)
            raise InvalidValueError(
                file,
                f"{column} is {value}, must be 0-3, 7 (refused), 9 (don't know) or blank",
                record=f"line {line}",
            )
    no_seqn = frame.filter(pl.col("SEQN").is_null())
    if no_seqn.height:
        raise InvalidValueError(file, "SEQN is blank", record=f"line {no_seqn['line'][0]}")
    answer = {code: value for code, value in NHANES_CODES.items() if value is not None}
    raw = frame.select(
        pl.format("line {}", "line").alias("record"),
        pl.format("nhanes-{}", "SEQN").alias("patient_id"),
        pl.lit(None, pl.Datetime("us", "UTC")).alias("answered_at"),
        *(
            pl.col(column).replace_strict(answer, default=None, return_dtype=pl.Int64).alias(item)
            for column, item in {**NHANES_ITEMS, "DPQ100": "difficulty"}.items()
        ),
        pl.lit(None, pl.Int64).alias("total"),
        pl.lit("phq9").alias("instrument"),
        pl.lit("nhanes_dpq").alias("source"),
        pl.lit(None, pl.Int32).alias("utc_offset_min"),
    )
    return finish(raw, file)


FORMATS: tuple[Format, ...] = (
    Format("phq9_json", "phq9", sniff_json, parse_json),
    Format("phq9_csv", "phq9", sniff_csv, parse_csv),
    Format("nhanes_dpq", "phq9", sniff_nhanes, parse_nhanes),
    *phq9_fhir.FORMATS,
)
