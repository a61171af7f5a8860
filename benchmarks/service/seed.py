"""Seed a benchmark database through the models: one care team, its coordinator, N patients
and M alerts (the newest alert of each patient open, the others resolved)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session, sessionmaker

from api.services.patients import add_member, create_team, create_user
from api.services.tokens import issue_token
from api.store import Alert, Patient
from detect.signals import KINDS, SEVERITIES

SEEDED_AT = datetime(2026, 11, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Seeded:
    team_id: int
    coordinator_token: str
    patient_ids: list[str]
    #: tokens of the first few patients, who submit PHQ-9 answers in the benchmark
    patient_tokens: dict[str, str]


def seed(
    factory: sessionmaker[Session],
    *,
    patients: int = 1_000,
    alerts: int = 10_000,
    submitting_patients: int = 20,
) -> Seeded:
    with factory() as session, session.begin():
        team = create_team(session, name="bench", now=SEEDED_AT)
        user = create_user(
            session,
            email="coordinator@bench.example",
            name="Bench Coordinator",
            role="coordinator",
            now=SEEDED_AT,
        )
        add_member(session, user_id=user.id, team_id=team.id, now=SEEDED_AT)
        _, coordinator_token = issue_token(session, now=SEEDED_AT, user_id=user.id, label="bench")
        patient_ids = [f"bench-{number:05d}" for number in range(patients)]
        session.execute(
            insert(Patient),
            [{"id": pid, "team_id": team.id, "created_at": SEEDED_AT} for pid in patient_ids],
        )
        session.execute(insert(Alert), list(_alert_rows(patient_ids, alerts)))
        patient_tokens = {
            pid: issue_token(session, now=SEEDED_AT, patient_id=pid, label="bench")[1]
            for pid in patient_ids[:submitting_patients]
        }
        return Seeded(team.id, coordinator_token, patient_ids, patient_tokens)


def _alert_rows(patient_ids: list[str], total: int) -> Iterator[dict[str, Any]]:
    per_patient = max(1, total // len(patient_ids))
    first_day = date(2026, 1, 1)
    # item-9 submissions in the benchmark must be able to open a phq9_safety alert
    kinds = [kind for kind in KINDS if kind != "phq9_safety"]
    for index, pid in enumerate(patient_ids):
        for number in range(per_patient):
            fired_on = first_day + timedelta(days=number * 30 + index % 30)
            newest = number == per_patient - 1
            kind = kinds[(index + number) % len(kinds)]
            opened_at = datetime.combine(fired_on, datetime.min.time(), UTC) + timedelta(hours=9)
            yield {
                "patient_id": pid,
                "kind": kind if not newest else "passive_change",
                "severity": SEVERITIES[(index + number) % len(SEVERITIES)],
                "status": "open" if newest else "resolved",
                "evidence": {"metrics": ["sleep_total_min"], "changes": []},
                "explanation": "Total sleep fell from 7.1 h to 5.2 h over 5 nights.",
                "detector": "phenowatch.passive",
                "detector_version": "bench",
                "fired_on": fired_on,
                "window_start": fired_on - timedelta(days=4),
                "window_end": fired_on,
                "last_fired_on": fired_on,
                "opened_at": opened_at,
                "resolved_at": None if newest else opened_at + timedelta(days=2),
            }
