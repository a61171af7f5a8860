"""Every interface shows an alert with the same names and values (api.alert_shape)."""

from __future__ import annotations

import json
from datetime import date

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from api.clock import FixedClock
from api.db import make_session_factory
from api.replay.outputs import stored_alerts
from api.services.alerts import acknowledge, open_alert
from api.services.tokens import Principal
from api.store import Alert
from api.unit_of_work import unit_of_work
from api.webhooks.outbox import render_payload
from tests.api.conftest import World
from tests.api.serve_data import signal


def test_the_api_webhooks_timeline_and_replay_show_an_alert_alike(
    client: TestClient, world: World, engine: Engine, clock: FixedClock
) -> None:
    factory = make_session_factory(engine)
    with unit_of_work(factory, clock=clock) as work:
        opened = open_alert(work, signal=signal("p1"), now=clock.now())
        assert opened is not None
        acknowledge(work, alert_id=opened.id, principal=Principal(role="system"), now=clock.now())
    coordinator = world.auth(world.coord_a)
    detail = client.get(f"/v1/alerts/{opened.id}", headers=coordinator).json()
    [listed] = client.get("/v1/alerts?patient_id=p1", headers=coordinator).json()["items"]
    [on_timeline] = client.get("/v1/patients/p1/timeline", headers=coordinator).json()["alerts"]
    with factory() as session:
        alert = session.get(Alert, opened.id)
        assert alert is not None
        payload = json.loads(
            render_payload(
                alert, team_id=world.team_a, event_type="alert.acknowledged", now=clock.now()
            )
        )["data"]
        [replayed] = stored_alerts(
            session, patient_ids=["p1"], first=date(2026, 1, 1), last=date(2026, 12, 31)
        ).to_dicts()

    shape = {name: value for name, value in detail.items() if name not in ("evidence", "events")}
    assert shape["status"] == "acknowledged" and shape["acknowledged_at"] is not None
    assert listed == shape
    assert on_timeline == {name: shape[name] for name in on_timeline}
    assert payload["alert_id"] == shape["id"]
    assert {name: payload[name] for name in shape if name in payload} == {
        name: shape[name] for name in shape if name in payload
    }
    assert set(payload) - set(shape) == {"alert_id", "team_id", "url", "detected_issue_id"}
    assert {name: str(value) for name, value in replayed.items() if name != "metrics"} == {
        name: shape[name] for name in replayed if name != "metrics"
    }
    assert replayed["metrics"] == [c["metric"] for c in detail["evidence"]["changes"]]
