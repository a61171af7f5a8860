"""PHQ-9 rules: bands, the item-9 safety rule, the relapse rules, PHQ-8."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from detect import DEFAULT, detect_day, phq9_band, phq9_submission_signals
from detect.errors import ScoreRangeError
from ingest.schema import NIGHTS, PHQ9

T0 = datetime(2025, 3, 3, 9, tzinfo=UTC)
items = st.lists(st.integers(0, 3), min_size=9, max_size=9)


def entries(*answers: list[int] | tuple[int, list[int]], instrument: str = "phq9") -> pl.DataFrame:
    """One patient's entries, two weeks apart (or at the given day offsets)."""
    rows = []
    for k, a in enumerate(answers):
        day, values = a if isinstance(a, tuple) else (14 * k, a)
        values = list(values)
        if instrument == "phq8":
            values[8] = None  # type: ignore[call-overload]
        total = sum(v for v in values if v is not None)
        rows.append(
            {
                "patient_id": "p1",
                "answered_at": T0 + timedelta(days=day),
                **{f"item_{i + 1}": v for i, v in enumerate(values)},
                "total": total,
                "difficulty": 0,
                "instrument": instrument,
                "source": "json",
            }
        )
    return pl.DataFrame(rows, schema=PHQ9)


def with_total(total: int) -> list[int]:
    """Nine items summing to ``total`` with item 9 at 0 (total <= 24)."""
    out = [0] * 9
    for i in range(8):
        out[i] = min(3, total - sum(out))
    return out


def kinds(entry: pl.DataFrame, history: pl.DataFrame) -> set[str]:
    return {s.kind for s in phq9_submission_signals(entry, history)}


@given(st.integers(0, 27))
def test_bands_follow_the_published_cut_points(total: int) -> None:
    expected = ["minimal", "mild", "moderate", "moderately severe", "severe"][min(total // 5, 4)]
    assert phq9_band(total) == expected


@given(st.integers(0, 24))
def test_phq8_is_banded_on_its_own_total(total: int) -> None:
    assert phq9_band(total, "phq8") == phq9_band(total)


@pytest.mark.parametrize(("total", "instrument"), [(-1, "phq9"), (28, "phq9"), (25, "phq8")])
def test_out_of_range_totals_are_refused(total: int, instrument: str) -> None:
    with pytest.raises(ScoreRangeError):
        phq9_band(total, instrument)


@given(items)
def test_item_9_above_zero_is_urgent_at_once(answers: list[int]) -> None:
    signals = phq9_submission_signals(entries(answers), entries())
    safety = [s for s in signals if s.kind == "phq9_safety"]
    assert bool(safety) == (answers[8] > 0)
    for s in safety:
        assert s.severity == "urgent" and "item 9" in s.explanation


@given(items)
def test_phq8_never_raises_a_safety_signal(answers: list[int]) -> None:
    assert "phq9_safety" not in kinds(entries(answers, instrument="phq8"), entries())


@given(st.integers(0, 4), st.integers(10, 24))
def test_reaching_ten_after_remission_is_a_relapse(remitted: int, now: int) -> None:
    history = entries(with_total(12), with_total(remitted))
    entry = entries((28, with_total(now)))
    signals = phq9_submission_signals(entry, history)
    relapse = [s for s in signals if s.kind == "phq9_relapse"]
    assert len(relapse) == 1 and relapse[0].severity == "high"
    assert relapse[0].changes[0].current == now


@given(st.integers(0, 19), st.integers(0, 24))
def test_a_rise_of_five_from_the_recent_level_is_a_relapse(before: int, now: int) -> None:
    history = entries(with_total(before), with_total(before))
    entry = entries((28, with_total(now)))
    after_remission = before < 5 and now >= 10
    assert ("phq9_relapse" in kinds(entry, history)) == (now - before >= 5 or after_remission)


def test_staying_at_ten_without_remission_or_rise_is_not_a_new_relapse() -> None:
    history = entries(with_total(11), with_total(12))
    assert kinds(entries((28, with_total(13))), history) == set()


def test_later_entries_in_the_history_are_ignored() -> None:
    history = entries(with_total(2), (60, with_total(20)))
    assert "phq9_relapse" in kinds(entries((28, with_total(11))), history)


def test_detect_day_raises_the_same_phq9_signals_on_the_answer_day() -> None:
    frame = entries(with_total(2), with_total(3), [3, 3, 2, 1, 1, 1, 0, 0, 1])
    day = frame["answered_at"][2].date()
    signals = detect_day(pl.DataFrame(schema=NIGHTS), frame, day)
    on_submission = phq9_submission_signals(frame[2], frame[:2])
    assert signals == sorted(on_submission, key=lambda s: s.kind)
    assert {s.kind for s in signals} == {"phq9_relapse", "phq9_safety"}
    assert detect_day(pl.DataFrame(schema=NIGHTS), frame, day + timedelta(days=1)) == []


def test_the_relapse_sentence_is_plain() -> None:
    history = entries(with_total(3))
    (signal,) = phq9_submission_signals(entries((14, with_total(14))), history)
    assert signal.explanation == (
        "The PHQ-9 total reached 14 (moderate) on 17 Mar 2025, up from a recent level of 3 "
        "and after remission (a total below 5)."
    )
    assert signal.detector_version == DEFAULT.version


@pytest.mark.parametrize(
    ("answered_at", "offset", "local_day"),
    [
        # 23:30 on 1 March in Los Angeles is 07:30 on 2 March in UTC
        (datetime(2026, 3, 2, 7, 30, tzinfo=UTC), -480, "2026-03-01"),
        # 00:30 on 2 March in Auckland (summer, UTC+13) is 11:30 on 1 March in UTC
        (datetime(2026, 3, 1, 11, 30, tzinfo=UTC), 780, "2026-03-02"),
        # without an offset the UTC date
        (datetime(2026, 3, 1, 11, 30, tzinfo=UTC), None, "2026-03-01"),
    ],
)
def test_an_answer_counts_on_the_patients_local_date(
    answered_at: datetime, offset: int | None, local_day: str
) -> None:
    entry = entries([1, 1, 1, 1, 0, 0, 0, 0, 2]).with_columns(
        pl.lit(answered_at).alias("answered_at"), pl.lit(offset, pl.Int32).alias("utc_offset_min")
    )
    [safety] = phq9_submission_signals(entry, entry.clear())
    assert safety.kind == "phq9_safety"
    assert safety.fired_on.isoformat() == local_day
    assert safety.window_start.isoformat() == local_day
    assert f"{safety.fired_on:%d %b %Y}" in safety.explanation
    # the day's judgement finds it on that local day and on no other
    nights = pl.DataFrame(schema=NIGHTS)
    day = safety.fired_on
    assert [s.kind for s in detect_day(nights, entry, day)] == ["phq9_safety"]
    assert detect_day(nights, entry, day - timedelta(days=1)) == []
    assert detect_day(nights, entry, day + timedelta(days=1)) == []
