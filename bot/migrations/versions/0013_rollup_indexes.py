"""Roll-up indexes: check-in values covering per unit, by day and by name; check-ins by type,
by day and by occurrence (the roll-up and completeness read indexes only).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 20:39:55.989892
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("checkin_values", schema=None) as batch_op:
        batch_op.drop_index("ix_checkin_values_unit_day")
        batch_op.create_index(
            "ix_checkin_values_unit_day",
            ["unit_id", "day", "activity", "name", "value"],
            unique=False,
        )
        batch_op.create_index(
            "ix_checkin_values_activity",
            ["activity", "name", "unit_id", "day"],
            unique=False,
            postgresql_ops={"name": "varchar_pattern_ops"},
        )
        batch_op.create_index(
            "ix_checkin_values_day", ["day", "activity", "name", "value"], unique=False
        )

    with op.batch_alter_table("checkins", schema=None) as batch_op:
        batch_op.create_index(
            "ix_checkins_activity",
            ["activity", "unit_id", "period_year", "period_month", "starts_on", "deleted_at"],
            unique=False,
        )
        batch_op.create_index(
            "ix_checkins_day", ["starts_on", "activity", "deleted_at"], unique=False
        )
        batch_op.create_index(
            "ix_checkins_occurrence", ["occurrence_id", "member_id", "deleted_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("checkins", schema=None) as batch_op:
        batch_op.drop_index("ix_checkins_occurrence")
        batch_op.drop_index("ix_checkins_day")
        batch_op.drop_index("ix_checkins_activity")

    with op.batch_alter_table("checkin_values", schema=None) as batch_op:
        batch_op.drop_index("ix_checkin_values_day")
        batch_op.drop_index("ix_checkin_values_activity")
        batch_op.drop_index("ix_checkin_values_unit_day")
        batch_op.create_index("ix_checkin_values_unit_day", ["unit_id", "day"], unique=False)
