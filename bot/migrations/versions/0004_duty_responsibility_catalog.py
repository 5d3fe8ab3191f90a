"""who a duty's reminders go to; the default catalog corrected against the seeds

Existing units keep what their admins changed: a catalog duty's date or lead times are
corrected only where they still hold the old default. The yearly communication activity
becomes three ticks (Ban, Công đoàn, Đoàn TN), the two new ones copying the first one's
settings. Entries new to the catalog are installed by the bot at start, as always.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen here on purpose: later catalog edits must not change what this migration did.
RESPONSIBLE = {
    "monthly_article": "focal", "family_day_2806": "focal", "annual_report": "focal",
    "annual_plan": "focal_admins", "annual_training": "focal_admins",
    "annual_communication": "focal",
}
OLD_TO_NEW = {  # code: (old default, new default) for recurrence and stages
    "annual_plan": ({"kind": "yearly", "month": 1, "day": 31},
                    {"kind": "yearly", "month": 3, "day": 31}),
}
STAGES = {
    "monthly_article": ("-7,-2,0,+2", "-7,0,+2"),
    "dv_action_month": ("start-14,start,0,+2", "start-7,start,0,+2"),
    "ge_action_month": ("start-14,start,0,+2", "start,0,+2"),
}
UNCONFIRMED = {"annual_report": {"kind": "yearly", "month": 12, "day": 15}}
TITLES = {
    "monthly_article": (
        "Đăng ít nhất một tin, bài về bình đẳng giới trên cổng/trang thông tin điện tử, bản tin "
        "hoặc tạp chí của đơn vị",
        "Publish at least one gender-equality news item or article on the unit's portal, "
        "bulletin or journal"),
    "womens_day_0803": (
        "Lồng ghép tuyên truyền về bình đẳng giới trong các hoạt động kỷ niệm Ngày Quốc tế Phụ nữ "
        "8/3",
        "Gender-equality communication in the International Women's Day (8 March) activities"),
    "dv_action_month": (
        "Hưởng ứng Tháng hành động quốc gia về phòng, chống bạo lực gia đình",
        "National Action Month on domestic-violence prevention"),
    "family_day_2806": (
        "Kế hoạch tổ chức các hoạt động Ngày Gia đình Việt Nam 28/6",
        "Plan for the Vietnamese Family Day (28 June) activities"),
    "womens_day_2010": (
        "Lồng ghép tuyên truyền về bình đẳng giới trong các hoạt động kỷ niệm Ngày Phụ nữ Việt Nam "
        "20/10",
        "Gender-equality communication in the Vietnamese Women's Day (20 October) activities"),
    "ge_action_month": (
        "Hưởng ứng Tháng hành động vì bình đẳng giới và phòng ngừa, ứng phó với bạo lực trên cơ sở "
        "giới",
        "Action Month for Gender Equality and GBV prevention"),
    "annual_plan": (
        "Kế hoạch triển khai công tác bình đẳng giới và vì sự tiến bộ của phụ nữ",
        "Work plan on gender equality and the advancement of women"),
    "annual_training": (
        "Bồi dưỡng, tập huấn kiến thức về bình đẳng giới cho cán bộ, công chức, viên chức, người "
        "lao động",
        "Gender-equality training for all staff and key leaders"),
    "annual_report": (
        "Báo cáo kết quả công tác bình đẳng giới và vì sự tiến bộ của phụ nữ",
        "Annual report on gender equality and the advancement of women"),
}
COMMUNICATION = {  # the old single tick becomes the Ban's; two more are added
    "communication_ban": ("ban", "Ban Vì sự tiến bộ của phụ nữ",
                          "the Committee for the Advancement of Women"),
    "communication_union": ("cong_doan", "Công đoàn", "the trade union"),
    "communication_youth": ("doan_tn", "Đoàn TNCS Hồ Chí Minh",
                            "the Ho Chi Minh Communist Youth Union"),
}


def _communication_titles(vi_org: str, en_org: str) -> tuple[str, str]:
    return (
        "Ít nhất một hoạt động truyền thông (chuyên đề hoặc lồng ghép) về bình đẳng giới của "
        + vi_org,
        "At least one gender-equality communication activity by " + en_org,
    )


def upgrade() -> None:
    with op.batch_alter_table("duties", schema=None) as batch_op:
        batch_op.add_column(sa.Column("responsible", sa.String(length=16),
                                      server_default="everyone", nullable=False))
        batch_op.add_column(sa.Column("responsible_member_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("organisation", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("date_confirmed", sa.Boolean(),
                                      server_default=sa.true(), nullable=False))
        batch_op.create_foreign_key(
            batch_op.f("fk_duties_responsible_member_id_members"), "members",
            ["responsible_member_id"], ["id"], ondelete="SET NULL")

    duties = sa.table(
        "duties", sa.column("id", sa.Integer), sa.column("unit_id", sa.Integer),
        sa.column("code", sa.String), sa.column("kind", sa.String),
        sa.column("title_vi", sa.String), sa.column("title_en", sa.String),
        sa.column("recurrence", sa.JSON), sa.column("stages", sa.String),
        sa.column("send_time", sa.String), sa.column("shift", sa.String),
        sa.column("scope", sa.String), sa.column("enabled", sa.Boolean),
        sa.column("letter_number", sa.String), sa.column("responsible", sa.String),
        sa.column("organisation", sa.String), sa.column("date_confirmed", sa.Boolean),
        sa.column("created_at", sa.DateTime(timezone=True)),
    )
    bind = op.get_bind()
    bind.execute(duties.update().where(duties.c.kind == "deadline").values(responsible="focal"))
    rows = bind.execute(sa.select(duties).where(duties.c.kind == "catalog")).mappings().all()
    for row in rows:
        values: dict[str, Any] = {}
        code = row["code"]
        if code in RESPONSIBLE:
            values["responsible"] = RESPONSIBLE[code]
        if code in OLD_TO_NEW and row["recurrence"] == OLD_TO_NEW[code][0]:
            values["recurrence"] = OLD_TO_NEW[code][1]
        if code in STAGES and row["stages"] == STAGES[code][0]:
            values["stages"] = STAGES[code][1]
        if code in UNCONFIRMED and row["recurrence"] == UNCONFIRMED[code]:
            values["date_confirmed"] = False
        if code in TITLES:
            values["title_vi"], values["title_en"] = TITLES[code]
        if code == "annual_communication":
            _split_communication(bind, duties, row)
            org, vi_org, en_org = COMMUNICATION["communication_ban"]
            values.update(code="communication_ban", organisation=org)
            values["title_vi"], values["title_en"] = _communication_titles(vi_org, en_org)
        if values:
            bind.execute(duties.update().where(duties.c.id == row["id"]).values(**values))


def _split_communication(bind: sa.Connection, duties: sa.TableClause, row: Any) -> None:
    """The union's and the youth union's ticks, with the settings the admin gave the old one."""
    for code in ("communication_union", "communication_youth"):
        exists = bind.execute(sa.select(duties.c.id).where(
            duties.c.unit_id == row["unit_id"], duties.c.code == code)).first()
        if exists is not None:
            continue
        org, vi_org, en_org = COMMUNICATION[code]
        title_vi, title_en = _communication_titles(vi_org, en_org)
        bind.execute(duties.insert().values(
            unit_id=row["unit_id"], code=code, kind="catalog", title_vi=title_vi,
            title_en=title_en, recurrence=row["recurrence"], stages=row["stages"],
            send_time=row["send_time"], shift=row["shift"], scope=row["scope"],
            enabled=row["enabled"], letter_number=None, responsible="focal", organisation=org,
            date_confirmed=True, created_at=row["created_at"],
        ))


def downgrade() -> None:
    op.execute("DELETE FROM duties WHERE code IN ('communication_union', 'communication_youth')")
    op.execute("UPDATE duties SET code = 'annual_communication' WHERE code = 'communication_ban'")
    with op.batch_alter_table("duties", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_duties_responsible_member_id_members"), type_="foreignkey")
        batch_op.drop_column("date_confirmed")
        batch_op.drop_column("organisation")
        batch_op.drop_column("responsible_member_id")
        batch_op.drop_column("responsible")
