"""Exact duplicates counted once: the same answer as polars' unique, whatever the rows."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from ingest.duplicates import without_exact_duplicates

ROWS = st.lists(
    st.tuples(
        st.sampled_from(["heart_rate", "steps", "sleep_core"]),
        st.sampled_from(["Apple Watch", "iPhone", None]),
        st.datetimes(datetime(2024, 1, 1), datetime(2024, 1, 2), timezones=st.just(UTC)),
        st.one_of(st.none(), st.sampled_from([0.0, 51.0, 51.5, 412.0])),
    ),
    max_size=60,
)


@settings(max_examples=60, deadline=None)
@given(ROWS, st.data())
def test_same_rows_as_unique_keeping_order(
    rows: list[tuple[object, ...]], data: st.DataObject
) -> None:
    # repeat some rows so that there are duplicates to find
    repeats = data.draw(st.lists(st.sampled_from(rows), max_size=20)) if rows else []
    frame = pl.DataFrame(
        rows + repeats,
        schema={
            "metric": pl.String,
            "device": pl.String,
            "start": pl.Datetime("us", "UTC"),
            "value": pl.Float64,
        },
        orient="row",
    )

    assert_frame_equal(without_exact_duplicates(frame), frame.unique(maintain_order=True))


def test_rows_differing_in_one_value_are_both_kept() -> None:
    frame = pl.DataFrame({"metric": ["steps", "steps", "steps"], "value": [412.0, 413.0, 412.0]})

    assert without_exact_duplicates(frame)["value"].to_list() == [412.0, 413.0]
