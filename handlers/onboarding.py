"""Strangers and joining: /start <code>, or the bare code."""

from __future__ import annotations

import logging

from bot.i18n import Translator, normalize_language
from bot.models import Role
from bot.services import invites, members
from bot.services.tree import path_names
from bot.views.roles import role_name
from handlers.registry import command, parse_command
from handlers.turn import Turn

log = logging.getLogger(__name__)


def how_to_join(t: Translator) -> str:
    return t.gettext(
        "Hello! This is the assistant of the Committee for the Advancement of Women "
        "(Ban VSTBPN). It serves committee members only.\n"
        "To join, ask your unit's focal point or admin for an invite link or code, "
        "then open the link or send the code here."
    )


async def stranger(turn: Turn) -> None:
    """Anyone not registered: a code joins them; anything else gets how to join."""
    text = turn.inbound.text.strip()
    if turn.inbound.chat_type == "group":
        return  # never answer strangers in groups: that would spam the group
    code = None
    if parse_command(text) == "start":
        code = turn.args[0] if turn.args else None
    elif invites.looks_like_code(text):
        code = text
    if not code:
        turn.say(how_to_join(turn.t))
        return
    await join(turn, code)


async def join(turn: Turn, code: str) -> None:
    inbound = turn.inbound
    result = await invites.redeem(
        turn.session, code, channel=inbound.channel, external_id=inbound.user_id, now=turn.now
    )
    _ = turn._
    if isinstance(result, invites.RedeemError):
        log.info("join_refused", extra={"channel": inbound.channel, "reason": result.value})
        turn.say({
            invites.RedeemError.unknown: _(
                "This invite code is not valid. Please check it, or ask your admin for a new one."
            ),
            invites.RedeemError.expired: _(
                "This invite has expired. Please ask your admin for a new one."
            ),
            invites.RedeemError.used_up: _(
                "This invite has already been used. Please ask your admin for a new one."
            ),
            invites.RedeemError.throttled: _(
                "Too many wrong codes. Please wait 15 minutes and try again, "
                "or ask your admin for a new invite."
            ),
        }[result])
        return
    if result.member_id is not None:
        await _link(turn, result.member_id)
        return
    language = normalize_language(inbound.language_hint, turn.app.settings.default_language)
    member = await members.register(
        turn.session, unit_id=result.unit.id, role=result.role,
        full_name=inbound.display_name, language=language, channel=inbound.channel,
        external_id=inbound.user_id, chat_id=inbound.chat_id, now=turn.now,
    )
    turn.member = member
    turn.t = Translator(language)
    log.info("member_joined", extra={
        "member_id": member.id, "unit_id": result.unit.id, "role": result.role.value,
        "channel": inbound.channel,
    })
    unit_path = " › ".join(await path_names(turn.session, result.unit))
    turn.say(turn._(
        "Welcome, {name}! You have joined {unit} as {role}.\nSend /help to see what you can do."
    ).format(name=member.full_name, unit=unit_path, role=role_name(turn.t, result.role)))


async def _link(turn: Turn, member_id: int) -> None:
    """A /link code sent from another app: this app joins the same member."""
    inbound = turn.inbound
    member = await members.by_id(turn.session, member_id)
    if member is None or not member.active:
        turn.say(turn._("This invite code is not valid. Please check it, or ask your admin for "
                        "a new one."))
        return
    account = await members.find_account(turn.session, inbound.channel, inbound.user_id)
    if account is None:
        await members.link_account(turn.session, member, channel=inbound.channel,
                                   external_id=inbound.user_id, chat_id=inbound.chat_id,
                                   now=turn.now)
    else:  # the identity of a member who left (a stranger now): it passes to this member
        account.member_id, account.chat_id = member.id, inbound.chat_id
        account.unreachable_since = None
        await turn.session.flush()
    turn.member, turn.t = member, Translator(member.language)
    log.info("account_linked", extra={"member_id": member.id, "channel": inbound.channel})
    turn.say(turn._("Linked: {name}, you can now use me here too. Reminders go to one app "
                    "only; choose which with /channel.").format(name=member.full_name))


@command("start", Role.member, "")
async def start_again(turn: Turn) -> None:
    """A registered member opening the bot (again), perhaps with another invite."""
    assert turn.member is not None
    if turn.args:
        turn.say(turn._(
            "You are already registered at {unit}. If you moved to another unit, "
            "ask your admin to remove you first, then use the new invite."
        ).format(unit=turn.member.unit.name))
        return
    turn.say(turn._("Hello {name}! Send /help to see what you can do.").format(
        name=turn.member.full_name
    ))
