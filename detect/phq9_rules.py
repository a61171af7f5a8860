"""PHQ-9 rules: severity bands, the item-9 safety rule and the two relapse rules.

* Item 9 above zero is ``phq9_safety`` (urgent), raised on submission.
* ``phq9_relapse`` (high) when the total reaches ``relapse_total`` (10) or more while the person
  is in remission (their last entry below 5 or at 10+ was below 5), or rises ``reliable_rise``
  (5) points or more above their recent level (the median of their entries of the last
  ``recent_days`` days).
* PHQ-8 (``instrument == "phq8"``) has no item 9: no safety rule, bands on the 0–24 total.
* An answer's day (``answered_on``, the day its alert fires on and is judged) is the patient's
  local date when they answered: ``answered_at`` at the UTC offset the answer was given with
  (``utc_offset_min``), so an answer at 23:30 in Los Angeles counts on that evening's date, not
  on the next UTC date. An answer without an offset counts on its UTC date.

The rules are polars expressions over a patient's sorted entries, so one call scores every
entry of every patient; ``phq9_submission_signals`` is the same code on one new entry.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import polars as pl

from detect.config import DEFAULT, DetectConfig
from detect.errors import InputFrameError, ScoreRangeError
from detect.signals import MetricChange, Signal

DETECTOR = "phenowatch.phq9"
NEEDED = ("patient_id", "answered_at", "item_9", "total", "instrument")
#: the UTC offset (minutes east) of each answer (ingest.schema.PHQ9); null or absent: UTC
OFFSET = "utc_offset_min"
BANDS = ((0, "minimal"), (5, "mild"), (10, "moderate"), (15, "moderately severe"), (20, "severe"))
MAX_TOTAL = {"phq9": 27, "phq8": 24}


def phq9_band(total: int, instrument: str = "phq9") -> str:
    """The severity band of a PHQ-9 (0–27) or PHQ-8 (0–24) total."""
    if instrument not in MAX_TOTAL:
        raise ScoreRangeError(f"unknown instrument {instrument!r}; expected phq9 or phq8")
    if not 0 <= total <= MAX_TOTAL[instrument]:
        raise ScoreRangeError(
            f"{instrument} total {total} is outside 0–{MAX_TOTAL[instrument]}",
        )
    return next(name for low, name in reversed(BANDS) if total >= low)


def answered_on() -> pl.Expr:
    """The local date of each answer (needs ``OFFSET``: see ``with_offsets``)."""
    offset = pl.duration(minutes=pl.col(OFFSET).fill_null(0))
    return (pl.col("answered_at") + offset).dt.date()


def answer_day(answered_at: datetime, utc_offset_min: int | None) -> date:
    """``answered_on`` of one answer."""
    return (answered_at + timedelta(minutes=utc_offset_min or 0)).date()


def with_offsets(phq9: pl.DataFrame) -> pl.DataFrame:
    """The frame with an ``OFFSET`` column: a frame without one names UTC times."""
    if OFFSET in phq9.columns:
        return phq9
    return phq9.with_columns(pl.lit(None, pl.Int32).alias(OFFSET))


def score_entries(phq9: pl.DataFrame, config: DetectConfig = DEFAULT) -> pl.DataFrame:
    """Every entry with its rule outcomes: ``safety``, ``relapse_after_remission``,
    ``reliable_rise``, ``recent_level`` (null when there is no recent entry) and
    ``answered_on`` (the patient's local date of the answer, see ``answered_on``)."""
    missing = [c for c in NEEDED if c not in phq9.columns]
    if missing:
        raise InputFrameError(f"PHQ-9 frame lacks columns {missing}")
    phq9 = with_offsets(phq9)
    c = config
    total = pl.col("total").cast(pl.Int32)
    event = (
        pl.when(total < c.remission_below)
        .then(pl.lit("remission"))
        .when(total >= c.relapse_total)
        .then(pl.lit("relapse"))
    )
    scored = (
        phq9.select(*NEEDED, OFFSET)
        .sort("patient_id", "answered_at")
        .with_columns(
            answered_on=answered_on(),
            total=total,
            recent_level=total.cast(pl.Float64)
            .rolling_median_by("answered_at", window_size=f"{c.recent_days}d", closed="left")
            .over("patient_id"),
            state_before=event.shift(1).forward_fill().over("patient_id"),
        )
    )
    return scored.with_columns(
        safety=(pl.col("instrument") == "phq9") & (pl.col("item_9").fill_null(0) > 0),
        relapse_after_remission=(pl.col("total") >= c.relapse_total)
        & (pl.col("state_before") == "remission").fill_null(False),
        reliable_rise=(
            (pl.col("total") - pl.col("recent_level") >= c.reliable_rise)
            & (pl.col("total") >= c.rise_min_total)
        ).fill_null(False),
    )


def signals_from_scored(
    scored: pl.DataFrame, config: DetectConfig = DEFAULT, fired_on: date | None = None
) -> list[Signal]:
    """The signals of scored entries; each fires on its own answer date unless ``fired_on``."""
    # one Python step per flagged entry: flagged PHQ-9 entries are few, and each needs a sentence
    out: list[Signal] = []
    flagged = scored.filter(
        pl.col("safety") | pl.col("relapse_after_remission") | pl.col("reliable_rise")
    )
    for row in flagged.iter_rows(named=True):
        on: date = row["answered_on"]
        name = "PHQ-8" if row["instrument"] == "phq8" else "PHQ-9"
        band = phq9_band(row["total"], row["instrument"])
        common = dict(
            patient_id=row["patient_id"],
            fired_on=fired_on or on,
            window_start=on,
            window_end=on,
            detector=DETECTOR,
            detector_version=config.version,
        )
        if row["safety"]:
            item = float(row["item_9"])
            out.append(
                Signal(
                    kind="phq9_safety",
                    severity="urgent",
                    explanation=(
                        f"On the PHQ-9 of {on:%d %b %Y} the patient scored item 9 (thoughts of "
                        f"being better off dead or of self-harm) {row['item_9']} of 3; "
                        f"total {row['total']}, {band}."
                    ),
                    changes=(MetricChange("phq9_item_9", "up", 0.0, item, item, None),),
                    **common,
                )
            )
        if row["relapse_after_remission"] or row["reliable_rise"]:
            level = row["recent_level"]
            base = float(level) if level is not None else float(config.remission_below - 1)
            why = []
            if level is not None:
                why.append(f"up from a recent level of {level:g}")
            if row["relapse_after_remission"]:
                why.append(f"after remission (a total below {config.remission_below})")
            out.append(
                Signal(
                    kind="phq9_relapse",
                    severity="high",
                    explanation=(
                        f"The {name} total reached {row['total']} ({band}) on {on:%d %b %Y}, "
                        f"{' and '.join(why)}."
                    ),
                    changes=(
                        MetricChange(
                            "phq9_total",
                            "up",
                            base,
                            float(row["total"]),
                            # in reliable-change units: 1.0 is a rise of `reliable_rise` points
                            (row["total"] - base) / config.reliable_rise,
                            (row["total"] - base) / base if base > 0 else None,
                        ),
                    ),
                    **common,
                )
            )
    return out


def phq9_submission_signals(
    entry: pl.DataFrame, history: pl.DataFrame, config: DetectConfig = DEFAULT
) -> list[Signal]:
    """Signals for one new entry, judged against the patient's earlier entries."""
    if entry.height != 1:
        raise InputFrameError(f"expected one PHQ-9 entry, got {entry.height} rows")
    cols = [c for c in entry.columns if c in (*NEEDED, OFFSET)]
    when = entry["answered_at"][0]
    earlier = history.select(cols).filter(
        (pl.col("patient_id") == entry["patient_id"][0]) & (pl.col("answered_at") < when)
    )
    # every earlier entry is strictly older, so the new entry is the last row once sorted
    scored = score_entries(pl.concat([earlier, entry.select(cols)], how="vertical_relaxed"), config)
    return signals_from_scored(scored.tail(1), config)
