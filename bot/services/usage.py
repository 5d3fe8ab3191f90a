"""Messages sent per channel and calendar month, for a plan's monthly quota (Zalo): the
admins of the top units are told at 80 % and at 100 %; past it, reminders go by that
channel only to people who have no other app."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import insert_ignore
from bot.models import ChannelUsage, Member, OutboxKind, Role, Unit
from bot.services import outbox

WARN_AT = (80, 100)  # percent


PLAN_TZ = ZoneInfo("Asia/Ho_Chi_Minh")  # a Vietnamese plan's month, whatever the server's


def month_of(now: datetime) -> str:
    local = now.astimezone(PLAN_TZ)
    return f"{local.year}-{local.month:02d}"


async def sent(session: AsyncSession, channel: str, month: str) -> int:
    found = await session.scalar(select(ChannelUsage.sent).where(
        ChannelUsage.channel == channel, ChannelUsage.month == month))
    return found or 0


async def count(session: AsyncSession, channel: str, n: int, now: datetime,
                limit: int | None) -> int:
    """Add ``n`` messages sent; tell the top admins when a warning level is crossed."""
    month = month_of(now)
    await insert_ignore(session, ChannelUsage, [{"channel": channel, "month": month, "sent": 0}],
                        ["channel", "month"])
    total = (await session.execute(
        update(ChannelUsage).where(ChannelUsage.channel == channel, ChannelUsage.month == month)
        .values(sent=ChannelUsage.sent + n).returning(ChannelUsage.sent))).scalar_one()
    if limit is not None:
        for level in WARN_AT:
            if (total - n) * 100 < level * limit <= total * 100:
                await _warn(session, channel, month, level, total, limit, now)
    return total


async def _warn(session: AsyncSession, channel: str, month: str, level: int, total: int,
                limit: int, now: datetime) -> None:
    admins = await session.scalars(select(Member.id).join(Unit, Unit.id == Member.unit_id).where(
        Unit.parent_id.is_(None), Member.active.is_(True), Member.role == Role.admin))
    await outbox.enqueue_notices(session, [
        outbox.row(None, outbox.member_recipient(member_id), OutboxKind.quota,
                   f"quota-{channel}-{month}-{level}", now, now,
                   payload={"channel": channel, "month": month, "sent": total, "limit": limit})
        for member_id in admins
    ])
