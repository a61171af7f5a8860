"""Where a Fitbit export keeps its local offsets, and how the other Fitbit files borrow them.

Most Fitbit files do not say which zone their times are in: the legacy ``sleep-*.json`` and
the ``Heart Rate Variability`` CSVs are naive local time, the per-minute ``steps-*.json`` and
``heart_rate-*.json`` are UTC. Only ``Health Fitness Data_GoogleData/UserSleeps_*.csv`` pairs
each session's UTC start and end with its offset.

The rule: every offset-less Fitbit file of an upload takes the offset of the UserSleeps session
start or end nearest in time (naive local times are compared with local session times, UTC with
UTC), within ``REACH``. Without a UserSleeps file in the upload, or farther than ``REACH`` from
every session, the offset is 0: naive local times are then stored as if UTC, which keeps every
local date and clock time right (nights are assigned by local date) and shifts only the instant.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta

import polars as pl

from ingest.archive import Member
from ingest.errors import InvalidValueError
from ingest.formats import ParseOptions, Progress
from ingest.formats.vendor_csv import header_of, read_text_csv, require_cells, times
from ingest.formats.vendor_records import named

REACH = timedelta(days=30)
USER_SLEEPS_PREFIX = "UserSleeps"
USER_SLEEPS_NAME = re.compile(rf"^{USER_SLEEPS_PREFIX}.*\.csv$", re.IGNORECASE)
#: every column of a ``UserSleeps_*.csv``, in Fitbit's order
USER_SLEEPS_HEADER = (
    "sleep_id",
    "sleep_type",
    "minutes_in_sleep_period",
    "minutes_after_wake_up",
    "minutes_to_fall_asleep",
    "minutes_asleep",
    "minutes_awake",
    "minutes_longest_awakening",
    "minutes_to_persistent_sleep",
    "start_utc_offset",
    "sleep_start",
    "end_utc_offset",
    "sleep_end",
    "data_source",
    "algorithm_version",
    "sleep_created",
    "sleep_last_updated",
)
#: the ones read
USER_SLEEPS_COLUMNS = [
    "sleep_id",
    "minutes_asleep",
    "minutes_awake",
    "start_utc_offset",
    "sleep_start",
    "end_utc_offset",
    "sleep_end",
]
UTC_FORMAT = "%Y-%m-%d %H:%M:%S%z"


def is_user_sleeps(head: bytes) -> bool:
    header = header_of(head)
    return header[:2] == list(USER_SLEEPS_HEADER[:2]) and "start_utc_offset" in header


def offset_minutes(text: pl.Expr) -> pl.Expr:
    """Minutes of an offset written ``-04:00`` / ``+0530`` / ``Z``."""
    clean = text.str.strip_chars().str.replace(":", "").str.replace("^Z$", "+0000")
    sign = pl.when(clean.str.starts_with("-")).then(-1).otherwise(1)
    hours = clean.str.slice(1, 2).cast(pl.Int32, strict=False)
    minutes = clean.str.slice(3, 2).cast(pl.Int32, strict=False)
    return (sign * (hours * 60 + minutes)).cast(pl.Int32)


def read_user_sleeps(member: Member, options: ParseOptions) -> pl.DataFrame:
    """UserSleeps sessions: ``start``/``end`` (UTC), their offsets, minutes asleep and awake,
    ``algorithm_version`` and ``line``. Errors name the file and line. Read once per upload
    (the offset table reads every UserSleeps file before each is parsed itself); its bytes
    count towards ``options.progress`` at each call, as if it were read again."""
    key = f"fitbit_user_sleeps {member.display}"
    if key in options.shared:
        sessions, size = options.shared[key]
        if options.progress is not None:
            options.progress(size)
        return sessions
    sessions, _ = options.once(key, lambda: _read_user_sleeps(member, options.progress))
    return sessions


def _read_user_sleeps(member: Member, progress: Progress | None) -> tuple[pl.DataFrame, int]:
    sizes: list[int] = []

    def counted(size: int) -> None:
        sizes.append(size)
        if progress is not None:
            progress(size)

    frame = read_text_csv(member, ParseOptions(progress=counted), USER_SLEEPS_COLUMNS)
    require_cells(frame, USER_SLEEPS_COLUMNS, member.display)
    start = times(frame, "sleep_start", UTC_FORMAT, member.display, aware=True)
    end = times(frame, "sleep_end", UTC_FORMAT, member.display, aware=True)
    frame = frame.with_columns(
        start=start,
        end=end,
        start_offset=offset_minutes(pl.col("start_utc_offset")),
        end_offset=offset_minutes(pl.col("end_utc_offset")),
    )
    for column, parsed in (("start_utc_offset", "start_offset"), ("end_utc_offset", "end_offset")):
        if not frame[parsed].has_nulls():
            continue
        bad = frame.filter(pl.col(parsed).is_null())
        if bad.height:
            raise InvalidValueError(
                member.display,
                f"column {column!r} is {bad[column][0]!r}, not an offset like -04:00",
                record=f"line {bad['line'][0]}",
            )
    return frame, sum(sizes)


def offset_table(options: ParseOptions) -> pl.DataFrame:
    """``utc`` (naive UTC), ``local`` (naive local) and ``offset`` of every UserSleeps session
    start and end in the upload (``options.siblings``), read once per upload."""
    return options.once("fitbit_offset_table", lambda: _read_offset_table(options))


def _read_offset_table(options: ParseOptions) -> pl.DataFrame:
    parts = []
    # these members are counted (progress) when they are parsed themselves
    quiet = replace(options, progress=None)
    for member in named(options.siblings, USER_SLEEPS_NAME):
        if not is_user_sleeps(member.head(4096)):
            continue
        sessions = read_user_sleeps(member, quiet)
        for moment, offset in (("start", "start_offset"), ("end", "end_offset")):
            parts.append(
                sessions.select(
                    utc=pl.col(moment).dt.replace_time_zone(None),
                    offset=pl.col(offset),
                )
            )
    if not parts:
        return pl.DataFrame(
            schema={"utc": pl.Datetime("us"), "local": pl.Datetime("us"), "offset": pl.Int32}
        )
    table = pl.concat(parts).drop_nulls()
    return table.with_columns(local=pl.col("utc") + pl.duration(minutes=pl.col("offset"))).select(
        "utc", "local", "offset"
    )


def offsets_at(moments: pl.Series, table: pl.DataFrame, *, local: bool) -> pl.Series:
    """The offset (minutes) for each naive ``moments`` value: local wall-clock times when
    ``local``, else UTC. 0 where no session is within REACH."""
    key = "local" if local else "utc"
    if table.is_empty():
        return pl.Series("offset", [0] * len(moments), dtype=pl.Int32)
    times = moments.cast(pl.Datetime("us"))
    if not times.has_nulls() and times.is_sorted():  # a file's records usually are
        matched = pl.DataFrame({"t": times}).join_asof(
            table.select(key, "offset").sort(key),
            left_on="t",
            right_on=key,
            strategy="nearest",
            tolerance=REACH,
        )
        return matched["offset"].fill_null(0).cast(pl.Int32)
    probe = pl.DataFrame({"t": times}).with_row_index("i")
    matched = (
        probe.sort("t")
        .join_asof(
            table.select(key, "offset").sort(key),
            left_on="t",
            right_on=key,
            strategy="nearest",
            tolerance=REACH,
        )
        .sort("i")
    )
    return matched["offset"].fill_null(0).cast(pl.Int32)
