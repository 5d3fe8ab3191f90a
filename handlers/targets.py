"""/target: an admin sees the unit's target levels and sets its own (a province may ask
50 % where the strategy asks 60 %); the units below inherit them. Buttons ``tgt:<code>``."""

from __future__ import annotations

import re

from bot.i18n import N_
from bot.messages import Choice
from bot.models import Role
from bot.services import conversations, targets
from bot.views.reports import target_name
from handlers.registry import choice, command, state
from handlers.turn import Turn

ST_LEVEL = "target_level"
DEFAULT_WORDS = {"mặc định", "mac dinh", "default"}


@command("target", Role.admin, N_("the unit's target levels: see and change them"))
async def show(turn: Turn) -> None:
    assert turn.member is not None
    unit = turn.member.unit
    year = turn.today.year
    level_of = await targets.levels(turn.session, unit.id, year)
    lines = [turn._("Targets of {unit} ({year}):").format(unit=unit.name, year=year)]
    for t in targets.TARGETS:
        default = targets.default_level(t, year)
        mark = "" if level_of[t.code] == default else " " + turn._("(strategy: {level}%)").format(
            level=default)
        lines.append(f"• {target_name(turn.t, t.code)}: {level_of[t.code]}%{mark}")
    lines.append(turn._("Pick one to change it for {unit} and the units below it:").format(
        unit=unit.name))
    turn.say("\n".join(lines), [Choice(target_name(turn.t, t.code), f"tgt:{t.code}")
                                for t in targets.TARGETS])


@choice("tgt", Role.admin)
async def picked(turn: Turn) -> None:
    code = (turn.inbound.choice or "").partition(":")[2]
    if code not in targets.BY_CODE:
        turn.say(turn._("That choice is no longer available. Send /help to start again."))
        return
    conversations.enter(turn.convo, ST_LEVEL, turn.now, code=code)
    turn.say(turn._("The new level of “{target}”, in percent (0 to 100)? Write “mặc định” to "
                    "follow the unit above again. (/cancel: stop)").format(
        target=target_name(turn.t, code)))


@state(ST_LEVEL)
async def level(turn: Turn) -> None:
    assert turn.member is not None
    code = str(turn.convo.data.get("code"))
    text = turn.inbound.text.strip().casefold().rstrip("%").strip()
    if text in DEFAULT_WORDS:
        value = None
    elif re.fullmatch(r"[0-9]{1,3}", text) and int(text) <= 100:
        value = int(text)
    else:
        turn.say(turn._("Please write a whole number from 0 to 100, like 50."))
        return
    await targets.set_level(turn.session, turn.member.unit_id, code, value, turn.member.id,
                            turn.now)
    conversations.clear(turn.convo, turn.now)
    name = target_name(turn.t, code)
    if value is None:
        turn.say(turn._("“{target}” follows the unit above again.").format(target=name))
    else:
        turn.say(turn._("“{target}” is now {level}% for {unit} and the units below it.").format(
            target=name, level=value, unit=turn.member.unit.name))
