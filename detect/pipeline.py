"""detect_day and detect_range: every patient, judged on each day from data up to that day.

detect_range builds one cube of nights for the whole range (plus the history and refractory
days before it), scores every judged day at once, and keeps, for each patient, the days that
open an episode (or strengthen one). detect_day is detect_range over one day, so the two agree
by construction; the refractory rule reads only earlier days, so no signal depends on data
after its day. Patients are processed in blocks to bound memory.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import date, timedelta

import numpy as np
import polars as pl

from detect.calendar import calendar_lead, common_mode
from detect.config import DEFAULT, DetectConfig
from detect.cube import NightCube, night_cube
from detect.effect import effects
from detect.explain import gap_sentence, passive_sentence
from detect.fusion import Fused, fuse, group_names, oriented_groups, two_sided
from detect.gaps import SOURCES, Silence, first_of_episode, silence
from detect.passive import ChannelHistory, channel_history
from detect.phq9_rules import answered_on, score_entries, signals_from_scored, with_offsets
from detect.signals import Direction, MetricChange, Signal

PASSIVE = "phenowatch.passive"
GAPS = "phenowatch.gaps"
#: judged patient-days per block: keeps the window arrays to a few hundred MB
BLOCK_PATIENT_DAYS = 25_000
SEVERITY = {1: "moderate", 2: "high"}


def detect_day(
    nights: pl.DataFrame,
    phq9: pl.DataFrame,
    day: date,
    config: DetectConfig = DEFAULT,
    *,
    judged: Collection[str] | None = None,
) -> list[Signal]:
    """The signals of every patient in the frames (or of those ``judged``; the others' nights
    still measure the calendar), judged on ``day``."""
    return detect_range(nights, phq9, day, day, config, judged=judged)


def detect_range(
    nights: pl.DataFrame,
    phq9: pl.DataFrame,
    start: date,
    end: date,
    config: DetectConfig = DEFAULT,
    *,
    judged: Collection[str] | None = None,
) -> list[Signal]:
    """The signals detect_day would give on every day of ``start``..``end``; with ``judged``,
    only those patients' (everyone's nights still measure the calendar's common mode)."""
    if end < start:
        return []
    lead = max(config.refractory_days, config.gap_refractory_days)
    first = start - timedelta(days=lead + config.history_nights - 1)
    # the calendar's common mode of a night reads the cohort's nights before it, so the cube
    # starts that much earlier; the rest of the pipeline sees the usual cube after it
    ref = calendar_lead(config)
    full = night_cube(nights, first - timedelta(days=ref), end, config, wear=config.steps_need_wear)
    common = common_mode(full.values, config)[ref:]
    cube = NightCube(
        full.patients,
        first,
        full.values[:, ref:],
        full.has_sleep[:, ref:],
        full.present[:, ref:],
    )
    if judged is not None:
        rows = np.isin(cube.patients, np.asarray(list(judged), dtype=object))
        cube = NightCube(
            cube.patients[rows],
            first,
            cube.values[rows],
            cube.has_sleep[rows],
            cube.present[rows],
        )
        phq9 = phq9.filter(pl.col("patient_id").is_in(list(judged)))
    days = range(config.history_nights - 1, (end - first).days + 1)
    out: list[Signal] = []
    size = max(1, BLOCK_PATIENT_DAYS // ((end - start).days + 1))
    for lo in range(0, len(cube.patients), size):
        block = slice(lo, lo + size)
        out += _passive_block(cube, common, block, days, lead, config)
    phq = with_offsets(phq9).filter(answered_on() <= end)
    scored = score_entries(phq, config).filter(pl.col("answered_on") >= start)
    out += signals_from_scored(scored, config)
    return sorted(out, key=lambda s: (s.fired_on, s.patient_id, s.kind))


@dataclass(frozen=True)
class Judged:
    """The passive judgement of some patients (rows of ``raw``) on a range of days."""

    raw: np.ndarray  # [patient, day, channel] nights as recorded
    adjusted: np.ndarray  # with the calendar's common mode taken out
    days: range  # judged day indices of the cube
    history: ChannelHistory
    fused: Fused  # rank 0 where no metric moved by a meaningful amount


def judge(
    raw: np.ndarray, adjusted: np.ndarray, gap: np.ndarray, days: range, config: DetectConfig
) -> Judged:
    """Fused CUSUM alarms on ``days``, kept only where a metric's change is worth a call and
    has lasted ``persist_nights``."""
    history = channel_history(adjusted, days, config)
    fused = fuse(history, gap, config)
    p, j = np.nonzero(fused.rank)
    if p.size:
        eff = effects(
            raw,
            adjusted,
            history.median[p, j],
            p,
            days.start + j,
            fused.onset[p, j].astype(np.int64),
            fused.orientation[p, j],
            config,
        )
        rank = fused.rank.copy()
        lasted = config.evidence_nights - fused.onset[p, j].astype(np.int64)
        quiet = ~eff.raises(config) | (lasted < config.persist_nights)
        rank[p[quiet], j[quiet]] = 0
        fused = replace(fused, rank=rank)
    return Judged(raw, adjusted, days, history, fused)


def _passive_block(
    cube: NightCube,
    common: np.ndarray,
    block: slice,
    judged: range,
    lead: int,
    config: DetectConfig,
) -> list[Signal]:
    raw = cube.values[block]
    adjusted = raw - common[None] if config.common_mode else raw
    quiet = silence(cube.present[block], judged, config)
    gap_fire = first_of_episode(quiet.gap.astype(np.int8), config.gap_refractory_days)[:, lead:]
    shown = range(judged.start + lead, judged.stop)
    now = judge(raw, adjusted, quiet.sleep_gap[:, lead:], shown, config)
    earlier = _lead_ranks(cube, block, now, judged.start, lead, config)
    rank = np.concatenate([earlier, now.fused.rank], axis=1)
    fire = first_of_episode(rank, config.refractory_days)[:, lead:]
    ids = cube.patients[block]
    out: list[Signal] = []
    # one Python step per signal fired: signals are rare and each needs its own sentence
    for p, j in zip(*np.nonzero(gap_fire), strict=True):
        index = judged.start + lead + int(j)
        out.append(_gap_signal(cube, quiet, str(ids[p]), int(p), index, lead + int(j), config))
    for p, j in zip(*np.nonzero(fire), strict=True):
        d = shown.start + int(j)
        changes, rests_on, nights = _changes(now, int(p), int(j), config)
        day = cube.day(d)
        start = day - timedelta(days=nights - 1)
        out.append(
            Signal(
                patient_id=str(ids[p]),
                kind="passive_change",
                severity=SEVERITY[int(now.fused.rank[p, j])],  # type: ignore[arg-type]
                fired_on=day,
                window_start=start,
                window_end=day,
                explanation=passive_sentence(changes, nights, rests_on, config.thin_share),
                detector=PASSIVE,
                detector_version=config.version,
                changes=changes,
            )
        )
    return out


def _gap_signal(
    cube: NightCube,
    quiet: Silence,
    patient_id: str,
    p: int,
    index: int,
    k: int,
    config: DetectConfig,
) -> Signal:
    """The data_gap of row ``p`` on cube day ``index`` (``k`` in ``quiet``'s judged days)."""
    day = cube.day(index)
    silent = quiet.silent[p, k]
    last = int(quiet.last_seen[p, k][silent].max())
    # nothing for as many nights as make a week silent: it stopped; else it comes too rarely
    stopped = index - last > config.gap_window - config.gap_min_nights
    return Signal(
        patient_id=patient_id,
        kind="data_gap",
        severity="info",
        fired_on=day,
        window_start=day - timedelta(days=config.gap_window - 1),
        window_end=day,
        explanation=gap_sentence(
            stopped=_sources(silent),
            going=_sources(quiet.regular[p, k] & ~silent),
            last=cube.day(last),
            paused=bool(quiet.sleep_gap[p, k]),
            nights=0 if stopped else int(quiet.recent[p, k][silent].max()),
            window=config.gap_window,
        ),
        detector=GAPS,
        detector_version=config.version,
    )


def _lead_ranks(
    cube: NightCube,
    block: slice,
    now: Judged,
    first: int,
    lead: int,
    config: DetectConfig,
) -> np.ndarray:
    """Ranks of the ``lead`` days before the range, for the patients who need them: those
    with a candidate in the range (the others' stay 0, as no day of theirs can fire).

    The look-back days are judged in one pass over the active patients, not one pass per day:
    the fixed cost of a pass (a dozen array stages) outweighs the few patients in it."""
    shown = now.fused.rank
    earlier = np.zeros((shown.shape[0], lead), np.int8)
    active = np.flatnonzero(shown.max(axis=1, initial=0) > 0)
    if active.size == 0 or lead == 0:
        return earlier
    days = range(first, first + lead)
    gap = silence(cube.present[block][active], days, config).sleep_gap
    earlier[active] = judge(now.raw[active], now.adjusted[active], gap, days, config).fused.rank
    return earlier


def _changes(
    now: Judged, p: int, j: int, config: DetectConfig
) -> tuple[tuple[MetricChange, ...], tuple[int, ...], int]:
    """The groups that moved by a meaningful amount over the shift, each as its best-observed
    meaningful channel, strongest first (those whose oriented mean reaches ``explain_min_z``,
    else the strongest alone); with the nights each rests on and the shift's length."""
    fused, history = now.fused, now.history
    onset = int(fused.onset[p, j])
    eff = effects(
        now.raw,
        now.adjusted,
        history.median[p, j][None],
        np.array([p]),
        np.array([now.days.start + j]),
        np.array([onset]),
        fused.orientation[p, j][None],
        config,
    )
    sign = np.where(two_sided(config), float(fused.orientation[p, j]), 1.0)
    oriented = np.stack(oriented_groups(history.z[p, j], config)) * sign[:, None]
    oriented = oriented[:, oriented.shape[-1] - int(eff.shift_nights[0]) :]
    seen = np.count_nonzero(~np.isnan(oriented), axis=-1)
    strength = np.where(seen > 0, np.nansum(oriented, axis=-1) / np.maximum(seen, 1), -np.inf)
    names = group_names(config)
    meaningful = [
        g
        for g in np.argsort(-strength)
        if any(eff.meaningful[0, i] for i, c in enumerate(config.channels) if c.group == names[g])
    ]
    chosen = [g for g in meaningful if strength[g] >= config.explain_min_z] or meaningful[:1]
    out: list[MetricChange] = []
    rests_on: list[int] = []
    for g in chosen:
        members = [
            i for i, c in enumerate(config.channels) if c.group == names[g] and eff.meaningful[0, i]
        ]
        c = max(members, key=lambda i: int(eff.nights[0, i]))
        current, base = float(eff.current[0, c]), float(eff.usual[0, c])
        name = config.channels[c].name
        out.append(
            MetricChange(
                metric=name,
                direction=_direction(name, 1 if current >= base else -1),
                baseline=base,
                current=current,
                z=(current - base) / float(history.scale[p, j, c]),
                pct=(current - base) / base if base > 0 else None,
            )
        )
        rests_on.append(int(eff.nights[0, c]))
    # the metrics that can raise an alert first, each kind strongest first: the sentence leads
    # with what the alert is about
    supporting = {c.name for c in config.channels if c.supporting}
    order = sorted(range(len(out)), key=lambda i: (out[i].metric in supporting, -abs(out[i].z)))
    return (
        tuple(out[i] for i in order),
        tuple(rests_on[i] for i in order),
        int(eff.shift_nights[0]),
    )


def _sources(flags: np.ndarray) -> tuple[str, ...]:
    return tuple(name for (name, _), on in zip(SOURCES, flags, strict=True) if on)


def _direction(metric: str, sign: int) -> Direction:
    if metric == "sleep_midpoint_min":
        return "shift"
    if metric == "sleep_irregularity_min":
        return "irregular"
    return "up" if sign > 0 else "down"
