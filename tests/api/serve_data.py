"""Small real data for the service tests: fixture files, signals and a populated patient."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import polars as pl
from sqlalchemy import Engine

from api.db import make_session_factory, transaction
from api.services.alerts import open_alert
from api.services.nights import store_nights
from api.services.phq9 import store_phq9
from api.services.uploads import Received, create_upload
from api.store import Alert
from api.unit_of_work import UnitOfWork
from detect.signals import MetricChange, Signal
from ingest.schema import NIGHTS, PHQ9

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
APPLE_EXPORT = FIXTURES / "nights" / "apple_export.xml"
APPLE_ZIP = FIXTURES / "apple_health" / "export.zip"
PHQ9_JSON = FIXTURES / "phq9" / "entries.json"
FHIR_PHQ9 = FIXTURES / "phq9" / "questionnaire_response.json"


def signal(patient_id: str, kind: str = "passive_change", severity: str = "moderate",
           fired_on: date = date(2026, 3, 1)) -> Signal:  # fmt: skip
    return Signal(
        patient_id=patient_id,
        kind=kind,  # type: ignore[arg-type]
        severity=severity,  # type: ignore[arg-type]
        fired_on=fired_on,
        window_start=date(2026, 2, 15),
        window_end=fired_on,
        explanation="Sleep is 80 minutes shorter than usual over two weeks.",
        detector="phenowatch.test",
        detector_version="test-1",
        changes=(MetricChange("sleep_total_min", "down", 420.0, 340.0, -3.2, -0.19),),
    )


def nights_frame(patient_id: str, rows: list[dict[str, object]]) -> pl.DataFrame:
    base = {name: None for name in NIGHTS} | {
        "patient_id": patient_id,
        "has_sleep": False,
        "has_hrv": False,
        "has_resting_hr": False,
        "has_steps": False,
    }
    return pl.DataFrame([base | row for row in rows], schema=NIGHTS)


def phq9_frame(patient_id: str, answered_at: datetime, items: list[int]) -> pl.DataFrame:
    row: dict[str, object] = {f"item_{i + 1}": v for i, v in enumerate(items)}
    row |= {
        "patient_id": patient_id,
        "answered_at": answered_at,
        "total": sum(items),
        "difficulty": None,
        "instrument": "phq9",
        "source": "test",
    }
    return pl.DataFrame([row], schema=PHQ9)


def populate(engine: Engine, patient_id: str, now: datetime, tmp: Path) -> tuple[str, int]:
    """One night, one PHQ-9 entry, one upload and one alert for the patient; returns
    (upload id, alert id)."""
    with transaction(make_session_factory(engine)) as s:
        work = UnitOfWork(s)
        store_nights(
            s,
            patient_id=patient_id,
            nights=nights_frame(
                patient_id,
                [{"date": date(2026, 3, 1), "sleep_total_min": 401.0, "has_sleep": True}],
            ),
            now=now,
        )
        store_phq9(s, patient_id=patient_id, entries=phq9_frame(patient_id, now, [1] * 9), now=now)
        spooled = tmp / f"{patient_id}.upload"
        spooled.write_bytes(APPLE_EXPORT.read_bytes())
        upload, _ = create_upload(
            s,
            patient_id=patient_id,
            received=Received(spooled, f"{patient_id:0>64}", spooled.stat().st_size, "a.xml"),
            now=now,
        )
        alert = open_alert(work, signal=signal(patient_id), now=now)
        assert isinstance(alert, Alert)
        return upload.id, alert.id
