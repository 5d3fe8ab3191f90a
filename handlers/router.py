"""The entry point for every inbound message, whatever the channel."""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from datetime import datetime, timedelta

from bot import metrics
from bot.context import AppContext
from bot.i18n import N_, Translator, normalize_language
from bot.messages import Capabilities, Inbound, Reply, numbered_values
from bot.models import Role
from bot.services import conversations, members
from bot.services.members import has_role
from handlers import (  # noqa: F401  (importing them registers their handlers)
    admin,
    approvals,
    audit,
    checkins,
    deadline,
    duties,
    duty_admin,
    general,
    groups,
    linking,
    mine,
    onboarding,
    reminders,
    reports,
    status,
    targets,
)
from handlers.registry import CHOICES, COMMANDS, STATES, parse_command
from handlers.turn import Turn

log = logging.getLogger(__name__)

_ONLY = {
    Role.focal: N_("Only the focal point and admins can use /{command}."),
    Role.admin: N_("Only admins can use /{command}."),
}


async def handle(app: AppContext, inbound: Inbound, caps: Capabilities) -> list[Reply]:
    """Answer one inbound message. State changes commit together with the replies' facts."""
    started = time.perf_counter()
    try:
        async with app.one_writer():  # turns run side by side (bot.channels.ordering)
            return await _handle(app, inbound, caps)
    finally:
        metrics.HANDLER_SECONDS.labels(inbound.channel).observe(time.perf_counter() - started)


async def _handle(app: AppContext, inbound: Inbound, caps: Capabilities) -> list[Reply]:
    now = app.clock.now()
    try:
        async with app.sessions() as session, session.begin():
            convo, account = await conversations.load_for_turn(
                session, inbound.channel, inbound.user_id, now)
            expired = conversations.expire(
                convo, now, timedelta(hours=app.settings.dialogue_timeout_hours)
            )
            offered = convo.choices
            inbound = _resolve_number(inbound, offered, caps)
            member = account.member if account is not None else None
            language = member.language if member else normalize_language(
                inbound.language_hint, app.settings.default_language
            )
            turn = Turn(app, session, inbound, caps, convo, now, Translator(language), member)
            wrong = False
            if expired and member is not None:
                turn.say(turn._("The unfinished dialogue from before was closed after a long "
                                "pause; nothing from it was saved."))
            if inbound.event == "added_to_group":
                groups.greet(turn)
            elif member is None:
                await onboarding.stranger(turn)
            else:
                assert account is not None
                members.mark_reachable(account)
                wrong = _wrong_number(turn, offered)  # then the choices are kept
                if not wrong:
                    await _member_turn(turn)
            if not wrong:
                if not caps.buttons:
                    convo.choices = numbered_values(turn.replies)
                if convo.state is not None:
                    convo.updated_at = now  # the dialogue is alive: its expiry starts again
                conversations.forget_failures(convo)
        metrics.UPDATES.labels(inbound.channel, "ok").inc()  # once committed
        return [replace(r, lang=turn.t.lang) for r in turn.replies]
    except Exception:
        log.exception("handler_failed", extra={"channel": inbound.channel})
        closed = await _count_failure(app, inbound, now)
        t = Translator(normalize_language(inbound.language_hint, app.settings.default_language))
        if closed:
            text = t.gettext("Sorry, something went wrong on my side again, so I closed this "
                             "dialogue; nothing from it was saved. Please start it again.")
        else:
            text = t.gettext("Sorry, something went wrong on my side. What you entered before "
                             "is kept; please try again in a moment.")
        metrics.UPDATES.labels(inbound.channel, "failed").inc()
        return [Reply(lang=t.lang, text=text)]


async def _count_failure(app: AppContext, inbound: Inbound, now: datetime) -> bool:
    """A dialogue whose turn fails twice in a row is closed, so nobody is stuck in it."""
    try:
        async with app.sessions() as session, session.begin():
            convo = await conversations.load(session, inbound.channel, inbound.user_id, now)
            if convo.state is None or conversations.count_failure(convo) < 2:
                return False
            conversations.clear(convo, now)
            return True
    except Exception:  # the database itself is failing: nothing more to do here
        log.warning("failure_not_counted", extra={"channel": inbound.channel})
        return False


def _wrong_number(turn: Turn, offered: dict[str, str]) -> bool:
    """A number that matches none of the offered choices: say which numbers there are."""
    text = turn.inbound.text.strip()
    if turn.caps.buttons or turn.inbound.choice is not None or not offered:
        return False
    if (turn.convo.state or "").startswith("form:"):
        return False  # the form says which numbers there are, and asks its question again
    if not (text.isascii() and text.isdigit()):
        return False
    turn.say(turn._("Please reply with one of the numbers 1 to {n}.").format(n=len(offered)))
    return True


def _resolve_number(inbound: Inbound, offered: dict[str, str], caps: Capabilities) -> Inbound:
    """On channels without buttons, '2' means the second choice last offered."""
    if caps.buttons or inbound.choice is not None:
        return inbound
    value = offered.get(inbound.text.strip())
    if value is None:
        return inbound
    return Inbound(**{**inbound.__dict__, "choice": value})


async def _member_turn(turn: Turn) -> None:
    assert turn.member is not None
    inbound = turn.inbound
    name = parse_command(inbound.text) if inbound.choice is None else None
    if inbound.choice is not None:
        role, handler = CHOICES.get(inbound.choice.partition(":")[0], (None, None))
        if handler is None or role is None or not has_role(turn.member, role):
            turn.say(turn._("That choice is no longer available. Send /help to start again."))
            return
        await handler(turn)
        return
    if inbound.chat_type == "group":
        # Free text in a group is people talking to each other; check-ins and the rest
        # belong in a private chat, where answers are not shown to everyone.
        cmd = COMMANDS.get(name or "")
        if cmd is not None and cmd.in_groups and has_role(turn.member, cmd.role):
            await cmd.run(turn)
        elif name is not None:
            groups.talk_privately(turn)
        return
    if name is not None:
        cmd = COMMANDS.get(name)
        if cmd is None:
            turn.say(turn._("I don't know that command. Send /help to see what you can do."))
        elif not has_role(turn.member, cmd.role):
            turn.say(turn._(_ONLY[cmd.role]).format(command=cmd.name))
        else:
            await cmd.run(turn)
        return
    if turn.convo.state in STATES:
        await STATES[turn.convo.state](turn)
        return
    if reminders.is_done_word(inbound.text) and await reminders.typed_done(turn):
        return
    turn.say(turn._("I did not understand that. Send /help to see what you can do."))
