"""One person on both apps: /link gives a one-time code to send from the other app; /channel
chooses which app gets the reminders (the other is used when that one cannot reach them)."""

from __future__ import annotations

from bot.i18n import N_
from bot.messages import Choice
from bot.models import Role
from bot.services import invites, members
from handlers.registry import choice, command
from handlers.turn import Turn

APP_NAMES = {"telegram": "Telegram", "zalo": "Zalo", "console": N_("the console")}


def app_name(turn: Turn, channel: str) -> str:
    return turn._(APP_NAMES.get(channel, channel))


@command("link", Role.member, N_("use me from another app too (Telegram, Zalo)"))
async def link(turn: Turn) -> None:
    assert turn.member is not None
    code = await invites.create_link(turn.session, turn.member, turn.now)
    turn.say(turn._("Open the bot in the other app and send it this code within an hour:\n"
                    "{code}\nIt joins that app to you, {name}; it works once.").format(
        code=code, name=turn.member.full_name))


@command("channel", Role.member, N_("choose which app gets your reminders"))
async def channel(turn: Turn) -> None:
    assert turn.member is not None
    apps = await members.channels_of(turn.session, turn.member)
    current = members.reminder_channel(turn.member, apps)
    lines = [turn._("Reminders go to: {app}.").format(
        app=app_name(turn, current) if current else "—")]
    if len(apps) < 2:
        lines.append(turn._("You use me on one app only. To add another, send /link."))
        turn.say("\n".join(lines))
        return
    lines.append(turn._("If that app cannot reach you, the other is used. Choose:"))
    turn.say("\n".join(lines), [Choice(app_name(turn, c), f"chan:{c}") for c in apps])


@choice("chan")
async def chosen(turn: Turn) -> None:
    assert turn.member is not None
    wanted = (turn.inbound.choice or "").partition(":")[2]
    if wanted not in await members.channels_of(turn.session, turn.member):
        turn.outcome(turn._("That choice is no longer available. Send /help to start again."))
        return
    turn.member.preferred_channel = wanted
    turn.outcome(turn._("Reminders now go to {app}.").format(app=app_name(turn, wanted)))
