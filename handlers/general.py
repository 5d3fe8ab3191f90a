"""Commands every member has: /help, /lang, /whoami, /cancel."""

from __future__ import annotations

from bot.config import LANGUAGES
from bot.i18n import N_, Translator
from bot.messages import Choice
from bot.models import Role
from bot.services import conversations
from bot.services.members import RANK, has_role
from bot.services.tree import path_names
from bot.views.roles import role_name
from handlers.common import LANGUAGE_NAMES
from handlers.registry import COMMANDS, choice, command
from handlers.turn import Turn


@command("help", Role.member, N_("what I can do for you"))
async def help_(turn: Turn) -> None:
    assert turn.member is not None
    lines = [turn._("Commands you can use:")]
    for cmd in sorted(COMMANDS.values(), key=lambda c: RANK[c.role]):
        if cmd.help and has_role(turn.member, cmd.role):
            lines.append(f"/{cmd.name} — {turn._(cmd.help)}")
    turn.say("\n".join(lines))


@command("lang", Role.member, N_("change language (Tiếng Việt / English)"))
async def lang(turn: Turn) -> None:
    if turn.args:
        await _set_language(turn, turn.args[0].lower())
        return
    turn.say(
        turn._("Choose your language:"),
        [Choice(LANGUAGE_NAMES[code], f"lang:{code}") for code in LANGUAGES],
    )


@choice("lang")
async def lang_picked(turn: Turn) -> None:
    await _set_language(turn, (turn.inbound.choice or "").partition(":")[2])


async def _set_language(turn: Turn, code: str) -> None:
    assert turn.member is not None
    if code not in LANGUAGES:
        turn.say(turn._("I don't know that language. Choose one of: {codes}.").format(
            codes=", ".join(LANGUAGES)
        ))
        return
    turn.member.language = code
    turn.t = Translator(code)
    turn.say(turn._("Language set to English."))


@command("whoami", Role.member, N_("your name, unit and role"))
async def whoami(turn: Turn) -> None:
    member = turn.member
    assert member is not None
    _ = turn._
    turn.say("\n".join([
        _("Name: {name}").format(name=member.full_name),
        _("Unit: {unit}").format(unit=" › ".join(await path_names(turn.session, member.unit))),
        _("Role: {role}").format(role=role_name(turn.t, member.role)),
        _("Language: {language}").format(language=LANGUAGE_NAMES[turn.t.lang]),
        _("Member number: {id}").format(id=member.id),
    ]))


@command("cancel", Role.member, N_("stop what we are doing"))
async def cancel(turn: Turn) -> None:
    if turn.convo.state is None:
        turn.say(turn._("There is nothing to cancel."))
        return
    conversations.clear(turn.convo, turn.now)
    turn.say(turn._("Cancelled. Nothing was changed."))
