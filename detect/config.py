"""Every threshold detect/ uses, in one frozen value with a version string.

A signal records ``DetectConfig.version`` as its ``detector_version``, so a stored alert can be
traced to the exact rules that raised it. Change a number here, change the version.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

DETECTOR_VERSION = "2026.12.2"

#: which way a metric moves when depression worsens; "both" means either way counts
Depressive = Literal["up", "down", "both"]


@dataclass(frozen=True)
class Channel:
    """One nightly series the passive detector watches."""

    name: str  # the nights column, or a derived series (sleep_irregularity_min)
    #: channels of one group count once in fusion (HRV as RMSSD or SDNN); a group's channels
    #: share one depressive direction
    group: str
    depressive: Depressive
    #: smallest robust SD accepted, so that a very regular person is not alarmed by noise
    scale_floor: float
    #: the smallest change worth a coordinator's call, in the units of the sentence (minutes,
    #: bpm), or a fraction of the usual level when ``relative``; see ``CHANNELS`` for why
    min_change: float = 0.0
    relative: bool = False
    #: named beside another metric's change, never raising an alert alone
    supporting: bool = False


#: the channels, in the order of the last axis of every score array. The smallest changes
#: worth a call (``min_change``), each a sustained median over the shift against the usual level:
#: - sleep 45 min: a healthy adult's nights vary by about an hour, so a smaller shift of the
#:   median is ordinary life; the sleep loss or gain reported before depressive relapse is
#:   of the order of an hour a night;
#: - sleep timing 60 min: an hour's move of the middle of sleep is what a time-zone change
#:   or "social jetlag" does; less is within a usual week;
#: - night-to-night irregularity 30 min more than usual: the nightly midpoint jumps by half
#:   an hour more, on the median night. It only supports another change: derived from the
#:   timing itself, one odd night makes two large jumps, so alone it is no change of the person;
#: - HRV 10%: nightly RMSSD/SDNN vary by 10-15% around a person's mean, but the change is a
#:   median over a week or more of nights, whose week-to-week swing is a few percent; a
#:   sustained fall by a tenth is about twice that (15%, used before, missed falls of one
#:   to two SDs that the simulated relapses show);
#: - resting heart rate 3 bpm: wearables' resting HR varies by 1-2 bpm from week to week,
#:   and 3 bpm is the rise reported with illness, stress and depressive episodes;
#: - steps 30%: a loss of a third of the day's movement, beyond weekday and weather swings.
CHANNELS: tuple[Channel, ...] = (
    Channel("sleep_total_min", "sleep_duration", "both", 20.0, 45.0),
    Channel("sleep_midpoint_min", "sleep_timing", "both", 15.0, 60.0),
    Channel("sleep_irregularity_min", "sleep_irregularity", "up", 10.0, 30.0, supporting=True),
    Channel("hrv_rmssd_ms", "hrv", "down", 2.0, 0.10, relative=True),
    Channel("hrv_sdnn_ms", "hrv", "down", 2.0, 0.10, relative=True),
    Channel("resting_hr_bpm", "resting_hr", "up", 1.0, 3.0),
    Channel("steps", "steps", "down", 400.0, 0.30, relative=True),
)


@dataclass(frozen=True)
class DetectConfig:
    version: str = DETECTOR_VERSION
    channels: tuple[Channel, ...] = CHANNELS

    # baseline: median and MAD over the valid nights of a trailing window that ends
    # just before the evidence window
    baseline_nights: int = 56
    baseline_min_valid: int = 28
    evidence_nights: int = 21
    #: remove each person's weekly rhythm (weekday medians of the baseline); needs whole weeks
    weekday_adjust: bool = True
    #: measure shifts in long-run SDs, sqrt((1 + phi) / (1 - phi)), phi the lag-1 autocorrelation
    autocorr_adjust: bool = True

    # fusion and online detection: a one-sided CUSUM over the composite of the oriented
    # group series (see detect.fusion)
    #: (group, weight); others weigh 1. Sleep timing is down-weighted: on the simulated
    #: cohorts its weekly rhythm and travel made it the noisiest witness
    group_weights: tuple[tuple[str, float], ...] = (
        ("sleep_timing", 0.5),
        ("sleep_irregularity", 0.5),
    )
    cusum_k: float = 0.75  # allowance, in long-run SD of the composite
    #: decision threshold; k and h chosen on simulate_cohort(400, 365, seed=1) for passive
    #: sensitivity >= 80% at <= 0.12 false alerts per patient-month (seed 2 kept for reporting)
    cusum_h: float = 6.5
    z_clip: float = 4.0  # one wild night moves a channel by at most this much
    min_evidence_valid: int = 5  # composite nights in the evidence window
    high_h_factor: float = 2.0  # severity high from a CUSUM this many times h

    # confirmation: one mean shift (linear-kernel cost, as ruptures KernelCPD) of the composite
    # inside the evidence window, the penalty in units of its noise variance
    confirm: bool = True
    confirm_min_size: int = 7
    confirm_penalty: float = 2.0  # times log(n)

    #: one passive_change per episode: a day fires only if it outranks (moderate < high)
    #: every candidate day of the refractory period before it
    refractory_days: int = 21

    # explanation: groups whose oriented mean over the shift reaches this are named
    explain_min_z: float = 0.75
    #: a metric is named (and can raise an alert) only with this many nights over the shift
    min_change_nights: int = 3
    #: a change is measured over at least this many nights (from the shift's onset, or the
    #: last week when the shift is younger): a few odd nights are not a change of the person
    min_shift_nights: int = 7
    #: and an alert needs a change that has lasted this many nights, its onset (where the
    #: CUSUM's current excursion began) that far back: a weekend of short nights or a week of
    #: a cold that the next nights undo is not yet a change of the person, while the sleep,
    #: activity and heart changes that precede a depressive relapse are sustained (the
    #: DSM-5 asks for symptoms nearly every day for two weeks). A younger change waits; if it
    #: holds it fires a day or so later
    persist_nights: int = 7
    #: the sentence says on how many nights a metric rests when it has data on fewer than
    #: this share of the shift's nights
    thin_share: float = 0.6

    # wear: steps count only on days the device was worn, seen as a night with sleep or a
    # resting heart rate (a day of few steps and no heart rate is an unworn device, not data),
    # and with at least ``steps_min_worn`` steps: a worn tracker counts more than that on any
    # day spent out of bed, while a watch left on the charger after a night's sleep (a resting
    # heart rate, 42 steps) does not; wear-time rules of activity-tracker research drop such days
    steps_need_wear: bool = True
    steps_min_worn: float = 500.0

    # calendar effects: each night, the cohort's median deviation from each person's median
    # of a reference window (``common_ref_nights`` nights ending ``common_ref_lag`` nights
    # before) is a shift everyone shares (holidays, clock changes, a lockdown); it is taken
    # out of every person's nights before they are judged, when at least
    # ``common_min_patients`` people have the night (see detect.calendar)
    common_mode: bool = True
    common_ref_nights: int = 28
    common_ref_lag: int = 14
    common_min_patients: int = 5
    common_max_patients: int = 200

    # data gaps (detect.gaps): a source with fewer than gap_min_nights of the last gap_window
    # nights, that was regular in the gap_history_nights nights before
    gap_window: int = 7
    gap_min_nights: int = 4
    gap_history_nights: int = 28
    #: a source counts as regular (its silence is news) when present on this share of the
    #: gap_history_nights; a source that comes and goes (HRV on some watches) is not announced
    #: each time it dips
    gap_regular_share: float = 0.75
    #: while sleep still arrives (passive judgement goes on), another measure is silent only
    #: once missing on each of the last this many nights: one that comes back every other
    #: night (a resting heart rate the vendor skips on some days) is not an alert each time
    gap_min_run: int = 3
    gap_refractory_days: int = 7

    # PHQ-9
    remission_below: int = 5
    relapse_total: int = 10
    reliable_rise: int = 5
    recent_days: int = 56  # the "recent level" is the median of entries this far back
    rise_min_total: int = 0  # a reliable rise counts from this total up

    def weight(self, group: str) -> float:
        return dict(self.group_weights).get(group, 1.0)

    @property
    def calendar_nights(self) -> int:
        """Nights before the first judged history night that the calendar's common mode
        reads (detect.calendar)."""
        return self.common_ref_nights + self.common_ref_lag if self.common_mode else 0

    @property
    def history_nights(self) -> int:
        """Nights up to and including the judged day that one judgement reads (the extra
        night feeds the night-to-night irregularity of the first baseline night)."""
        return self.baseline_nights + self.evidence_nights + 1


DEFAULT = DetectConfig()
