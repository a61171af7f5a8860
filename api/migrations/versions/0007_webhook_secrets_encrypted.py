"""Room for encrypted webhook secrets ("fernet:<token>"); the service seals plaintext ones
with the newest of PHENOWATCH_SECRET_KEYS when it starts (api.webhooks.secret_box).

Revision ID: 0007_webhook_secrets_encrypted
Revises: 0006_webhook_catch_up
Create Date: 2026-12-03 08:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_webhook_secrets_encrypted"
down_revision: str | None = "0006_webhook_catch_up"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("webhook_endpoints", schema=None) as batch_op:
        batch_op.alter_column(
            "secret", existing_type=sa.String(length=128), type_=sa.String(length=512)
        )


def downgrade() -> None:
    with op.batch_alter_table("webhook_endpoints", schema=None) as batch_op:
        batch_op.alter_column(
            "secret", existing_type=sa.String(length=512), type_=sa.String(length=128)
        )
