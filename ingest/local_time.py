"""A sample's local clock: its UTC instant moved by its offset (``utc_offset_min``), and
durations in minutes, as polars expressions shared by the nights builder and the readers."""

from __future__ import annotations

import polars as pl

MINUTE_US = 60_000_000


def local_clock(utc: pl.Expr, offset_min: pl.Expr | str) -> pl.Expr:
    """Naive local wall-clock time of a UTC instant."""
    return utc.dt.replace_time_zone(None) + pl.duration(minutes=offset_min)


def local_date(utc: pl.Expr, offset_min: pl.Expr | str) -> pl.Expr:
    """The local calendar date of a UTC instant."""
    return local_clock(utc, offset_min).dt.date()


def in_minutes(duration: pl.Expr) -> pl.Expr:
    """A duration in (fractional) minutes."""
    return duration.dt.total_microseconds() / MINUTE_US
