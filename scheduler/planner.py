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
from bot.db import insert_ignore
from bot.models import Duty, GroupChat, Member, Occurrence, OccurrenceStatus, OutboxKind, Role, Unit
from bot.services import duties as duty_service
from bot.services import groups as group_service
from bot.services import outbox
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


def focal_digest_at(
    occ: rec.Occurrence, send_time: time, cal: Calendar, tz: ZoneInfo
) -> datetime:
    """The focal point's "who has not answered" message: the working day before the due day."""
    day = cal.cal.previous_working_day(occ.due_on, inclusive=False)
    return cal.window.at_or_before(datetime.combine(day, send_time, tzinfo=tz), cal.cal)


async def expected_sends(
    session: AsyncSession, unit: Unit, start: datetime, end: datetime, cal: Calendar
) -> list[PlannedSend]:
    """Every message the calendar asks for in [start, end) for this unit, whatever was sent."""
    tz = ZoneInfo(unit.timezone)
    members = list(await session.scalars(
        select(Member).where(Member.unit_id == unit.id, Member.active.is_(True)).order_by(Member.id)
    ))
    groups = await group_service.of_unit(session, unit.id)
    sends: list[PlannedSend] = []
    for duty in await duty_service.applicable(session, unit.id):
        rule = rec.Recurrence.from_dict(duty.recurrence)
        stages = rec.Stage.parse_list(duty.stages)
        send_time = parse_send_time(duty.send_time)
        first: date = (start - _MARGIN).astimezone(tz).date()
        last: date = (end + _MARGIN).astimezone(tz).date()
        for occ in rec.occurrences(rule, first, last, cal.cal, duty.shift):  # type: ignore[arg-type]
            sends.extend(_occurrence_sends(
                duty, occ, stages, send_time, members, groups, start, end, cal, tz
            ))
    sends.sort(key=lambda s: (s.send_at, s.duty.id, s.kind, s.recipient))
    return sends


def _occurrence_sends(
    duty: Duty, occ: rec.Occurrence, stages: tuple[rec.Stage, ...], send_time: time,
    members: list[Member],
    groups: list[GroupChat], start: datetime, end: datetime, cal: Calendar, tz: ZoneInfo,
) -> list[PlannedSend]:
    out: list[PlannedSend] = []
    planned = rec.plan_reminders(
        occ, stages, send_time=send_time, window=cal.window, cal=cal.cal, tz=tz
    )
    for p in planned:
        if not start <= p.send_at < end:
            continue
        overdue = p.nominal_at.date() > occ.due_on
        for m in members:
            if m.created_at <= p.send_at:
                out.append(PlannedSend(p.send_at, OutboxKind.reminder, p.stage.name, duty, occ,
                                       outbox.member_recipient(m.id), member=m))
            if overdue and m.role == Role.admin and m.created_at <= p.send_at:
                out.append(PlannedSend(p.send_at, OutboxKind.escalation, p.stage.name, duty, occ,
                                       outbox.member_recipient(m.id), member=m))
        if not overdue:
            out.extend(
                PlannedSend(p.send_at, OutboxKind.group, p.stage.name, duty, occ,
                            outbox.group_recipient(g.id), group=g)
                for g in groups
            )
    digest_at = focal_digest_at(occ, send_time, cal, tz)
    if start <= digest_at < end:
        out.extend(
            PlannedSend(digest_at, OutboxKind.focal, "digest", duty, occ,
                        outbox.member_recipient(m.id), member=m)
            for m in members if m.role == Role.focal and m.created_at <= digest_at
        )
    return out


async def plan_unit(
    session: AsyncSession, unit: Unit, now: datetime, cal: Calendar,
    lookback: timedelta = LOOKBACK, horizon: timedelta = HORIZON,
) -> int:
    """Insert the unit's outbox rows for [now - lookback, now + horizon). Returns rows added."""
    sends = await expected_sends(session, unit, now - lookback, now + horizon, cal)
    if not sends:
        return 0
    keys = {(s.duty.id, s.occurrence.key): s.occurrence for s in sends}
    await insert_ignore(session, Occurrence, [
        {"duty_id": duty_id, "unit_id": unit.id, "key": key, "starts_on": occ.starts_on,
         "due_on": occ.due_on, "status": OccurrenceStatus.open, "created_at": now}
        for (duty_id, key), occ in keys.items()
    ], ["duty_id", "unit_id", "key"])
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
    if added:
        log.info("planned", extra={"rows": added})
    return added
