"""The cohort folder, read and written in one place::

    COHORT/labels.csv                 patient_id,relapse_onset (empty: no relapse); optional
    COHORT/simulation.json            how a simulated cohort was made, to make it again
    COHORT/<patient>/                 one folder per patient, named by the patient's id,
                                      holding any supported exports and PHQ-9 files:
    COHORT/<patient>/export.zip       Apple Health
    COHORT/<patient>/Fitbit/...       Fitbit (Google Takeout)
    COHORT/<patient>/oura/...         Oura API v2 documents
    COHORT/<patient>/DI_CONNECT/...   Garmin Connect
    COHORT/<patient>/phq9.csv|json    PHQ-9 answers

``phenowatch simulate`` writes it (``simulate.writers.cohort_folder`` with the labels
and simulation files from here); ``phenowatch replay`` and ``phenowatch evaluate --cohort`` read
it with ``read_cohort``. Each patient folder is read exactly as an upload of it would be
(``ingest.load`` then ``ingest.build_nights``). A folder that fails is recorded with its error
and left out; the others go on. Reading is pure: no database, no clock.
"""

from __future__ import annotations

import json
import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import polars as pl

from ingest.errors import IngestError
from ingest.load import load
from ingest.nights import NIGHTS_METRICS, build_nights
from ingest.schema import NIGHTS, PATIENT_ID, PHQ9, empty

LABELS_FILE = "labels.csv"
SIMULATION_FILE = "simulation.json"
#: labels.csv of a simulated or annotated cohort (relapse_onset null: no relapse)
LABELS: dict[str, pl.DataType] = {"patient_id": pl.String(), "relapse_onset": pl.Date()}

#: called after each patient folder with (folders done, folders in all, patient id)
FolderProgress = Callable[[int, int, str], None]


@dataclass(frozen=True)
class Failure:
    """A patient folder, or a file in it, that could not be read, and why."""

    folder: str
    error: str


@dataclass(frozen=True)
class Simulation:
    """How a simulated cohort was made (``simulation.json``): enough to make it again."""

    patients: int
    days: int
    seed: int
    start: date


def write_simulation(simulation: Simulation, folder: Path) -> None:
    (folder / SIMULATION_FILE).write_text(
        json.dumps(
            {
                "patients": simulation.patients,
                "days": simulation.days,
                "seed": simulation.seed,
                "start": simulation.start.isoformat(),
            },
            indent=1,
        )
        + "\n"
    )


def read_simulation(folder: Path) -> Simulation:
    """The folder's ``simulation.json``; IngestError when it is absent or unreadable."""
    path = folder / SIMULATION_FILE
    try:
        made = json.loads(path.read_text(encoding="utf-8"))
        return Simulation(
            int(made["patients"]),
            int(made["days"]),
            int(made["seed"]),
            date.fromisoformat(made["start"]),
        )
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise IngestError(
            str(path), f"not a cohort written by phenowatch simulate: {error}"
        ) from error


@dataclass(frozen=True)
class CohortFrames:
    """The cohort as ingest/ read it, before anything is stored."""

    nights: pl.DataFrame  # NIGHTS, every readable patient, sorted by patient and date
    phq9: pl.DataFrame  # PHQ9, sorted by answered_at and patient
    labels: pl.DataFrame | None  # LABELS, or None without labels.csv
    failures: tuple[Failure, ...]
    #: what was left out of the patients that were read (refused files, skipped records)
    left_out: tuple[Failure, ...]
    patient_ids: tuple[str, ...]  # the folders that were read, sorted


def patient_folders(cohort: Path) -> list[Path]:
    """Every visible sub-folder, sorted by name (the name is the patient id)."""
    return sorted(p for p in cohort.iterdir() if p.is_dir() and not p.name.startswith("."))


def write_labels(labels: pl.DataFrame, path: Path) -> None:
    """labels.csv from a LABELS frame, one patient a line, an empty onset for no relapse."""
    path.write_text(
        "patient_id,relapse_onset\n"
        + "".join(
            f"{pid},{'' if onset is None else onset.isoformat()}\n"
            for pid, onset in labels.select(*LABELS).iter_rows()
        )
    )


def read_labels(path: Path) -> pl.DataFrame:
    """labels.csv: patient_id, relapse_onset (ISO date, empty when the patient never relapses)."""
    try:
        frame = pl.read_csv(
            path, schema_overrides={"patient_id": pl.String, "relapse_onset": pl.Date}
        )
    except (pl.exceptions.PolarsError, OSError) as error:
        raise IngestError(str(path), f"cannot read the labels: {error}") from error
    missing = [c for c in LABELS if c not in frame.columns]
    if missing:
        raise IngestError(
            str(path), f"missing column(s) {missing}; expected patient_id,relapse_onset"
        )
    return frame.select(pl.col(name).cast(dtype) for name, dtype in LABELS.items())


def read_patient(folder: Path) -> tuple[pl.DataFrame, pl.DataFrame, list[str]]:
    """One patient folder as (nights, PHQ-9 entries, what was left out); raises IngestError
    only when nothing of it could be read.

    The folder is read as an upload of it would be (zips inside it opened). A file that fails
    is left out and named; the patient's other files and PHQ-9 answers still go through."""
    patient_id = folder.name
    if not PATIENT_ID.match(patient_id):
        raise IngestError(
            str(folder),
            "a patient folder is named by its id: 1-64 letters, digits, '.', '_' or '-'",
        )
    loaded = load(folder, patient_id=patient_id, metrics=NIGHTS_METRICS, hourly_steps=True)
    nights = build_nights(loaded.samples) if loaded.samples.height else empty(NIGHTS)
    return nights, loaded.phq9, [w.sentence() for w in loaded.warnings]


#: below this many folders a second process costs more than it saves
PARALLEL_FROM = 32


def _read_one(folder: Path) -> tuple[str, pl.DataFrame, pl.DataFrame, list[str]] | Failure:
    try:
        nights, phq9, left_out = read_patient(folder)
    except IngestError as error:
        return Failure(folder.name, str(error))
    except Exception as error:  # a parser bug must not sink the other patients: report it
        return Failure(folder.name, f"unexpected {type(error).__name__}: {error}")
    return folder.name, nights, phq9, left_out


def read_cohort(
    cohort: Path, progress: FolderProgress | None = None, *, workers: int | None = None
) -> CohortFrames:
    """Reads every patient folder (in ``workers`` processes; default: one per core for a
    large cohort), in folder order whatever the order they finish in."""
    if not cohort.is_dir():
        raise IngestError(str(cohort), "not a folder: a cohort is one sub-folder per patient")
    folders = patient_folders(cohort)
    if workers is None:
        workers = min(os.cpu_count() or 1, 4) if len(folders) >= PARALLEL_FROM else 1
    results: list[tuple[str, pl.DataFrame, pl.DataFrame, list[str]] | Failure] = []
    if workers > 1:
        # spawn, not fork: polars' thread pool does not survive a fork
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(workers, mp_context=context) as pool:
            for result in pool.map(_read_one, folders, chunksize=4):
                results.append(result)
                if progress is not None:
                    progress(len(results), len(folders), folders[len(results) - 1].name)
    else:
        for folder in folders:
            results.append(_read_one(folder))
            if progress is not None:
                progress(len(results), len(folders), folder.name)
    read = [r for r in results if not isinstance(r, Failure)]
    labels_path = cohort / LABELS_FILE
    return CohortFrames(
        nights=pl.concat([n for _, n, _, _ in read]).sort("patient_id", "date")
        if read
        else empty(NIGHTS),
        phq9=pl.concat([p for _, _, p, _ in read]).sort("answered_at", "patient_id")
        if read
        else empty(PHQ9),
        labels=read_labels(labels_path) if labels_path.is_file() else None,
        failures=tuple(r for r in results if isinstance(r, Failure)),
        left_out=tuple(Failure(pid, line) for pid, _, _, lines in read for line in lines),
        patient_ids=tuple(pid for pid, _, _, _ in read),
    )
