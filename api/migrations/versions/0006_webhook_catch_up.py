"""Webhook catch-up: urgent deliveries first, and an early try of a failing endpoint.

Revision ID: 0006_webhook_catch_up
Revises: 0005_alert_firings
Create Date: 2026-12-03 08:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from api.store.base import UTCDateTime

revision: str = "0006_webhook_catch_up"
down_revision: str | None = "0005_alert_firings"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("webhook_endpoints", schema=None) as batch_op:
        batch_op.add_column(sa.Column("next_probe_at", UTCDateTime(), nullable=True))
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("urgent", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.execute(
        "UPDATE webhook_deliveries SET urgent = (SELECT alerts.severity = 'urgent' FROM alerts "
        "WHERE alerts.id = webhook_deliveries.alert_id)"
    )


def downgrade() -> None:
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.drop_column("urgent")
    with op.batch_alter_table("webhook_endpoints", schema=None) as batch_op:
        batch_op.drop_column("next_probe_at")
