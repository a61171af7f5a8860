"""A care team's calendar note: what most of its patients shifted at once, by how much, how
many of them, since when; nothing for a shift of one person or for a stable team."""

from __future__ import annotations

from datetime import timedelta

import polars as pl

from detect import DEFAULT
from detect.calendar_note import calendar_shifts, common_shifts, moved
from tests.detect.synth import START, nights

ONSET = 120
#: everyone's sleep moves 2 h later on the same night (a holiday), in SDs of the synthetic noise
LATER = {"sleep_midpoint_min": 5.0}


def test_a_shift_the_whole_team_shares_is_noted_once_with_its_size_people_and_first_night() -> None:
    team = nights(12, ONSET + 10, seed=14, shift=LATER, onset=ONSET)
    day = START + timedelta(days=ONSET + 9)
    shifts = calendar_shifts(team, day, DEFAULT)
    assert [s.metric for s in shifts] == ["sleep_midpoint_min"]
    note = shifts[0]
    assert note.unit == "min" and note.shift >= DEFAULT.channels[1].min_change
    assert note.patients == 12 and note.people >= 10
    assert note.since == START + timedelta(days=ONSET) and note.day == day
    assert note.sentence.startswith("The middle of sleep moved ")
    assert f"for {note.people} of 12 patients at once, since " in note.sentence


def test_a_large_team_is_counted_in_parts_as_a_whole() -> None:
    team = nights(12, ONSET + 10, seed=14, shift=LATER, onset=ONSET)
    day = START + timedelta(days=ONSET + 9)
    (shift,) = common_shifts(team, day, DEFAULT)
    ids = sorted(team["patient_id"].unique())
    parts = [moved(team.filter(pl.col("patient_id").is_in(ids[k::3])), shift) for k in range(3)]
    whole = calendar_shifts(team, day, DEFAULT)[0]
    assert (sum(p for p, _ in parts), sum(n for _, n in parts)) == (whole.people, whole.patients)


def test_one_patient_shifting_or_a_stable_team_gives_no_note() -> None:
    day = START + timedelta(days=ONSET + 9)
    assert calendar_shifts(nights(12, ONSET + 10, seed=15), day, DEFAULT) == []
    one = nights(1, ONSET + 10, seed=14, shift=LATER, onset=ONSET)
    others = nights(12, ONSET + 10, seed=15).filter(pl.col("patient_id") != "p000")
    assert calendar_shifts(pl.concat([one, others]), day, DEFAULT) == []
