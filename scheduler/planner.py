"""The planner: turns each unit's duty calendar into outbox rows (insert-or-ignore).

It runs often and is idempotent: the unique key (occurrence, recipient, kind, stage) means a
rerun, a restart or a second process never doubles a reminder. It looks back `LOOKBACK` so
reminders due during downtime are still planned; the dispatcher decides if they are stale.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from bot.context import AppContext
from bot.models import (
    Duty,
    GroupChat,
    Member,
    Occurrence,
    OccurrenceStatus,
    OutboxKind,
    Responsible,
    Role,
    Unit,
)
from bot.services import duties as duty_service
from bot.services import groups as group_service
from bot.services import occurrences, outbox
from bot.services.calendar import DutyDate
from bot.services.duties import parse_send_time
from scheduler import recurrence as rec
from scheduler.workdays import Calendar

log = logging.getLogger(__name__)

LOOKBACK = timedelta(days=7)
HORIZON = timedelta(days=2)
# Occurrence search margin: lead times and campaign periods reach this far from the due date.
_MARGIN = timedelta(days=120)



@dataclass(frozen=True)
class PlannedSend:
    send_at: datetime
    kind: str
    stage: str
    duty: Duty
    occurrence: rec.Occurrence
    recipient: str
    member: Member | None = None
    group: GroupChat | None = None


# The focal point is asked to confirm a guessed due date this long before it.
CONFIRM_AHEAD = timedelta(days=30)


@dataclass(frozen=True)
class People:
    """Who in and around a unit reminders can go to (active members only)."""

    members: list[Member]
    parent_admins: list[Member]
    groups: list[GroupChat]

    def with_role(self, role: Role) -> list[Member]:
        return [m for m in self.members if m.role == role]

    @property
    def focal_or_admins(self) -> list[Member]:
        """The focal point; the admins when there is none; else whoever the unit has."""
        return self.with_role(Role.focal) or self.with_role(Role.admin) or self.members

    def responsible(self, duty: Duty) -> list[Member]:
        """The people a duty's reminders go to."""
        if duty.responsible == Responsible.everyone:
            return self.members
        if duty.responsible == Responsible.focal_admins:
            return self.with_role(Role.focal) + self.with_role(Role.admin)
        if duty.responsible == Responsible.member:
            named = [m for m in self.members if m.id == duty.responsible_member_id]
            return named or self.focal_or_admins
        return self.focal_or_admins

    def escalation(self, duty: Duty, responsible: list[Member]) -> list[Member]:
        """Who hears that the duty is overdue: the admins, when they are not the ones
        responsible (nobody is escalated about themselves); the parent unit's admins when
        the unit has none."""
        if duty.responsible in (Responsible.everyone, Responsible.focal_admins):
            return []  # the admins are responsible themselves: they get the overdue reminder
        admins = self.with_role(Role.admin) or self.parent_admins
        return [m for m in admins if m not in responsible]


def focal_digest_at(
    occ: rec.Occurrence, send_time: time, cal: Calendar, tz: ZoneInfo
) -> datetime:
    """The focal point's "who has not answered" message: the working day before the due day."""
    day = cal.cal.previous_working_day(occ.due_on, inclusive=False)
    return cal.window.at_or_before(datetime.combine(day, send_time, tzinfo=tz), cal.cal)


async def people_of(session: AsyncSession, unit: Unit) -> People:
    members = list(await session.scalars(
        select(Member).where(Member.unit_id == unit.id, Member.active.is_(True)).order_by(Member.id)
    ))
    parent_admins: list[Member] = []
    if unit.parent_id is not None and not any(m.role == Role.admin for m in members):
        parent_admins = list(await session.scalars(
            select(Member).where(Member.unit_id == unit.parent_id, Member.active.is_(True),
                                 Member.role == Role.admin).order_by(Member.id)
        ))
    return People(members, parent_admins, await group_service.of_unit(session, unit.id))


async def expected_sends(
    session: AsyncSession, unit: Unit, start: datetime, end: datetime, cal: Calendar
) -> list[PlannedSend]:
    """Every message the calendar asks for in [start, end) for this unit, whatever was sent."""
    tz = unit.tz
    people = await people_of(session, unit)
    sends: list[PlannedSend] = []
    for duty in await duty_service.applicable(session, unit.id):
        rule = rec.Recurrence.from_dict(duty.recurrence)
        stages = rec.Stage.parse_list(duty.stages)
        send_time = parse_send_time(duty.send_time)
        first: date = (start - _MARGIN).astimezone(tz).date()
        last: date = (end + _MARGIN).astimezone(tz).date()
        for occ in rec.occurrences(rule, first, last, cal.cal, duty.shift):  # type: ignore[arg-type]
            sends.extend(_occurrence_sends(
                duty, occ, stages, send_time, people, start, end, cal, tz
            ))
    sends.sort(key=lambda s: (s.send_at, s.duty.id, s.kind, s.recipient))
    return sends


def _occurrence_sends(
    duty: Duty, occ: rec.Occurrence, stages: tuple[rec.Stage, ...], send_time: time,
    people: People, start: datetime, end: datetime, cal: Calendar, tz: ZoneInfo,
) -> list[PlannedSend]:
    out: list[PlannedSend] = []

    def to(moment: datetime, kind: OutboxKind, stage: str, members: list[Member]) -> None:
        out.extend(
            PlannedSend(moment, kind, stage, duty, occ, outbox.member_recipient(m.id), member=m)
            for m in members if m.created_at <= moment
        )

    responsible = people.responsible(duty)
    # A unit posting in a group hears of duties that concern everyone there, not privately.
    in_group = duty.responsible == Responsible.everyone and bool(people.groups)
    escalate_to = people.escalation(duty, responsible)
    for p in rec.plan_reminders(
        occ, stages, send_time=send_time, window=cal.window, cal=cal.cal, tz=tz
    ):
        if not start <= p.send_at < end:
            continue
        if in_group:
            out.extend(
                PlannedSend(p.send_at, OutboxKind.group, p.stage.name, duty, occ,
                            outbox.group_recipient(g.id), group=g)
                for g in people.groups
            )
        else:
            to(p.send_at, OutboxKind.reminder, p.stage.name, responsible)
        if p.nominal_at.date() > occ.due_on:
            to(p.send_at, OutboxKind.escalation, p.stage.name, escalate_to)
    if duty.responsible == Responsible.everyone:  # who has not answered, for the focal point
        digest_at = focal_digest_at(occ, send_time, cal, tz)
        if start <= digest_at < end:
            to(digest_at, OutboxKind.focal, "digest", people.with_role(Role.focal))
    if not duty.date_confirmed:
        ask_at = cal.window.at_or_before(datetime.combine(
            occ.nominal_due - CONFIRM_AHEAD, send_time, tzinfo=tz), cal.cal)
        if start <= ask_at < end:
            to(ask_at, OutboxKind.confirm, "confirm", people.focal_or_admins)
    return out


async def plan_unit(
    session: AsyncSession, unit: Unit, now: datetime, cal: Calendar,
    lookback: timedelta = LOOKBACK, horizon: timedelta = HORIZON,
) -> int:
    """Insert the unit's outbox rows for [now - lookback, now + horizon). Returns rows added."""
    sends = await expected_sends(session, unit, now - lookback, now + horizon, cal)
    if not sends:
        return 0
    keys = {(s.duty.id, s.occurrence.key): DutyDate(s.duty, s.occurrence) for s in sends}
    await occurrences.store(session, unit.id, keys.values(), now)
    rows = await session.execute(
        select(Occurrence.id, Occurrence.duty_id, Occurrence.key, Occurrence.status).where(
            Occurrence.unit_id == unit.id,
            tuple_(Occurrence.duty_id, Occurrence.key).in_(list(keys)),
        )
    )
    open_ids = {(d, k): i for i, d, k, status in rows if status == OccurrenceStatus.open}
    return await outbox.enqueue(session, [
        outbox.row(open_ids[(s.duty.id, s.occurrence.key)], s.recipient, s.kind, s.stage,
                   s.send_at, now)
        for s in sends if (s.duty.id, s.occurrence.key) in open_ids
    ])


SUMMARY_TIME = time(8, 0)
# A monthly summary still worth sending this long after its moment (downtime).
SUMMARY_LATE = timedelta(days=7)


def summary_at(year: int, month: int, cal: Calendar, tz: ZoneInfo) -> datetime:
    """The monthly summary's moment: 08:00 on the month's first working day (Tết aware)."""
    day = cal.cal.next_working_day(date(year, month, 1))
    return cal.window.at_or_after(datetime.combine(day, SUMMARY_TIME, tzinfo=tz), cal.cal)


async def plan_summary(session: AsyncSession, unit: Unit, now: datetime, cal: Calendar) -> int:
    """Last month's summary to each of the unit's admins, once (a notice: unique per admin,
    kind and month), from shortly before its moment until a week after it."""
    today = unit.today(now)
    send_at = summary_at(today.year, today.month, cal, unit.tz)
    if not send_at - HORIZON <= now <= send_at + SUMMARY_LATE:
        return 0
    last = today.replace(day=1) - timedelta(days=1)
    key = f"{last.year}-{last.month:02d}"
    admins = list(await session.scalars(
        select(Member.id).where(Member.unit_id == unit.id, Member.active.is_(True),
                                Member.role == Role.admin).order_by(Member.id)))
    return await outbox.enqueue_notices(session, [
        outbox.row(None, outbox.member_recipient(member_id), OutboxKind.summary,
                   f"summary-{key}", send_at, now, payload={"unit_id": unit.id, "period": key})
        for member_id in admins
    ])


async def plan(app: AppContext, cal: Calendar | None = None) -> int:
    """Plan every unit; one transaction per unit keeps locks short."""
    cal = cal or app.calendar
    now = app.clock.now()
    async with app.sessions() as session, session.begin():
        await duty_service.install_catalog_everywhere(session, now)
        unit_ids = list(await session.scalars(select(Unit.id).order_by(Unit.id)))
    added = 0
    for unit_id in unit_ids:
        async with app.sessions() as session, session.begin():
            unit = await session.get(Unit, unit_id)
            if unit is not None:
                added += await plan_unit(session, unit, now, cal)
                added += await plan_summary(session, unit, now, cal)
    if added:
        log.info("planned", extra={"rows": added})
    return added
