"""Group chats: a unit's group gets unit-wide reminders; personal matters go private."""

from __future__ import annotations

import logging

from sqlalchemy import delete, select

from bot.messages import Choice
from bot.i18n import N_
from bot.models import GroupChat, Role
from bot.services import invites
from handlers.registry import command
from handlers.turn import Turn

log = logging.getLogger(__name__)


def private_link(turn: Turn) -> str | None:
    if turn.inbound.channel == "telegram" and turn.app.telegram_username:
        return invites.deep_link(turn.app.telegram_username)
    return None


def talk_privately(turn: Turn) -> None:
    link = private_link(turn)
    turn.say(
        turn._("Let's do this in a private chat, so the group is not flooded."),
        [Choice(turn._("Open private chat"), "", url=link)] if link else None,
    )


@command("group", Role.focal, N_("in a group chat: post unit reminders here (/group off: stop)"),
         in_groups=True)
async def group(turn: Turn) -> None:
    assert turn.member is not None
    inbound = turn.inbound
    if inbound.chat_type != "group":
        turn.say(turn._("Send /group inside your unit's group chat, after adding me to it."))
        return
    existing = await turn.session.scalar(select(GroupChat).where(
        GroupChat.channel == inbound.channel, GroupChat.chat_id == inbound.chat_id))
    if turn.args[:1] == ["off"]:
        await turn.session.execute(delete(GroupChat).where(
            GroupChat.channel == inbound.channel, GroupChat.chat_id == inbound.chat_id))
        turn.say(turn._("OK, I will no longer post reminders in this group."))
        return
    if existing is None:
        turn.session.add(GroupChat(
            unit_id=turn.member.unit_id, channel=inbound.channel, chat_id=inbound.chat_id,
            title=inbound.chat_title, created_at=turn.now,
        ))
    else:
        existing.unit_id, existing.title = turn.member.unit_id, inbound.chat_title
    log.info("group_registered", extra={"unit_id": turn.member.unit_id, "by": turn.member.id})
    turn.say(turn._(
        "This group will now get the reminders of {unit}. Members answer me in a private chat."
    ).format(unit=turn.member.unit.name))
