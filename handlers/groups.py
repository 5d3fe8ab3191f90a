"""Group chats: a unit's group gets unit-wide reminders; personal matters go private."""

from __future__ import annotations

import logging

from bot.i18n import N_
from bot.messages import Choice
from bot.models import Role
from bot.services import groups, units
from handlers.registry import command
from handlers.turn import Turn

log = logging.getLogger(__name__)


def private_link(turn: Turn) -> str | None:
    return turn.app.deep_link(turn.inbound.channel)


def greet(turn: Turn) -> None:
    """Added to a group: say what the bot does there, and how the unit turns it on."""
    link = private_link(turn)
    turn.say(turn._(
        "Hello! I am the assistant of the Committee for the Advancement of Women. To post this "
        "unit's reminders here, its focal point or an admin sends /group in this group. "
        "Members answer me in a private chat."
    ), [Choice(turn._("Open private chat"), "", url=link)] if link else None)


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
    if not turn.caps.groups and inbound.chat_type != "group":
        turn.say(turn._("Group chats are not available on this app: the bot cannot be added "
                        "to a group here. On Telegram, add me to your unit's group and send "
                        "/group there."))
        return
    if inbound.chat_type != "group":
        turn.say(turn._("Send /group inside your unit's group chat, after adding me to it."))
        return
    existing = await groups.find(turn.session, inbound.channel, inbound.chat_id)
    if existing is not None and not await groups.may_manage(turn.session, turn.member, existing):
        owner = await units.by_id(turn.session, existing.unit_id)
        turn.say(turn._("This group gets the reminders of {unit}; only its focal point or "
                        "admins can change that.").format(unit=owner.name if owner else "?"))
        return
    if turn.args[:1] == ["off"]:
        await groups.unregister(turn.session, inbound.channel, inbound.chat_id)
        turn.say(turn._("OK, I will no longer post reminders in this group."))
        return
    await groups.register(turn.session, unit_id=turn.member.unit_id, channel=inbound.channel,
                          chat_id=inbound.chat_id, title=inbound.chat_title, now=turn.now)
    log.info("group_registered", extra={"unit_id": turn.member.unit_id, "by": turn.member.id})
    turn.say(turn._(
        "This group will now get the reminders of {unit}. Members answer me in a private chat."
    ).format(unit=turn.member.unit.name))
