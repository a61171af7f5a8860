"""A synthetic cohort with known answers, for tuning and evaluating detection.

``simulate_cohort(n_patients, days, seed)`` returns the truth in memory (nights, PHQ-9 entries,
labels, per-patient metadata); ``detect.simulate.writers`` writes the same cohort as real
vendor exports. Modules: ``patients`` (the draws), ``physiology`` (latent nightly metrics),
``clocks`` (time zones, travel, daylight saving), ``nights`` (what devices record),
``phq9`` (questionnaire answers), ``cohort`` (the assembly).
"""

from detect.simulate.cohort import Cohort, simulate_cohort

__all__ = ["Cohort", "simulate_cohort"]
