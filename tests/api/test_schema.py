"""The migrated schema is the models' schema, on both backends, and migrations run both ways."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect

import api.store
from api.migrations import downgrade, upgrade


def _differences(engine: Engine) -> list[object]:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, api.store.Base.metadata))


def test_upgrade_head_gives_exactly_the_models(engine: Engine) -> None:
    assert _differences(engine) == []


def test_the_core_revision_downgrades_and_upgrades_cleanly(engine: Engine) -> None:
    downgrade(engine, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    upgrade(engine)
    assert _differences(engine) == []
    assert {"alerts", "nights", "uploads", "audit_log"} <= set(inspect(engine).get_table_names())
