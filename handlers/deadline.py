"""/deadline: an admin adds a deadline from an official letter, as a form."""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

from bot.i18n import N_
from bot.models import Role
from bot.services import duties as duty_service
from bot.services.duties import DutyError
from bot.views.duties import describe_stages, shift_note
from handlers.duty_text import MAX_LETTER, MAX_TITLE
from handlers.forms import Choice, Ctx, Day, Form, Option, Text, not_past, register, start
from handlers.registry import command
from handlers.turn import Turn
from scheduler import recurrence as rec

log = logging.getLogger(__name__)


def _deadline_due(turn: Turn, nominal: date, shift: str = "previous") -> date:
    return rec.shift_due(nominal, turn.app.calendar.cal, shift)  # type: ignore[arg-type]


def _deadline_note(turn: Turn, nominal: date, shift: str = "previous") -> str | None:
    return shift_note(turn.t, nominal, _deadline_due(turn, nominal, shift), shift)


def _due_line(ctx: Ctx, nominal: date) -> str:
    assert ctx.turn is not None
    line = ctx.text(N_("Due: {date}"), date=ctx.t.date(nominal, "full"))
    note = _deadline_note(ctx.turn, nominal)
    return f"{line}\n{note}" if note else line


def _unit(turn: Turn) -> dict[str, Any]:
    assert turn.member is not None
    return {"unit": turn.member.unit.name}


async def _save(turn: Turn, values: dict[str, Any], _context: dict[str, Any]) -> None:
    member = turn.member
    assert member is not None
    nominal: date = values["due"]
    try:
        duty = await duty_service.add_deadline(
            turn.session, unit_id=member.unit_id, title=values["title"], due_on=nominal,
            now=turn.now, letter_number=values["letter"], subtree=values["scope"] == "subtree",
            by=member.id,
        )
    except DutyError:
        log.warning("deadline_refused", extra={"by": member.id})
        turn.say(turn._("Sorry, I could not save this deadline. Please try again with /deadline."))
        return
    log.info("deadline_added", extra={"duty_id": duty.id, "unit_id": member.unit_id,
                                      "by": member.id})
    lines = [turn._("Saved: “{title}” is due {date}.").format(
        title=duty.title_vi, date=turn.t.date(_deadline_due(turn, nominal, duty.shift), "full")
    )]
    note = _deadline_note(turn, nominal, duty.shift)
    if note:
        lines.append(note)
    lines.append(turn._("Reminders: {stages}").format(stages=describe_stages(turn.t, duty.stages)))
    lines.append(turn._("To change it later: /duty."))
    turn.say("\n".join(lines))


DEADLINE = register(Form(
    name="deadline", role=Role.admin, title=N_("A new deadline."),
    summary_title=N_("New deadline:"), args=_unit, on_save=_save,
    fields=(
        Text(name="title", label=N_("What must be done"), max_len=MAX_TITLE,
             question=N_("What must be done? (e.g. Báo cáo sơ kết 6 tháng)"),
             line=lambda ctx, title: ctx.text(N_("Title: {title}"), title=title)),
        Day(name="due", label=N_("Due date"), check_day=not_past, line=_due_line,
            question=N_("When is it due? Write the date like 15/12/2026.")),
        Text(name="letter", label=N_("Letter number"), max_len=MAX_LETTER, optional=True,
             question=N_("The number of the letter that set it, e.g. 123/BNV-VP. "
                         "Send - if there is none."),
             line=lambda ctx, letter: ctx.text(N_("Letter no. {number}"), number=letter)
             if letter else ctx.text(N_("No letter number"))),
        Choice(name="scope", label=N_("Who must meet it"),
               question=N_("Who must meet this deadline?"),
               options=(Option("unit", N_("Only {unit}")),
                        Option("subtree", N_("{unit} and all units below it"))),
               line=lambda ctx, scope: ctx.text(N_("For: {unit} and all units below it"))
               if scope == "subtree" else ctx.text(N_("For: only {unit}"))),
    ),
))


@command("deadline", Role.admin, N_("add a deadline set by an official letter"))
async def deadline(turn: Turn) -> None:
    if turn.inbound.chat_type == "group":  # the dialogue's free-text answers are private
        turn.say(turn._("Please send /deadline to me in a private chat."))
        return
    rest = turn.inbound.text.partition(" ")[2].strip()
    if not rest:
        await start(turn, DEADLINE)
        return
    # /deadline 15/12/2026 | Báo cáo năm | 123/BNV-VP: what is given is not asked again (a
    # bad part is, with its reason); no letter part means no letter.
    parts = [p.strip() for p in rest.split("|")]
    if len(parts) not in (2, 3) or not parts[1]:
        turn.say(turn._("Send /deadline and I will ask step by step, or write it on one line: "
                        "/deadline 15/12/2026 | Báo cáo năm | 123/BNV-VP"))
        return
    letter = parts[2] if len(parts) == 3 and parts[2] not in ("", "-") else None
    await start(turn, DEADLINE, prefill={} if letter else {"letter": None},
                raw={"due": parts[0], "title": parts[1], **({"letter": letter} if letter else {})})
