"""A whole simulated cohort on disk, in the cohort folder layout of ``ingest.cohort_folder``
(which also writes its labels and simulation files): each patient's vendor exports and PHQ-9
answers in the patient's folder. A patient who changed vendor has both vendors' files. Writing
is deterministic for a cohort.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ingest.cohort_folder import LABELS_FILE, Simulation, write_labels, write_simulation
from simulate.cohort import Cohort
from simulate.writers import apple_health, fitbit, garmin, oura, phq9
from simulate.writers.records import PatientRecords, patient_records

VENDOR_WRITERS: dict[str, Callable[[Path, PatientRecords], list[Path]]] = {
    "apple_health": apple_health.write,
    "fitbit": fitbit.write,
    "oura": oura.write,
    "garmin": garmin.write,
}


def write_cohort(
    cohort: Cohort, out: Path, *, progress: Callable[[str], None] | None = None
) -> list[Path]:
    """Write every patient's folder and ``labels.csv``; returns the patient folders."""
    out.mkdir(parents=True, exist_ok=True)
    records = patient_records(cohort)
    entries = cohort.phq9.partition_by("patient_id", as_dict=True)
    offsets = cohort.days_frame.partition_by("patient_id", as_dict=True)
    folders = []
    for index, pid in enumerate(cohort.patient_ids):
        folder = out / pid
        for vendor, write in VENDOR_WRITERS.items():
            if (pid, vendor) in records:
                write(folder, records[(pid, vendor)])
        answers = entries.get((pid,))
        if answers is not None:
            days = offsets[(pid,)].select("date", "utc_offset_min")
            phq9.write(folder, answers, days, as_json=index % 2 == 1)
        folders.append(folder)
        if progress is not None:
            progress(pid)
    write_labels(cohort.labels, out / LABELS_FILE)
    write_simulation(
        Simulation(len(cohort.patient_ids), cohort.days, cohort.seed, cohort.start), out
    )
    return folders
