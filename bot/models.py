"""Database tables. Timestamps are stored in UTC and always come back timezone-aware."""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    event,
    text,
    true,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

# Defined apart, so that the command line can name it without loading SQLAlchemy.
from bot.roles import Role as Role  # re-exported: `from bot.models import Role` keeps working

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out — also on SQLite, which keeps no zone."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON}


class DutyKind(enum.StrEnum):
    catalog = "catalog"  # from bot/catalog/duties.json
    custom = "custom"  # added by an admin
    deadline = "deadline"  # one-off, from an official letter


class Responsible(enum.StrEnum):
    """Who a duty's reminders go to."""

    everyone = "everyone"  # every active member (campaigns, action months)
    focal = "focal"  # the focal point (admins when the unit has none)
    focal_admins = "focal_admins"  # the focal point and the admins (plans, training)
    member = "member"  # one named member (e.g. the unit's outlet), else the focal point


class Scope(enum.StrEnum):
    unit = "unit"
    subtree = "subtree"  # the unit and every unit below it


class OccurrenceStatus(enum.StrEnum):
    open = "open"
    done = "done"
    na = "na"


class Answer(enum.StrEnum):
    """A member's answer to a reminder."""

    done = "done"
    na = "na"
    later = "later"


class OutboxKind(enum.StrEnum):
    reminder = "reminder"  # to a responsible member, at a lead time
    later = "later"  # a member's own "remind me later"
    focal = "focal"  # the focal point's "not answered yet" digest
    escalation = "escalation"  # overdue, to the admins
    group = "group"  # posted in the unit's group chat
    unreachable = "unreachable"  # to the focal point: a member blocked the bot
    confirm = "confirm"  # to the focal point: set the due date from the guiding letter
    removed = "removed"  # to a person just removed from their unit (no occurrence)
    summary = "summary"  # to an admin: last month's summary (no occurrence)
    approval = "approval"  # to the parent's admins: a report to approve or return
    decision = "decision"  # to the unit's focal point and submitter: approved or returned
    quota = "quota"  # to the top units' admins: a channel's monthly quota is nearly used up


class OutboxStatus(enum.StrEnum):
    pending = "pending"
    sending = "sending"  # claimed by a dispatcher until its lease runs out
    sent = "sent"
    skipped = "skipped"
    failed = "failed"


class Unit(Base):
    __tablename__ = "units"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("units.id", ondelete="RESTRICT"), index=True
    )
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Ho_Chi_Minh")
    created_at: Mapped[datetime]

    parent: Mapped[Unit | None] = relationship(remote_side=[id])

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def today(self, now: datetime) -> date:
        """The date at ``now`` where the unit works."""
        return now.astimezone(self.tz).date()


class Member(Base):
    __tablename__ = "members"

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="RESTRICT"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    full_name: Mapped[str] = mapped_column(String(255))
    language: Mapped[str] = mapped_column(String(8))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    removed_at: Mapped[datetime | None]
    # Where reminders go when the member is on several apps (None: the first joined).
    preferred_channel: Mapped[str | None] = mapped_column(String(16))

    unit: Mapped[Unit] = relationship(lazy="joined")
    accounts: Mapped[list[ChatAccount]] = relationship(back_populates="member")


class ChatAccount(Base):
    """One member's identity on one channel (Telegram user id, Zalo id, console)."""

    __tablename__ = "chat_accounts"
    __table_args__ = (UniqueConstraint("channel", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(64))
    chat_id: Mapped[str] = mapped_column(String(64))
    unreachable_since: Mapped[datetime | None]
    created_at: Mapped[datetime]

    member: Mapped[Member] = relationship(back_populates="accounts", lazy="joined")


class Invite(Base):
    """Only the code's hash is kept: a leaked database does not leak usable invites."""

    __tablename__ = "invites"

    id: Mapped[int] = mapped_column(primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    expires_at: Mapped[datetime]
    max_uses: Mapped[int] = mapped_column(Integer, default=1)
    uses: Mapped[int] = mapped_column(Integer, default=0)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    revoked_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    # A code from /link: it attaches the app it is sent from to this member, not a newcomer.
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))

    unit: Mapped[Unit] = relationship(lazy="joined")


class JoinFailure(Base):
    """Wrong invite codes per chat identity, to throttle guessing."""

    __tablename__ = "join_failures"
    __table_args__ = (Index("ix_join_failures_who", "channel", "external_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime]


class Conversation(Base):
    """A half-finished dialogue, kept in the database so a restart loses nothing."""

    __tablename__ = "conversations"
    __table_args__ = (UniqueConstraint("channel", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(64))
    state: Mapped[str | None] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Choices last offered as numbered replies on channels without buttons.
    choices: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[datetime]


class Duty(Base):
    """A recurring duty or a one-off deadline of a unit (scope 'subtree': also its units below)."""

    __tablename__ = "duties"
    __table_args__ = (UniqueConstraint("unit_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))  # DutyKind
    title_vi: Mapped[str] = mapped_column(String(255))
    title_en: Mapped[str] = mapped_column(String(255))
    recurrence: Mapped[dict[str, Any]]
    stages: Mapped[str] = mapped_column(String(64))  # e.g. "-14,-3,0,+2"
    send_time: Mapped[str] = mapped_column(String(5), default="08:00")
    shift: Mapped[str] = mapped_column(String(8), default="previous")
    scope: Mapped[str] = mapped_column(String(8), default=Scope.unit)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    letter_number: Mapped[str | None] = mapped_column(String(64))
    responsible: Mapped[str] = mapped_column(
        String(16), default=Responsible.everyone, server_default=Responsible.everyone)
    responsible_member_id: Mapped[int | None] = mapped_column(
        ForeignKey("members.id", ondelete="SET NULL"))
    # The organisation a duty's tick belongs to (Ban, Công đoàn, Đoàn TN), if any.
    organisation: Mapped[str | None] = mapped_column(String(32))
    # False while the due date is only the catalog's guess: the guiding letter sets it.
    date_confirmed: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    created_at: Mapped[datetime]

    def title(self, lang: str) -> str:
        return self.title_en if lang == "en" and self.title_en else self.title_vi


class Occurrence(Base):
    """One due instance of a duty for one unit (e.g. the March 2026 article of unit 3)."""

    __tablename__ = "occurrences"
    __table_args__ = (UniqueConstraint("duty_id", "unit_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    duty_id: Mapped[int] = mapped_column(ForeignKey("duties.id", ondelete="CASCADE"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(32))
    starts_on: Mapped[date] = mapped_column(Date)
    due_on: Mapped[date] = mapped_column(Date, index=True)
    status: Mapped[str] = mapped_column(String(12), default=OccurrenceStatus.open)
    closed_at: Mapped[datetime | None]
    closed_by: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]

    duty: Mapped[Duty] = relationship(lazy="joined")


class Response(Base):
    """A member's latest answer to a reminder: done, not applicable, or later."""

    __tablename__ = "responses"
    __table_args__ = (UniqueConstraint("occurrence_id", "member_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    occurrence_id: Mapped[int] = mapped_column(ForeignKey("occurrences.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    answer: Mapped[str] = mapped_column(String(12))  # Answer
    at: Mapped[datetime]


class OutboxMessage(Base):
    """One message to send, unique per (occurrence, recipient, kind, stage).

    Planning inserts-or-ignores these rows; the dispatcher claims, sends and records them.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("occurrence_id", "recipient", "kind", "stage"),
        # Notices have no occurrence, and NULLs never conflict: their own unique index.
        Index("uq_outbox_notice", "recipient", "kind", "stage", unique=True,
              sqlite_where=text("occurrence_id IS NULL"),
              postgresql_where=text("occurrence_id IS NULL")),
        Index("ix_outbox_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # None for a notice that is about a person, not a duty (e.g. "you were removed").
    occurrence_id: Mapped[int | None] = mapped_column(
        ForeignKey("occurrences.id", ondelete="CASCADE"))
    recipient: Mapped[str] = mapped_column(String(64))  # "member:12" or "group:3"
    kind: Mapped[str] = mapped_column(String(16))  # OutboxKind
    stage: Mapped[str] = mapped_column(String(32))
    send_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(12), default=OutboxStatus.pending)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    claimed_until: Mapped[datetime | None]
    # Whose claim this is (a fencing token): a dispatcher sends and records only rows still
    # carrying its own token, so one whose lease ran out and was taken over is left alone.
    claim_token: Mapped[str | None] = mapped_column(String(32))
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None]
    created_at: Mapped[datetime]

    # What a notice says, filled in when it is rendered in the reader's language.
    payload: Mapped[dict[str, Any] | None]
    occurrence: Mapped[Occurrence | None] = relationship(lazy="joined")


class GroupChat(Base):
    """A unit's group chat where the bot posts unit-wide reminders."""

    __tablename__ = "group_chats"
    __table_args__ = (UniqueConstraint("channel", "chat_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    chat_id: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime]


class Checkin(Base):
    """What a unit did, as a member told it: one activity of a catalog type, with its fields.

    ``fields`` holds the answers as JSON (to show and change them); the numbers a report adds
    up are in ``checkin_values``. A deleted check-in keeps its row (``deleted_at``) and its
    revisions, and loses its values.
    """

    __tablename__ = "checkins"
    __table_args__ = (
        Index("ix_checkins_unit_starts", "unit_id", "starts_on"),
        # The roll-up reads these alone, never the table (see bot/services/rollup.py):
        # articles per unit and month, latest staff figures, documents of a subtree…
        Index("ix_checkins_activity", "activity", "unit_id", "period_year", "period_month",
              "starts_on", "deleted_at"),
        # … and check-ins per type in a period over every unit, day by day.
        Index("ix_checkins_day", "starts_on", "activity", "deleted_at"),
        # Who checked in for each due date (completeness); SET NULL when one is deleted.
        Index("ix_checkins_occurrence", "occurrence_id", "member_id", "deleted_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"))
    member_id: Mapped[int | None] = mapped_column(
        ForeignKey("members.id", ondelete="SET NULL"), index=True
    )
    activity: Mapped[str] = mapped_column(String(32))  # a code of the activity catalog
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    # The administrative reporting period it falls in (Nghị định 09/2019: a month runs from
    # the 15th of the month before to the 14th, the year from 15/12 to 14/12, its first half
    # to 14/6).
    period_year: Mapped[int] = mapped_column(Integer)
    period_half: Mapped[int] = mapped_column(Integer)
    period_month: Mapped[int] = mapped_column(Integer)
    occurrence_id: Mapped[int | None] = mapped_column(
        ForeignKey("occurrences.id", ondelete="SET NULL")
    )
    fields: Mapped[dict[str, Any]]
    channel: Mapped[str] = mapped_column(String(16))  # where it was told: telegram, import…
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    deleted_at: Mapped[datetime | None]


class CheckinValue(Base):
    """One number of a check-in that reports add up (a count, an amount, a picked option).

    The unit, type and day are copied from the check-in so a roll-up reads this table alone.
    """

    __tablename__ = "checkin_values"
    __table_args__ = (
        # Each roll-up query reads one of these and never the table: a subtree's units…
        Index("ix_checkin_values_unit_day", "unit_id", "day", "activity", "name", "value"),
        # … every unit, day by day (the national report; without unit_id, PostgreSQL
        # stores its many equal keys once: a third of the size) …
        Index("ix_checkin_values_day", "day", "activity", "name", "value"),
        # … and the values of one name or prefix ("organisers=…"): LIKE 'prefix%' may seek
        # it on PostgreSQL whatever the database's collation.
        Index("ix_checkin_values_activity", "activity", "name", "unit_id", "day",
              postgresql_ops={"name": "varchar_pattern_ops"}),
    )

    checkin_id: Mapped[int] = mapped_column(
        ForeignKey("checkins.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(64), primary_key=True)  # "women", "organisers=ban"
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"))
    activity: Mapped[str] = mapped_column(String(32))
    day: Mapped[date] = mapped_column(Date)
    value: Mapped[int] = mapped_column(BigInteger)


class CheckinRevision(Base):
    """Every change of a check-in: who, when, and the values before and after."""

    __tablename__ = "checkin_revisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    checkin_id: Mapped[int] = mapped_column(
        ForeignKey("checkins.id", ondelete="CASCADE"), index=True
    )
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(12))  # created, changed, deleted
    at: Mapped[datetime]
    old: Mapped[dict[str, Any] | None]
    new: Mapped[dict[str, Any] | None]


class TargetLevel(Base):
    """A unit's own level for a target (percent), replacing the default for it and the units
    below it that set none."""

    __tablename__ = "target_levels"
    __table_args__ = (UniqueConstraint("unit_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(32))
    level: Mapped[int] = mapped_column(Integer)  # percent
    set_by: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    set_at: Mapped[datetime]


class SubmissionStatus(enum.StrEnum):
    submitted = "submitted"  # waiting for the parent unit's admins
    returned = "returned"  # sent back with a comment; the unit may change and resubmit
    approved = "approved"  # the unit's check-ins of the period are locked
    excused = "excused"  # the parent excused the unit from this report


class ReportSubmission(Base):
    """A unit's report for a period, as sent up to its parent: who sent it, whether in time,
    and the parent's decision. An approved one locks the unit's check-ins of the period."""

    __tablename__ = "report_submissions"
    __table_args__ = (UniqueConstraint("unit_id", "period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"))
    period: Mapped[str] = mapped_column(String(32))  # "2027-H1", "2027" (administrative)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(12))  # SubmissionStatus
    submitted_by: Mapped[int | None] = mapped_column(
        ForeignKey("members.id", ondelete="SET NULL"))
    submitted_at: Mapped[datetime | None]
    due_on: Mapped[date | None] = mapped_column(Date)  # the report duty's, when it has one
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None]
    comment: Mapped[str | None] = mapped_column(Text)


class SubmissionEvent(Base):
    """Every step of a submission, kept: submitted, returned, approved, excused, unlocked."""

    __tablename__ = "submission_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(
        ForeignKey("report_submissions.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(String(12))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    at: Mapped[datetime]
    comment: Mapped[str | None] = mapped_column(Text)


class SeenUpdate(Base):
    """An update a channel has taken in, by the platform's message id: one delivered twice
    (a retried webhook, a poll repeated after a restart) is handled once."""

    __tablename__ = "seen_updates"
    __table_args__ = (UniqueConstraint("channel", "update_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    update_id: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(index=True)


class FileLink(Base):
    """A file offered as a download link (Zalo takes no uploads): for one member, until
    ``expires_at``; the link carries the id and a signature, never the content."""

    __tablename__ = "file_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    filename: Mapped[str] = mapped_column(String(255))
    mime: Mapped[str] = mapped_column(String(128))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)


class AppKey(Base):
    """Secrets the bot makes for itself on first start (e.g. the key that signs links)."""

    __tablename__ = "app_keys"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[str] = mapped_column(String(128))


class ChannelUsage(Base):
    """Messages sent on a channel in a calendar month (a plan's quota counts them)."""

    __tablename__ = "channel_usage"

    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    month: Mapped[str] = mapped_column(String(7), primary_key=True)  # "2027-03"
    sent: Mapped[int] = mapped_column(Integer, default=0)


class AuditEntry(Base):
    """One admin action (an invite, a removal, a role, a duty, a target, a report decision):
    who did it (None: the command line), on which unit, and what, by ids rather than names,
    so forgetting a person leaves no name behind here."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_unit", "unit_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime]
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(32))
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)


class PlanChange(Base):
    """A unit whose people, duties or groups changed since the planner last looked: the
    planner re-plans it (and the units below it) in full, and the rest only for the new
    minutes. Written by the flush listener below, consumed (deleted) by the planner."""

    __tablename__ = "plan_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(Integer)


@event.listens_for(Session, "after_flush")
def _note_plan_changes(session: Session, _context: object) -> None:
    # Every change made through the ORM passes here, wherever it comes from (a chat, the
    # command line, another process): the planner cannot miss one.
    units: set[int] = set()
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, Member | Duty | GroupChat):
            units.add(obj.unit_id)
        elif isinstance(obj, Unit):
            units.add(obj.id)
    units.discard(None)  # type: ignore[arg-type]
    if units:
        session.connection().execute(PlanChange.__table__.insert(),
                                     [{"unit_id": unit_id} for unit_id in sorted(units)])
