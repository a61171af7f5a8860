"""Firings as events: each firing of an alert links its own stored signal; PHQ-9 submissions
kept for idempotent replays; endpoints that hear of openings also hear of refirings.

Revision ID: 0005_alert_firings
Revises: 0004_upload_warnings, 0004_coordinator_inbox
Create Date: 2026-12-03 07:40:00
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from api.store.base import UTCDateTime

revision: str = "0005_alert_firings"
# also joins the two revisions numbered 0004 (upload warnings, coordinator inbox) into one head
down_revision: str | tuple[str, ...] | None = ("0004_upload_warnings", "0004_coordinator_inbox")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("alert_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("signal_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_alert_events_signal_id"), ["signal_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_alert_events_signal_id_signals"),
            "signals",
            ["signal_id"],
            ["id"],
            ondelete="SET NULL",
        )
    # an alert's opening event gets the first signal stored for it (the one that opened it)
    op.execute(
        "UPDATE alert_events SET signal_id = (SELECT min(signals.id) FROM signals "
        "WHERE signals.alert_id = alert_events.alert_id) WHERE event = 'opened'"
    )
    op.create_table(
        "phq9_submissions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.String(length=64), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=True),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("response", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_phq9_submissions_patient_id_patients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_phq9_submissions")),
        sa.UniqueConstraint("patient_id", "idempotency_key", name="uq_phq9_submissions_key"),
    )
    with op.batch_alter_table("phq9_submissions", schema=None) as batch_op:
        batch_op.create_index("ix_phq9_submissions_digest", ["patient_id", "digest"])
    _subscribe_refired(add=True)


def downgrade() -> None:
    _subscribe_refired(add=False)
    with op.batch_alter_table("phq9_submissions", schema=None) as batch_op:
        batch_op.drop_index("ix_phq9_submissions_digest")
    op.drop_table("phq9_submissions")
    with op.batch_alter_table("alert_events", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_alert_events_signal_id_signals"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_alert_events_signal_id"))
        batch_op.drop_column("signal_id")


def _subscribe_refired(*, add: bool) -> None:
    """An endpoint that subscribed to openings must also hear of an urgent alert firing again."""
    connection = op.get_bind()
    rows = connection.execute(sa.text("SELECT id, event_types FROM webhook_endpoints")).all()
    for endpoint_id, raw in rows:
        types = json.loads(raw) if isinstance(raw, str) else list(raw)
        if add and "alert.opened" in types and "alert.refired" not in types:
            wanted = [*types, "alert.refired"]
        elif not add and "alert.refired" in types:
            wanted = [t for t in types if t != "alert.refired"]
        else:
            continue
        connection.execute(
            sa.text("UPDATE webhook_endpoints SET event_types = :types WHERE id = :id").bindparams(
                sa.bindparam("types", type_=sa.JSON())
            ),
            {"types": wanted, "id": endpoint_id},
        )
