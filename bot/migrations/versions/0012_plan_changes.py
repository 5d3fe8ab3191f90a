"""Units the planner should look at again (written on every change of their people or duties).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 20:03:37.361348
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "plan_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_changes")),
    )


def downgrade() -> None:
    op.drop_table("plan_changes")
