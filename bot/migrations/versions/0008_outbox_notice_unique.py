"""outbox notices (no occurrence) unique per recipient, kind and stage: the monthly summary is
planned again every few minutes and must be stored once

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "uq_outbox_notice", "outbox", ["recipient", "kind", "stage"], unique=True,
        sqlite_where=sa.text("occurrence_id IS NULL"),
        postgresql_where=sa.text("occurrence_id IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("uq_outbox_notice", table_name="outbox")
