"""Control characters never reach the audit log raw, on either backend (PostgreSQL refuses NUL
in text: stored raw, a refusal would become a 500)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from api.clock import FixedClock
from api.db import make_session_factory, transaction
from api.services import audit
from api.store import AuditEntry
from tests.api.conftest import World


def test_a_path_with_control_characters_is_404_and_the_log_keeps_them_escaped(
    client: TestClient, world: World, engine: Engine, clock: FixedClock
) -> None:
    response = client.get("/v1/patients/p%00%0a1/nights", headers=world.auth(world.coord_a))
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    factory = make_session_factory(engine)
    with transaction(factory) as s:
        audit.record(
            s,
            principal=None,
            action="read_nights",
            resource="GET /v1/patients/p\x00\n1/nights",
            outcome="not_found",
            now=clock.now(),
            patient_id="p\x00\n1",
        )
    with factory() as s:
        [row] = s.scalars(select(AuditEntry)).all()
    assert (row.resource, row.patient_id) == ("GET /v1/patients/p\\x00\\n1/nights", "p\\x00\\n1")
