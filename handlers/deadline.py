"""/deadline: an admin adds a deadline from an official letter, step by step."""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

from bot.i18n import N_
from bot.messages import Choice
from bot.models import Role
from bot.parsing import parse_day
from bot.services import conversations
from bot.services import duties as duty_service
from bot.services.duties import DutyError
from bot.views.duties import describe_stages, shift_note
from handlers.duty_text import MAX_LETTER, MAX_TITLE
from handlers.registry import choice, command, state
from handlers.turn import Turn
from scheduler import recurrence as rec

log = logging.getLogger(__name__)


ST_TITLE, ST_DUE, ST_LETTER, ST_SCOPE, ST_CONFIRM = (
    "deadline:title", "deadline:due", "deadline:letter", "deadline:scope", "deadline:confirm"
)


def _step(turn: Turn, name: str, **changes: Any) -> None:
    """Move the dialogue to ``name``, keeping what was entered so far."""
    conversations.enter(turn.convo, name, turn.now, **{**turn.convo.data, **changes})


def _ask_due(turn: Turn) -> None:
    turn.say(turn._("When is it due? Write the date like 15/12/2026."))


def _ask_letter(turn: Turn) -> None:
    turn.say(turn._("The number of the letter that set it, e.g. 123/BNV-VP. "
                    "Send - if there is none."))


def _ask_scope(turn: Turn) -> None:
    assert turn.member is not None
    unit = turn.member.unit.name
    turn.say(turn._("Who must meet this deadline?"), [
        Choice(turn._("Only {unit}").format(unit=unit), "deadline:scope:unit"),
        Choice(turn._("{unit} and all units below it").format(unit=unit),
               "deadline:scope:subtree"),
    ])


def _due_problem(turn: Turn, due: date | None) -> str | None:
    if due is None:
        return turn._("I could not read that date. Please write it like 15/12/2026.")
    today = turn.today
    if due < today:
        return turn._("That date has already passed (today is {today}). Please give a date "
                      "from today on, like 15/12/2026.").format(today=turn.t.date(today, "long"))
    return None


def _deadline_due(turn: Turn, nominal: date, shift: str = "previous") -> date:
    return rec.shift_due(nominal, turn.app.calendar.cal, shift)  # type: ignore[arg-type]


def _deadline_note(turn: Turn, nominal: date, shift: str = "previous") -> str | None:
    return shift_note(turn.t, nominal, _deadline_due(turn, nominal, shift), shift)


def _summary(turn: Turn) -> None:
    assert turn.member is not None
    data, t = turn.convo.data, turn.t
    nominal = date.fromisoformat(data["due"])
    unit = turn.member.unit.name
    lines = [
        turn._("New deadline:"),
        turn._("Title: {title}").format(title=data["title"]),
        turn._("Due: {date}").format(date=t.date(nominal, "full")),
        *([note] if (note := _deadline_note(turn, nominal)) else []),
        turn._("Letter no. {number}").format(number=data["letter"]) if data.get("letter")
        else turn._("No letter number"),
        turn._("For: {unit} and all units below it").format(unit=unit)
        if data.get("scope") == "subtree" else turn._("For: only {unit}").format(unit=unit),
        "",
        turn._("Save it?"),
    ]
    turn.say("\n".join(lines), [Choice(turn._("Save"), "deadline:save"),
                                Choice(turn._("Cancel"), "deadline:cancel")])


@command("deadline", Role.admin, N_("add a deadline set by an official letter"))
async def deadline(turn: Turn) -> None:
    if turn.inbound.chat_type == "group":  # the dialogue's free-text answers are private
        turn.say(turn._("Please send /deadline to me in a private chat."))
        return
    rest = turn.inbound.text.partition(" ")[2].strip()
    if not rest:
        conversations.enter(turn.convo, ST_TITLE, turn.now)
        turn.say(turn._("A new deadline. What must be done? (e.g. Báo cáo sơ kết 6 tháng)\n"
                        "Send /cancel to stop at any time."))
        return
    await _deadline_one_line(turn, rest)


async def _deadline_one_line(turn: Turn, rest: str) -> None:
    """/deadline 15/12/2026 | Báo cáo năm | 123/BNV-VP — then only the scope is asked."""
    parts = [p.strip() for p in rest.split("|")]
    due = parse_day(parts[0])
    title = parts[1] if len(parts) > 1 else ""
    letter = parts[2] if len(parts) > 2 and parts[2] != "-" else ""
    if len(parts) > 3 or not title or len(title) > MAX_TITLE or len(letter) > MAX_LETTER:
        turn.say(turn._("Send /deadline and I will ask step by step, or write it on one line: "
                        "/deadline 15/12/2026 | Báo cáo năm | 123/BNV-VP"))
        return
    problem = _due_problem(turn, due)
    if problem:
        turn.say(problem)
        return
    assert due is not None
    conversations.enter(turn.convo, ST_SCOPE, turn.now, title=title, due=due.isoformat(),
                        letter=letter or None)
    _ask_scope(turn)


@state(ST_TITLE)
async def deadline_title(turn: Turn) -> None:
    title = turn.inbound.text.strip()
    if not title or len(title) > MAX_TITLE:
        turn.say(turn._("Please write a title of at most {max} characters.").format(max=MAX_TITLE))
        return
    _step(turn, ST_DUE, title=title)
    _ask_due(turn)


@state(ST_DUE)
async def deadline_due(turn: Turn) -> None:
    due = parse_day(turn.inbound.text)
    problem = _due_problem(turn, due)
    if problem:
        turn.say(problem)
        return
    assert due is not None
    _step(turn, ST_LETTER, due=due.isoformat())
    _ask_letter(turn)


@state(ST_LETTER)
async def deadline_letter(turn: Turn) -> None:
    letter = turn.inbound.text.strip()
    if len(letter) > MAX_LETTER:
        turn.say(turn._("That is too long for a letter number (at most {max} characters).")
                 .format(max=MAX_LETTER))
        return
    _step(turn, ST_SCOPE, letter=None if letter in ("", "-") else letter)
    _ask_scope(turn)


@state(ST_SCOPE)
async def deadline_scope_text(turn: Turn) -> None:
    _ask_scope(turn)


@state(ST_CONFIRM)
async def deadline_confirm_text(turn: Turn) -> None:
    _summary(turn)


@choice("deadline", Role.admin)
async def deadline_choice(turn: Turn) -> None:
    action = (turn.inbound.choice or "").split(":")[1:]
    convo = turn.convo
    if action == ["cancel"] and convo.state and convo.state.startswith("deadline:"):
        conversations.clear(convo, turn.now)
        turn.say(turn._("Cancelled. Nothing was changed."))
    elif action[:1] == ["scope"] and convo.state == ST_SCOPE and action[1:] in (["unit"],
                                                                                 ["subtree"]):
        _step(turn, ST_CONFIRM, scope=action[1])
        _summary(turn)
    elif action == ["save"] and convo.state == ST_CONFIRM:
        await _save_deadline(turn)
    else:
        turn.say(turn._("That choice is no longer available. Send /help to start again."))


async def _save_deadline(turn: Turn) -> None:
    member, data = turn.member, turn.convo.data
    assert member is not None
    nominal = date.fromisoformat(data["due"])
    problem = _due_problem(turn, nominal)
    if problem:  # confirmed a day too late
        _step(turn, ST_DUE)
        turn.say(problem)
        return
    try:
        duty = await duty_service.add_deadline(
            turn.session, unit_id=member.unit_id, title=data["title"], due_on=nominal,
            now=turn.now, letter_number=data.get("letter"), subtree=data.get("scope") == "subtree",
        )
    except DutyError:
        log.warning("deadline_refused", extra={"by": member.id})
        turn.say(turn._("Sorry, I could not save this deadline. Please try again with /deadline."))
        conversations.clear(turn.convo, turn.now)
        return
    conversations.clear(turn.convo, turn.now)
    log.info("deadline_added", extra={"duty_id": duty.id, "unit_id": member.unit_id,
                                      "by": member.id})
    lines = [turn._("Saved: “{title}” is due {date}.").format(
        title=duty.title_vi, date=turn.t.date(_deadline_due(turn, nominal, duty.shift), "full")
    )]
    note = _deadline_note(turn, nominal, duty.shift)
    if note:
        lines.append(note)
    lines.append(turn._("Reminders: {stages}").format(stages=describe_stages(turn.t, duty.stages)))
    lines.append(turn._("Code {code}: change it with /duty {code}.").format(code=duty.code))
    turn.say("\n".join(lines))
