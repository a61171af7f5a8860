"""Writers: a simulated cohort as the files patients' devices really export.

``write_cohort(cohort, out)`` writes one sub-folder per patient holding the export of each vendor
the patient used (two after a change of vendor) and their PHQ-9 answers, plus ``labels.csv`` at
the top. Each vendor module exposes ``write(folder, records) -> list[Path]`` for one patient.
"""

from simulate.writers.records import PatientRecords, patient_records

__all__ = ["PatientRecords", "patient_records"]
