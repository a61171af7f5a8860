"""The UTC offset each PHQ-9 answer was given with, so that its day is the patient's local date
(an answer at 23:30 in Los Angeles counts on that evening, not on the next UTC date). Entries
stored before keep a null offset and count on their UTC date, as they did.

Revision ID: 0008_phq9_answer_offset
Revises: 0007_webhook_secrets_encrypted
Create Date: 2026-12-03 11:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_phq9_answer_offset"
down_revision: str | None = "0007_webhook_secrets_encrypted"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("phq9_entries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("utc_offset_min", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("phq9_entries", schema=None) as batch_op:
        batch_op.drop_column("utc_offset_min")
