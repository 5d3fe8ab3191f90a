"""Group chats where a unit's reminders are posted."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import GroupChat, Member, Role
from bot.services.members import has_role
from bot.services.tree import subtree_ids


async def find(session: AsyncSession, channel: str, chat_id: str) -> GroupChat | None:
    return await session.scalar(
        select(GroupChat).where(GroupChat.channel == channel, GroupChat.chat_id == chat_id)
    )


async def register(
    session: AsyncSession, *, unit_id: int, channel: str, chat_id: str, title: str, now: datetime
) -> GroupChat:
    """The group posts this unit's reminders from now on."""
    group = await find(session, channel, chat_id)
    if group is None:
        group = GroupChat(unit_id=unit_id, channel=channel, chat_id=chat_id, title=title,
                          created_at=now)
        session.add(group)
    else:
        group.unit_id, group.title = unit_id, title
    await session.flush()
    return group


async def may_manage(session: AsyncSession, member: Member, group: GroupChat) -> bool:
    """The owning unit's focal point and admins may change its group, and admins above it."""
    if member.unit_id == group.unit_id:
        return has_role(member, Role.focal)
    return has_role(member, Role.admin) and group.unit_id in await subtree_ids(
        session, member.unit_id)


async def unregister(session: AsyncSession, channel: str, chat_id: str) -> None:
    group = await find(session, channel, chat_id)
    if group is not None:
        await session.delete(group)  # through the ORM, so the planner hears of it
        await session.flush()


async def of_unit(session: AsyncSession, unit_id: int) -> list[GroupChat]:
    return list(await session.scalars(
        select(GroupChat).where(GroupChat.unit_id == unit_id).order_by(GroupChat.id)
    ))
