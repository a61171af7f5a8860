"""Alembic environment: the engine comes from ``config.attributes`` (see api.migrations)."""

from __future__ import annotations

from alembic import context

import api.store
from api.store.base import Base

assert api.store  # every model registered on Base.metadata

config = context.config
engine = config.attributes["engine"]

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
