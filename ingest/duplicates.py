"""Exact duplicate rows counted once, in bounded memory.

Exports repeat records (the same heart-rate sample written twice, the same file uploaded twice);
each must count once. ``DataFrame.unique`` does that, but on a few hundred thousand sample rows
it needs over 100 MB of scratch memory, which the nights path cannot afford on a decade of data.
Here every row is hashed to 64 bits first (each column on its own, with its own seed, the hashes
combined one column at a time, so no row is ever encoded whole), which costs a few bytes a row;
repeated hashes are found by sorting them (no hash table over every row), and only rows whose
hash repeats are then compared in full, so a hash collision can never drop a distinct row.
"""

from __future__ import annotations

import polars as pl


def without_exact_duplicates(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with every row that exactly repeats an earlier one removed, order kept
    (the same result as ``frame.unique(maintain_order=True)``)."""
    if frame.is_empty():
        return frame
    hashes = frame.to_series(0).hash(seed=0)
    for i in range(1, frame.width):
        hashes = hashes ^ frame.to_series(i).hash(seed=i)
    # hashes that repeat, found by sorting them: a hash table over every row would take several
    # times the memory of the hashes themselves
    ordered = hashes.sort()
    repeats = ordered.filter(ordered == ordered.shift(1))
    if repeats.is_empty():
        return frame
    repeated = hashes.is_in(repeats.unique().implode())
    rows = frame.with_row_index("_row")
    suspects = rows.filter(repeated)
    later_copies = suspects.filter(~pl.struct(pl.exclude("_row")).is_first_distinct())["_row"]
    return rows.filter(~pl.col("_row").is_in(later_copies.implode())).drop("_row")
