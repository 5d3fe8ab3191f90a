"""Submit, approve, return, excuse, unlock: a unit's six-month or annual report goes up to its
parent's admins; approval locks the unit's check-ins of the period; every step is kept."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import (
    Answer,
    Duty,
    Member,
    OutboxKind,
    ReportSubmission,
    Role,
    SubmissionEvent,
    SubmissionStatus,
    Unit,
)
from bot.services import audit, occurrences, outbox
from bot.services.audit import Action
from bot.services.calendar import occurrences_between
from bot.services.members import has_role
from bot.services.periods import Period
from bot.services.tree import ancestor_ids
from scheduler.workdays import WorkCalendar

REPORT_DUTIES = {"half": "half_year_report", "year": "annual_report"}


class ApprovalError(Exception):
    """Why a step cannot be taken: ``code`` (views word it), ``names`` (units concerned)."""

    def __init__(self, code: str, names: list[str] | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.names = names or []


def report_period(period: Period) -> None:
    """Only the reports sent up are submitted: the first half and the year (administrative)."""
    if not period.administrative or period.key.endswith("H2"):
        raise ApprovalError("not_a_report_period")


async def of_unit(session: AsyncSession, unit_id: int, period: Period) -> ReportSubmission | None:
    return await session.scalar(select(ReportSubmission).where(
        ReportSubmission.unit_id == unit_id, ReportSubmission.period == period.key))


async def by_id(session: AsyncSession, submission_id: int) -> ReportSubmission | None:
    return await session.get(ReportSubmission, submission_id)


async def _event(session: AsyncSession, sub: ReportSubmission, action: str, member: Member,
                 now: datetime, comment: str | None = None) -> None:
    session.add(SubmissionEvent(submission_id=sub.id, action=action, member_id=member.id,
                                at=now, comment=comment))
    audit.record(session, unit_id=sub.unit_id, actor=member.id,
                 action=Action(f"report_{action}"), now=now, period=sub.period)
    await session.flush()


async def history(session: AsyncSession, sub: ReportSubmission) -> list[SubmissionEvent]:
    return list(await session.scalars(select(SubmissionEvent).where(
        SubmissionEvent.submission_id == sub.id).order_by(SubmissionEvent.id)))


async def _admins(session: AsyncSession, unit_id: int) -> list[Member]:
    return list(await session.scalars(select(Member).where(
        Member.unit_id == unit_id, Member.active.is_(True), Member.role == Role.admin)
        .order_by(Member.id)))


async def _focal_points(session: AsyncSession, unit_id: int) -> list[Member]:
    return list(await session.scalars(select(Member).where(
        Member.unit_id == unit_id, Member.active.is_(True), Member.role == Role.focal)
        .order_by(Member.id)))


async def _notify(session: AsyncSession, people: list[Member], kind: OutboxKind, stage: str,
                  now: datetime, payload: dict[str, object]) -> None:
    await outbox.enqueue_notices(session, [
        outbox.row(None, outbox.member_recipient(m.id), kind, stage, now, now, payload=payload)
        for m in {m.id: m for m in people}.values()
    ])


async def _report_due(session: AsyncSession, unit: Unit, period: Period, cal: WorkCalendar,
                      member: Member, now: datetime) -> date | None:
    """The due date of the unit's report duty for the period; its reminder is answered."""
    duty = await session.scalar(select(Duty).where(
        Duty.unit_id == unit.id, Duty.code == REPORT_DUTIES[period.kind]))
    if duty is None:
        return None
    dates = [d for d in occurrences_between([duty], period.end - timedelta(days=10),
                                            period.end + timedelta(days=90), cal)]
    if not dates:
        return None
    occ = await occurrences.ensure(session, unit.id, dates[0], now)
    await occurrences.answer(session, occ, member, Answer.done, now)
    return dates[0].occurrence.due_on


async def submit(session: AsyncSession, unit: Unit, period: Period, member: Member,
                 now: datetime, cal: WorkCalendar) -> ReportSubmission:
    """The focal point (or an admin) sends the unit's report up; the parent's admins are
    asked to approve or return it."""
    report_period(period)
    sub = await of_unit(session, unit.id, period)
    if sub is not None and sub.status == SubmissionStatus.approved:
        raise ApprovalError("already_approved")
    if sub is not None and sub.status == SubmissionStatus.submitted:
        raise ApprovalError("already_submitted")
    if sub is None:
        sub = ReportSubmission(unit_id=unit.id, period=period.key, starts_on=period.start,
                               ends_on=period.end, status=SubmissionStatus.submitted)
        session.add(sub)
    sub.status, sub.submitted_by, sub.submitted_at = SubmissionStatus.submitted, member.id, now
    sub.decided_by = sub.decided_at = sub.comment = None
    sub.due_on = await _report_due(session, unit, period, cal, member, now)
    await session.flush()
    await _event(session, sub, "submitted", member, now)
    if unit.parent_id is not None:
        steps = len(await history(session, sub))
        await _notify(session, await _admins(session, unit.parent_id), OutboxKind.approval,
                      f"approval-{sub.id}-{steps}", now,
                      {"unit_id": unit.parent_id, "submission_id": sub.id})
    return sub


def on_time(sub: ReportSubmission, unit: Unit) -> bool | None:
    """Submitted by the due date (in the unit's time zone); None without a due date."""
    if sub.due_on is None or sub.submitted_at is None:
        return None
    return sub.submitted_at.astimezone(unit.tz).date() <= sub.due_on


async def _may_decide(session: AsyncSession, sub: ReportSubmission, member: Member) -> Unit:
    """The submission's unit, if the member is an admin of its parent unit."""
    unit = await session.get(Unit, sub.unit_id)
    assert unit is not None
    if not has_role(member, Role.admin) or unit.parent_id != member.unit_id:
        raise ApprovalError("not_parent_admin")
    return unit


async def children(session: AsyncSession, unit: Unit, period: Period
                   ) -> list[tuple[Unit, ReportSubmission | None]]:
    """The unit's child units and their submissions for the period."""
    kids = list(await session.scalars(select(Unit).where(Unit.parent_id == unit.id)
                                      .order_by(Unit.id)))
    subs = {s.unit_id: s for s in await session.scalars(select(ReportSubmission).where(
        ReportSubmission.unit_id.in_([k.id for k in kids]),
        ReportSubmission.period == period.key))}
    return [(kid, subs.get(kid.id)) for kid in kids]


async def approve(session: AsyncSession, sub: ReportSubmission, member: Member,
                  now: datetime) -> None:
    """Lock the unit's check-ins of the period; only once every child unit's report is
    approved or excused."""
    unit = await _may_decide(session, sub, member)
    if sub.status != SubmissionStatus.submitted:
        raise ApprovalError("not_submitted")
    period = Period(sub.starts_on, sub.ends_on, sub.period, administrative=True)
    pending = [kid.name for kid, s in await children(session, unit, period)
               if s is None or s.status not in (SubmissionStatus.approved,
                                                SubmissionStatus.excused)]
    if pending:
        raise ApprovalError("children_pending", pending)
    sub.status, sub.decided_by, sub.decided_at = SubmissionStatus.approved, member.id, now
    await _event(session, sub, "approved", member, now)
    await _tell_unit(session, sub, unit, "approved", now)


async def send_back(session: AsyncSession, sub: ReportSubmission, member: Member, comment: str,
                    now: datetime) -> None:
    """Return the report with a comment for the focal point; the unit may change and resubmit."""
    unit = await _may_decide(session, sub, member)
    if sub.status != SubmissionStatus.submitted:
        raise ApprovalError("not_submitted")
    sub.status, sub.decided_by, sub.decided_at = SubmissionStatus.returned, member.id, now
    sub.comment = comment
    await _event(session, sub, "returned", member, now, comment)
    await _tell_unit(session, sub, unit, "returned", now)


async def _tell_unit(session: AsyncSession, sub: ReportSubmission, unit: Unit, action: str,
                     now: datetime) -> None:
    people = await _focal_points(session, unit.id)
    submitter = await session.get(Member, sub.submitted_by) if sub.submitted_by else None
    if submitter is not None and submitter.active:
        people.append(submitter)
    steps = len(await history(session, sub))
    await _notify(session, people, OutboxKind.decision, f"decision-{sub.id}-{steps}", now,
                  {"unit_id": unit.id, "submission_id": sub.id, "action": action})


async def excuse(session: AsyncSession, unit: Unit, period: Period, member: Member,
                 now: datetime, comment: str | None = None) -> ReportSubmission:
    """The parent's admin excuses a child unit from the period's report."""
    report_period(period)
    if not has_role(member, Role.admin) or unit.parent_id != member.unit_id:
        raise ApprovalError("not_parent_admin")
    sub = await of_unit(session, unit.id, period)
    if sub is None:
        sub = ReportSubmission(unit_id=unit.id, period=period.key, starts_on=period.start,
                               ends_on=period.end, status=SubmissionStatus.excused)
        session.add(sub)
    elif sub.status == SubmissionStatus.approved:
        raise ApprovalError("already_approved")
    sub.status, sub.decided_by, sub.decided_at = SubmissionStatus.excused, member.id, now
    await session.flush()
    await _event(session, sub, "excused", member, now, comment)
    return sub


async def unlock(session: AsyncSession, sub: ReportSubmission, member: Member,
                 now: datetime) -> None:
    """An admin above the unit opens an approved report again: its check-ins can change, and
    it is sent up again."""
    if not has_role(member, Role.admin) or member.unit_id not in await ancestor_ids(
            session, sub.unit_id):
        raise ApprovalError("not_above")
    if sub.status != SubmissionStatus.approved:
        raise ApprovalError("not_approved")
    sub.status, sub.decided_by, sub.decided_at = SubmissionStatus.returned, member.id, now
    await _event(session, sub, "unlocked", member, now)


async def locked(session: AsyncSession, unit_id: int, day: date) -> bool:
    """Is the unit's period holding this day approved (its check-ins locked)?"""
    return await session.scalar(select(ReportSubmission.id).where(
        ReportSubmission.unit_id == unit_id, ReportSubmission.status == SubmissionStatus.approved,
        ReportSubmission.starts_on <= day, ReportSubmission.ends_on >= day).limit(1)) is not None


@dataclass(frozen=True)
class ChildStatus:
    unit: Unit
    status: str  # approved, excused, submitted, late, returned, missing
    submission: ReportSubmission | None


async def children_status(session: AsyncSession, unit: Unit, period: Period) -> list[ChildStatus]:
    found = []
    for kid, sub in await children(session, unit, period):
        if sub is None:
            status = "missing"
        elif sub.status == SubmissionStatus.submitted and on_time(sub, kid) is False:
            status = "late"
        else:
            status = sub.status
        found.append(ChildStatus(kid, status, sub))
    return found
