"""A synthetic cohort with known answers, for tuning and evaluating detection.

``simulate_cohort(n_patients, days, seed)`` returns the truth in memory (nights in the NIGHTS
schema, PHQ-9 entries, labels, per-patient metadata); ``writers.cohort_folder.write_cohort``
writes the same cohort as real vendor exports (``phenowatch simulate``).

The model, in short (numbers are per patient unless said):

* baselines: main sleep 6–8.5 h, sleep midpoint 03:00–05:00, efficiency 0.86–0.94, HRV 22–75 ms
  (SDNN on Apple Watch, RMSSD elsewhere), resting HR 50–75 bpm, steps 3k–12k a day;
* night-to-night AR(1) noise (coefficient 0.2–0.6; SD 35–60 min of sleep, 25–45 min of
  midpoint, 10–18% of HRV, 1.5–3 bpm, 20–35% of steps) and a weekly rhythm (nights ending on
  Saturday or Sunday 20–60 min longer and 30–90 min later; weekend steps +10%);
* non-wear: 2–12% of single nights, and about 1.5 runs of 3–14 nights a year;
* half the patients relapse (onset 30% into the period or later, at least 50 days before its
  end): over a 1–3 week ramp each affected metric (each with probability 0.8, at least two)
  moves 0.8–2 noise SDs — sleep longer (40%) or shorter, broken and later (60%), HRV down,
  resting HR up, steps down — for 6–12 weeks, then recovers over 2–4 weeks. The PHQ-9 total
  (remission 0–4 before) crosses 10 when the ramp is complete or up to a week later, so the
  passive change leads the questionnaire by 1–4 weeks; item 9 above 0 in about one relapse in
  eight, never otherwise;
* confounders that are not relapses: life events in 45% of those who do not relapse (a new baby:
  sleep −80 min and broken for 6–12 weeks; shift work: midpoint +5 h for 2–8 weeks; an illness
  of 5–10 days: resting HR up 2.5 SD, HRV down, steps halved), a change of device in 25%
  (HRV read ±10%, sleep ±10–25 min; half of the non-Apple ones change vendor), trips across
  time zones in 30% (with two nights of jet lag), daylight-saving changes, naps (Fitbit, Oura);
* PHQ-9 every 14 days, 15% skipped. Garmin exports carry no HRV, as the real ones do not.

Modules: ``patients`` (the draws), ``physiology`` (latent nightly metrics), ``clocks`` (zones,
travel, daylight saving), ``nights`` (what devices record), ``phq9`` (questionnaires),
``cohort`` (the assembly), ``diagnosis`` (why an alert was false), ``writers`` (the files).
"""

from simulate.cohort import Cohort, simulate_cohort

__all__ = ["Cohort", "simulate_cohort"]
