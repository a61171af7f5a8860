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
from ingest.load import Loaded, load
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
    loaded = _load_patient(folder)
    nights = build_nights(loaded.samples) if loaded.samples.height else empty(NIGHTS)
    return nights, loaded.phq9, [w.sentence() for w in loaded.warnings]


def _load_patient(folder: Path) -> Loaded:
    patient_id = folder.name
    if not PATIENT_ID.match(patient_id):
        raise IngestError(
            str(folder),
            "a patient folder is named by its id: 1-64 letters, digits, '.', '_' or '-'",
        )
    return load(folder, patient_id=patient_id, metrics=NIGHTS_METRICS, hourly_steps=True)


#: below this many folders a second process costs more than it saves
PARALLEL_FROM = 32
#: patient folders read by one task. Their nights are built together: build_nights does the
#: same few hundred frame operations for one patient as for many, and for a year of one
#: patient's records that fixed cost is most of the work
BATCH_FOLDERS = 8
#: ...while their samples come to fewer rows than this: a decade of an Apple Watch is built
#: alone, so that a worker holds one block's working memory, not eight patients' records
BATCH_ROWS = 200_000


@dataclass(frozen=True)
class _Patient:
    """A patient folder read: its PHQ-9 entries and what was left out of it (the nights of a
    batch of patients come as one frame)."""

    patient_id: str
    phq9: pl.DataFrame
    left_out: list[str]


def _failure(folder: str, error: Exception) -> Failure:
    if isinstance(error, IngestError):
        return Failure(folder, str(error))
    # a parser bug must not sink the other patients: report it
    return Failure(folder, f"unexpected {type(error).__name__}: {error}")


def _read_batch(folders: list[Path]) -> tuple[list[_Patient | Failure], list[pl.DataFrame]]:
    """Each folder read (or its failure), in folder order, and the nights of those read."""
    results: list[_Patient | Failure] = []
    nights: list[pl.DataFrame] = []
    waiting: dict[int, pl.DataFrame] = {}  # samples, by their patient's place in ``results``
    for folder in folders:
        try:
            loaded = _load_patient(folder)
        except Exception as error:
            results.append(_failure(folder.name, error))
            continue
        if loaded.samples.height:
            waiting[len(results)] = loaded.samples
        results.append(_Patient(folder.name, loaded.phq9, [w.sentence() for w in loaded.warnings]))
        if sum(samples.height for samples in waiting.values()) >= BATCH_ROWS:
            nights.extend(_build(waiting, results))
    nights.extend(_build(waiting, results))
    return results, nights


def _build(
    waiting: dict[int, pl.DataFrame], results: list[_Patient | Failure]
) -> list[pl.DataFrame]:
    """The nights of the ``waiting`` patients, built together; if that fails, one patient at a
    time, and a patient whose nights cannot be built becomes a failure. Empties ``waiting``."""
    if not waiting:
        return []
    try:
        return [build_nights(pl.concat(list(waiting.values())))]
    except Exception:
        built = []
        for place, samples in waiting.items():
            try:
                built.append(build_nights(samples))
            except Exception as error:
                results[place] = _failure(samples["patient_id"][0], error)
        return built
    finally:
        waiting.clear()


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
    batches = [folders[i : i + BATCH_FOLDERS] for i in range(0, len(folders), BATCH_FOLDERS)]
    results: list[_Patient | Failure] = []
    nights: list[pl.DataFrame] = []

    def done(batch: tuple[list[_Patient | Failure], list[pl.DataFrame]]) -> None:
        for result in batch[0]:
            results.append(result)
            if progress is not None:
                progress(len(results), len(folders), folders[len(results) - 1].name)
        nights.extend(batch[1])

    if workers > 1:
        # spawn, not fork: polars' thread pool does not survive a fork
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(workers, mp_context=context) as pool:
            for batch in pool.map(_read_batch, batches):
                done(batch)
    else:
        for folder_batch in batches:
            done(_read_batch(folder_batch))
    read = [r for r in results if isinstance(r, _Patient)]
    labels_path = cohort / LABELS_FILE
    return CohortFrames(
        nights=pl.concat(nights).sort("patient_id", "date") if nights else empty(NIGHTS),
        phq9=pl.concat([r.phq9 for r in read]).sort("answered_at", "patient_id")
        if read
        else empty(PHQ9),
        labels=read_labels(labels_path) if labels_path.is_file() else None,
        failures=tuple(r for r in results if isinstance(r, Failure)),
        left_out=tuple(Failure(r.patient_id, line) for r in read for line in r.left_out),
        patient_ids=tuple(r.patient_id for r in read),
    )
