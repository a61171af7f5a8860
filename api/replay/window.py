"""The detection job's reading window, kept in memory between replayed days.

Each night the detection job reads, for every patient, the nights of the last
``lookback_days`` days and the PHQ-9 entries the rules need (``detection_inputs``). A replay
judges every patient every day, so it would read the same rows 365 times: for 2,000 patients,
280,000 nights a day out of SQLite. ``StoredWindow`` reads the window once, then only the
stored rows of the nights each replayed day wrote (read back from the database after their
upsert, so the copy holds exactly what the table holds), and drops the nights that fall out
of the window. The PHQ-9 entries are kept the same way (read once, then the entries each day
submitted, read back after they were stored), and each judged night's entries of everyone are
picked from them as ``load_phq9`` picks them in the database. Each patient's latest night with a UTC
offset, which decides the local night judged (``latest_nights``), comes from the same copy.
What the detection job sees is the rows it would have read from the database;
``tests/api/test_replay_window.py`` checks it row for row.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import polars as pl
from sqlalchemy import bindparam
from sqlalchemy.orm import Session

from api.services.detection import reading_window
from api.services.nights import load_nights
from api.services.phq9 import KEY, load_phq9
from api.store import Night
from detect import DEFAULT, DetectConfig
from detect.cube import needed_columns

#: patients per query when a day's stored nights are read back
IDS_PER_QUERY = 5000
#: the earliest local night a replayed day's detection judges, in days before it (UTC-12)
EARLIEST_NIGHT = 1
#: kept beside the detection job's columns: the offset of each patient's latest night
OFFSET = "utc_offset_min"


class StoredWindow:
    """``DetectionInputs`` (and ``LatestNights``, as ``latest_nights``) for a replay: call
    ``stored`` after each upsert of nights and ``refresh`` before each detection run."""

    def __init__(self, config: DetectConfig = DEFAULT) -> None:
        self.config = config
        self.judged_columns = needed_columns(config)
        self.columns = [*self.judged_columns, OFFSET]
        self.nights: pl.DataFrame | None = None
        #: every stored PHQ-9 entry, sorted by patient and answer time
        self.answers: pl.DataFrame | None = None
        #: everyone's PHQ-9 entries that judging each night reads
        self.phq9: dict[date, pl.DataFrame] = {}
        self.first: date | None = None

    def stored(self, session: Session, keys: pl.DataFrame) -> None:
        """Reads back the stored rows of these (patient_id, date) keys, just upserted."""
        if self.nights is None or keys.height == 0:
            return  # the first refresh reads the whole window
        keys = keys.select("patient_id", "date").unique()
        # most of a day's nights end that day; the few earlier ones (gaps that arrive with the
        # next night that has data) are read apart, so that one long gap does not widen the
        # date range read for every patient
        latest = pl.col("date") == keys["date"].max()
        fresh = [
            self._read_back(session, part)
            for part in (keys.filter(latest), keys.filter(~latest))
            if part.height
        ]
        kept = self.nights.join(keys, on=["patient_id", "date"], how="anti")
        self.nights = pl.concat([kept, *fresh])

    def _read_back(self, session: Session, keys: pl.DataFrame) -> pl.DataFrame:
        """The stored rows of these keys: their patients over their dates (one index range
        each), then the keys alone."""
        ids = keys["patient_id"].unique().sort().to_list()
        parts = [
            load_nights(
                session,
                start=keys["date"].min(),  # type: ignore[arg-type]
                end=keys["date"].max(),  # type: ignore[arg-type]
                columns=self.columns,
                where=Night.patient_id.in_(
                    bindparam("ids", ids[lo : lo + IDS_PER_QUERY], expanding=True)
                ),
            ).join(keys, on=["patient_id", "date"], how="semi")
            for lo in range(0, len(ids), IDS_PER_QUERY)
        ]
        return pl.concat(parts)

    def answered(self, session: Session, entries: pl.DataFrame) -> None:
        """Reads back the stored entries of these (patient_id, answered_at) keys, just
        submitted (an answer time stored before keeps its first entry)."""
        if self.answers is None or entries.height == 0:
            return  # the first refresh reads them all
        keys = entries.select(KEY).unique()
        # the patients' entries (a few dozen each), then the keys alone
        ids = keys["patient_id"].unique().sort().to_list()
        fresh = load_phq9(session, patient_ids=ids, config=self.config).join(
            keys, on=KEY, how="semi"
        )
        kept = self.answers.join(keys, on=KEY, how="anti")
        self.answers = pl.concat([kept, fresh]).sort(KEY)

    def refresh(self, session: Session, *, day: date) -> None:
        """Brings the window to the replayed ``day``: the nights the detection job reads to
        judge the local nights of that day (a patient's last complete night may be the UTC
        day before or after) and, as they are asked for, each judged night's PHQ-9 entries of
        everyone."""
        self.first = day - timedelta(days=EARLIEST_NIGHT)
        start, _ = reading_window(self.first, self.config)
        if self.nights is None:
            self.nights = load_nights(session, start=start, columns=self.columns)
        self.nights = self.nights.filter(pl.col("date") >= start).sort("patient_id", "date")
        if self.answers is None:
            self.answers = load_phq9(session, config=self.config)
        self.phq9 = {}

    def __call__(
        self, session: Session, *, patient_ids: list[str], day: date, config: DetectConfig
    ) -> tuple[pl.DataFrame, pl.DataFrame]:
        if (
            self.nights is None
            or self.answers is None
            or self.first is None
            or day < self.first
            or config != self.config
        ):
            raise RuntimeError("StoredWindow.refresh(day) must come before the detection job")
        start, since = reading_window(day, config)
        if day not in self.phq9:
            self.phq9[day] = phq9_since(self.answers, since, config)
        chosen = pl.col("patient_id").is_in(patient_ids)
        nights = self.nights.filter(chosen & pl.col("date").is_between(start, day))
        return nights.select(self.judged_columns), self.phq9[day].filter(chosen)

    def latest_nights(
        self, session: Session, *, patient_ids: list[str], since: date
    ) -> dict[str, tuple[date, int]]:
        """``api.services.detection.latest_nights`` from the copy: each patient's latest night
        dated ``since`` or later that has a UTC offset, with that offset."""
        if self.nights is None or self.first is None or since < self._start(self.first):
            raise RuntimeError("StoredWindow.refresh(day) must come before the detection job")
        rows = (
            self.nights.lazy()
            .filter(
                pl.col("date") >= since,
                pl.col(OFFSET).is_not_null(),
                pl.col("patient_id").is_in(patient_ids),
            )
            .group_by("patient_id")
            .agg(pl.col("date", OFFSET).sort_by("date").last())
            .collect()
        )
        return {pid: (night, offset) for pid, night, offset in rows.iter_rows()}

    def _start(self, first: date) -> date:
        return reading_window(first, self.config)[0]


def phq9_since(answers: pl.DataFrame, since: datetime, config: DetectConfig) -> pl.DataFrame:
    """``load_phq9(since=since)`` over ``answers`` (every stored entry, sorted by KEY): the
    entries answered at ``since`` or later, and each patient's last entry before it that set
    their remission state."""
    total = pl.col("total")
    before = answers.filter(
        pl.col("answered_at") < since,
        (total < config.remission_below) | (total >= config.relapse_total),
    )
    last_state = before.group_by("patient_id").agg(pl.col("answered_at").max())
    return pl.concat(
        [
            answers.filter(pl.col("answered_at") >= since),
            answers.join(last_state, on=KEY, how="semi"),
        ]
    ).sort(KEY)
