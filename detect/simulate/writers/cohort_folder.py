"""A whole simulated cohort on disk, laid out as ``phenowatch replay`` reads it::

    OUT/labels.csv                 patient_id,relapse_onset (empty: no relapse)
    OUT/simulation.json            how the cohort was made (seed, size, start), for re-creation
    OUT/<patient>/export.zip       Apple Health
    OUT/<patient>/Fitbit/...       Fitbit (Google Takeout)
    OUT/<patient>/oura/...         Oura API v2 documents
    OUT/<patient>/DI_CONNECT/...   Garmin Connect
    OUT/<patient>/phq9.csv|json    PHQ-9 answers

A patient who changed vendor has both vendors' files. Writing is deterministic for a cohort.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import polars as pl

from detect.simulate.cohort import Cohort
from detect.simulate.writers import apple_health, fitbit, garmin, oura, phq9
from detect.simulate.writers.records import PatientRecords, patient_records

VENDOR_WRITERS: dict[str, Callable[[Path, PatientRecords], list[Path]]] = {
    "apple_health": apple_health.write,
    "fitbit": fitbit.write,
    "oura": oura.write,
    "garmin": garmin.write,
}


def write_labels(labels: pl.DataFrame, path: Path) -> None:
    path.write_text(
        "patient_id,relapse_onset\n"
        + "".join(
            f"{pid},{'' if onset is None else onset.isoformat()}\n"
            for pid, onset in labels.select("patient_id", "relapse_onset").iter_rows()
        )
    )


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
    write_labels(cohort.labels, out / "labels.csv")
    (out / "simulation.json").write_text(
        json.dumps(
            {
                "patients": len(cohort.patient_ids),
                "days": cohort.days,
                "seed": cohort.seed,
                "start": cohort.start.isoformat(),
            },
            indent=1,
        )
        + "\n"
    )
    return folders
