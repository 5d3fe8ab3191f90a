"""Answers to reminders: done (for the whole unit), not applicable or later (for one member)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import insert_new
from bot.models import (
    Answer,
    Member,
    Occurrence,
    OccurrenceStatus,
    OutboxKind,
    OutboxMessage,
    OutboxStatus,
    Response,
)
from bot.services import outbox
from bot.services.calendar import DutyDate
from scheduler import recurrence as rec


async def store(
    session: AsyncSession, unit_id: int, items: Iterable[DutyDate], now: datetime
) -> None:
    """Store these due dates of the unit as open occurrences, unless stored already."""
    await store_many(session, [(unit_id, item.duty.id, item.occurrence) for item in items], now)


async def store_many(
    session: AsyncSession, items: Iterable[tuple[int, int, rec.Occurrence]], now: datetime
) -> dict[tuple[int, int, str], int]:
    """Store due dates of several units (unit id, duty id, due date) at once, as ``store``;
    returns the ids of those that were new, by (unit id, duty id, key)."""
    return {(unit_id, duty_id, key): occ_id for occ_id, unit_id, duty_id, key in await insert_new(
        session, Occurrence, [
            {"duty_id": duty_id, "unit_id": unit_id, "key": occ.key, "starts_on": occ.starts_on,
             "due_on": occ.due_on, "status": OccurrenceStatus.open, "created_at": now}
            for unit_id, duty_id, occ in items
        ], ["duty_id", "unit_id", "key"], returning=["id", "unit_id", "duty_id", "key"])}


async def ensure(session: AsyncSession, unit_id: int, item: DutyDate, now: datetime) -> Occurrence:
    """The stored occurrence of this due date, created if the planner has not reached it."""
    await store(session, unit_id, [item], now)
    occ = await session.scalar(select(Occurrence).where(
        Occurrence.duty_id == item.duty.id, Occurrence.unit_id == unit_id,
        Occurrence.key == item.occurrence.key))
    assert occ is not None
    return occ


async def for_member(
    session: AsyncSession, member: Member, occurrence_id: int
) -> Occurrence | None:
    """The occurrence if it belongs to the member's unit (callback data can be forged)."""
    occ = await session.get(Occurrence, occurrence_id)
    if occ is None or occ.unit_id != member.unit_id:
        return None
    return occ


async def answer(
    session: AsyncSession, occ: Occurrence, member: Member, answer: str, now: datetime
) -> None:
    response = await session.scalar(
        select(Response).where(
            Response.occurrence_id == occ.id, Response.member_id == member.id
        )
    )
    if response is None:
        session.add(Response(occurrence_id=occ.id, member_id=member.id, answer=answer, at=now))
    else:
        response.answer, response.at = answer, now
    if answer == Answer.done and occ.status == OccurrenceStatus.open:
        occ.status, occ.closed_at, occ.closed_by = OccurrenceStatus.done, now, member.id
    await session.flush()


async def answers_of(session: AsyncSession, occurrence_ids: Iterable[int],
                     member_ids: Iterable[int]) -> dict[tuple[int, int], str]:
    """The members' answers to these occurrences, by (occurrence id, member id)."""
    return {(o, m): a for o, m, a in await session.execute(
        select(Response.occurrence_id, Response.member_id, Response.answer).where(
            Response.occurrence_id.in_(occurrence_ids), Response.member_id.in_(member_ids)))}


async def reopen(session: AsyncSession, occ: Occurrence, member: Member) -> None:
    """Undo "done": the duty is open again, and the member's answer is forgotten."""
    occ.status, occ.closed_at, occ.closed_by = OccurrenceStatus.open, None, None
    await session.execute(delete(Response).where(
        Response.occurrence_id == occ.id, Response.member_id == member.id))
    await session.flush()


async def remind_later(
    session: AsyncSession, occ: Occurrence, member: Member, at: datetime, now: datetime
) -> None:
    """A personal reminder at `at`, replacing any earlier "later" still to come; the regular
    ones before it are held back."""
    await answer(session, occ, member, Answer.later, now)
    await session.execute(
        update(OutboxMessage).where(
            OutboxMessage.occurrence_id == occ.id,
            OutboxMessage.recipient == outbox.member_recipient(member.id),
            OutboxMessage.kind == OutboxKind.later,
            OutboxMessage.status == OutboxStatus.pending,
        ).values(status=OutboxStatus.skipped, last_error="replaced by a newer snooze")
    )
    stage = f"later-{at.astimezone(UTC).strftime('%Y%m%dT%H%MZ')}"
    await outbox.enqueue(session, [
        outbox.row(occ.id, outbox.member_recipient(member.id), OutboxKind.later, stage, at, now)
    ])


async def answers(session: AsyncSession, occurrence_id: int) -> dict[int, str]:
    """member id → latest answer."""
    rows = await session.execute(
        select(Response.member_id, Response.answer).where(Response.occurrence_id == occurrence_id)
    )
    return {member_id: given for member_id, given in rows}


async def unanswered(session: AsyncSession, occ: Occurrence) -> list[Member]:
    """Active members of the unit who have not said done or not applicable."""
    given = await answers(session, occ.id)
    members = await session.scalars(
        select(Member).where(Member.unit_id == occ.unit_id, Member.active.is_(True))
        .order_by(Member.id)
    )
    return [m for m in members if given.get(m.id) not in (Answer.done, Answer.na)]


async def overdue(
    session: AsyncSession, unit_id: int, duty_ids: list[int], today: date
) -> list[Occurrence]:
    """Open occurrences of these duties whose due date has passed, oldest first."""
    return list(await session.scalars(
        select(Occurrence).where(
            Occurrence.unit_id == unit_id, Occurrence.status == OccurrenceStatus.open,
            Occurrence.due_on < today, Occurrence.duty_id.in_(duty_ids),
        ).order_by(Occurrence.due_on, Occurrence.duty_id)
    ))


async def answered_ahead(session: AsyncSession, unit_id: int, today: date) -> set[tuple[int, str]]:
    """(duty id, key) of coming occurrences already closed (done / not applicable)."""
    rows = await session.execute(
        select(Occurrence.duty_id, Occurrence.key).where(
            Occurrence.unit_id == unit_id, Occurrence.status != OccurrenceStatus.open,
            Occurrence.due_on >= today,
        )
    )
    return {(duty_id, key) for duty_id, key in rows}


async def recently_reminded(
    session: AsyncSession, member: Member, since: datetime
) -> list[Occurrence]:
    """Open occurrences of the member's unit that reminders sent to the member since then
    were about, the latest reminded first (what "done" typed after a reminder answers) —
    not those the member said do not apply to them."""
    last = func.max(OutboxMessage.sent_at)
    not_applicable = select(Response.id).where(
        Response.occurrence_id == Occurrence.id, Response.member_id == member.id,
        Response.answer == Answer.na).exists()
    rows = await session.execute(
        select(Occurrence, last).join(OutboxMessage, OutboxMessage.occurrence_id == Occurrence.id)
        .where(OutboxMessage.recipient == outbox.member_recipient(member.id),
               OutboxMessage.kind.in_([OutboxKind.reminder, OutboxKind.later]),
               OutboxMessage.status == OutboxStatus.sent, OutboxMessage.sent_at >= since,
               Occurrence.unit_id == member.unit_id,
               Occurrence.status == OccurrenceStatus.open, ~not_applicable)
        .group_by(Occurrence.id).order_by(last.desc(), Occurrence.id)
    )
    return [occ for occ, _ in rows.unique()]
