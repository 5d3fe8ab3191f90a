"""Members of units and their chat identities."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import bindparam, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import (
    ChatAccount,
    Conversation,
    FileLink,
    Invite,
    JoinFailure,
    Member,
    OutboxKind,
    OutboxMessage,
    Role,
)
from bot.services import audit, outbox
from bot.services.audit import Action
from bot.services.tree import subtree_ids

MAX_NAME = 255  # the column's length: a longer display name is cut, not refused

# What each role may do on top of the roles below it.
RANK = {Role.member: 0, Role.focal: 1, Role.admin: 2}


def role_allows(role: Role, needed: Role) -> bool:
    return RANK[Role(role)] >= RANK[needed]


def has_role(member: Member, needed: Role) -> bool:
    return role_allows(Role(member.role), needed)


async def by_id(session: AsyncSession, member_id: int) -> Member | None:
    return await session.get(Member, member_id)


# Built once: every turn looks its sender up (compiled statements are cached by SQLAlchemy
# anyway; building one costs as much as running it on SQLite).
_ACCOUNT = select(ChatAccount).where(ChatAccount.channel == bindparam("channel"),
                                     ChatAccount.external_id == bindparam("external_id"))


async def find_account(session: AsyncSession, channel: str, external_id: str) -> ChatAccount | None:
    """The chat identity, with its member (and the member's unit) loaded."""
    return await session.scalar(_ACCOUNT, {"channel": channel, "external_id": external_id})


def if_active(account: ChatAccount | None) -> ChatAccount | None:
    """The chat identity if it belongs to an active member."""
    return account if account is not None and account.member.active else None


async def active_member_for(
    session: AsyncSession, channel: str, external_id: str
) -> Member | None:
    account = if_active(await find_account(session, channel, external_id))
    return account.member if account is not None else None


async def link_account(
    session: AsyncSession, member: Member, *, channel: str, external_id: str, chat_id: str,
    now: datetime,
) -> None:
    """Give the member this chat identity, unless it already has one there."""
    if await find_account(session, channel, external_id) is None:
        session.add(ChatAccount(member_id=member.id, channel=channel, external_id=external_id,
                                chat_id=chat_id, created_at=now))
        await session.flush()


def mark_reachable(account: ChatAccount) -> None:
    """They wrote to us, so they no longer block the bot: reminders may reach them again."""
    if account.unreachable_since is not None:
        account.unreachable_since = None


async def register(
    session: AsyncSession, *, unit_id: int, role: Role, full_name: str, language: str,
    channel: str, external_id: str, chat_id: str, now: datetime,
) -> Member:
    """Create a member with this chat identity (re-using the identity row of a removed member)."""
    member = Member(
        unit_id=unit_id, role=role.value, full_name=full_name.strip()[:MAX_NAME] or "?",
        language=language, active=True, created_at=now,
    )
    session.add(member)
    await session.flush()
    account = await find_account(session, channel, external_id)
    if account is None:
        session.add(ChatAccount(
            member_id=member.id, channel=channel, external_id=external_id, chat_id=chat_id,
            created_at=now,
        ))
    else:
        account.member_id = member.id
        account.chat_id = chat_id
        account.unreachable_since = None
    await session.flush()
    return member


async def list_members(
    session: AsyncSession, unit_ids: list[int] | None = None, *, include_removed: bool = False
) -> list[Member]:
    query = select(Member).order_by(Member.unit_id, Member.id)
    if unit_ids is not None:
        query = query.where(Member.unit_id.in_(unit_ids))
    if not include_removed:
        query = query.where(Member.active.is_(True))
    return list(await session.scalars(query))


async def manageable(session: AsyncSession, admin: Member, member_id: int) -> Member | None:
    """The member if it lies in the admin's subtree, else None (no hint that it exists)."""
    member = await session.get(Member, member_id)
    if member is None or not member.active:
        return None
    if member.unit_id not in await subtree_ids(session, admin.unit_id):
        return None
    return member


async def remove(
    session: AsyncSession, member: Member, now: datetime, by: int | None = None
) -> None:
    """The member leaves the unit and is told so (by the outbox, in their own language)."""
    member.active = False
    member.removed_at = now
    await session.flush()
    audit.record(session, unit_id=member.unit_id, actor=by, action=Action.member_removed,
                 now=now, member=member.id)
    await outbox.enqueue(session, [outbox.row(
        None, outbox.member_recipient(member.id), OutboxKind.removed,
        f"removed-{now:%Y%m%dT%H%M%S}", now, now, payload={"unit": member.unit.name},
    )])


async def channels_of(session: AsyncSession, member: Member) -> list[str]:
    """The apps the member uses, the first joined first."""
    found = await session.scalars(select(ChatAccount.channel).where(
        ChatAccount.member_id == member.id).order_by(ChatAccount.id))
    return list(dict.fromkeys(found))


async def reachable_accounts(session: AsyncSession, member_ids: Iterable[int]
                             ) -> dict[int, list[ChatAccount]]:
    """Each member's chat accounts not known to be unreachable, the first joined first."""
    found: dict[int, list[ChatAccount]] = {}
    for account in await session.scalars(select(ChatAccount).where(
            ChatAccount.member_id.in_(member_ids), ChatAccount.unreachable_since.is_(None),
    ).order_by(ChatAccount.id)):
        found.setdefault(account.member_id, []).append(account)
    return found


def reminder_channel(member: Member, channels: list[str]) -> str | None:
    """Where reminders go: the member's choice, else the app joined first."""
    if member.preferred_channel in channels:
        return member.preferred_channel
    return channels[0] if channels else None


async def apps_of_unit(session: AsyncSession, unit_id: int) -> dict[str, int]:
    """How many of the unit's active members use each app."""
    rows = await session.execute(
        select(ChatAccount.channel, func.count(func.distinct(ChatAccount.member_id)))
        .join(Member, Member.id == ChatAccount.member_id)
        .where(Member.unit_id == unit_id, Member.active.is_(True))
        .group_by(ChatAccount.channel))
    return {channel: int(n) for channel, n in rows}


def set_role(
    session: AsyncSession, member: Member, role: Role, now: datetime, by: int | None = None
) -> None:
    audit.record(session, unit_id=member.unit_id, actor=by, action=Action.role_changed,
                 now=now, member=member.id, old=member.role, new=role.value)
    member.role = role.value


def forgotten_name(member_id: int) -> str:
    """What stands for a forgotten person's name: their number, in any language."""
    return f"#{member_id}"


async def forget(session: AsyncSession, member: Member, now: datetime, by: int | None = None
                 ) -> None:
    """Remove a person's name and chat identities, and everything addressed to them, while
    their unit's check-ins, answers and report totals stay as they are (the check-ins keep
    the member's number, which no longer leads to a name)."""
    accounts = list(await session.scalars(select(ChatAccount).where(
        ChatAccount.member_id == member.id)))
    for account in accounts:
        await session.execute(delete(Conversation).where(
            Conversation.channel == account.channel,
            Conversation.external_id == account.external_id))
        await session.execute(delete(JoinFailure).where(
            JoinFailure.channel == account.channel,
            JoinFailure.external_id == account.external_id))
        await session.delete(account)
    recipient = outbox.member_recipient(member.id)
    await session.execute(delete(OutboxMessage).where(OutboxMessage.recipient == recipient))
    await session.execute(delete(FileLink).where(FileLink.member_id == member.id))
    await session.execute(delete(Invite).where(Invite.member_id == member.id))
    member.full_name = forgotten_name(member.id)
    member.preferred_channel = None
    if member.active:
        member.active, member.removed_at = False, now
    audit.record(session, unit_id=member.unit_id, actor=by, action=Action.member_forgotten,
                 now=now, member=member.id)
    await session.flush()
