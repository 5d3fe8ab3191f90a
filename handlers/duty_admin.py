"""/duty: an admin sees and changes the unit's duties and their reminders."""

from __future__ import annotations

import logging
from typing import Any

from bot.i18n import N_, Translator
from bot.models import Duty, Role
from bot.parsing import parse_int, parse_month_day, parse_month_day_of_month
from bot.services import duties as duty_service
from bot.services.calendar import next_due
from bot.services.duties import SHIFTS, DutyError
from bot.views.duties import SHIFT_TEXTS, describe_rule, shift_note
from handlers.duty_text import MAX_TITLE
from handlers.registry import command
from handlers.turn import Turn
from scheduler import recurrence as rec

log = logging.getLogger(__name__)


USAGE = N_(
    "To change a duty:\n"
    "/duty <code> off (or on)\n"
    "/duty <code> stages -14,-3,0,+2 — days before (-) and after (+) the due date\n"
    "/duty <code> time 09:00 — when reminders go out\n"
    "/duty <code> day 25, /duty <code> month 10 — the due date\n"
    "/duty <code> shift previous | next | none — when the date is a day off\n"
    "To add a duty: /duty add monthly 25 <title> or /duty add yearly 20/10 <title>\n"
    "A deadline from a letter: /deadline"
)


def _settings_line(t: Translator, duty: Duty, *, always_shift: bool = False) -> str:
    line = t.gettext("{rule}; reminders {stages} at {time}").format(
        rule=describe_rule(t, duty.recurrence), stages=duty.stages, time=duty.send_time,
    )
    if always_shift or duty.shift != "previous":  # the default is not repeated on every line
        line += "; " + t.gettext(SHIFT_TEXTS.get(duty.shift, SHIFT_TEXTS["previous"]))
    return line


def _duty_block(t: Translator, duty: Duty, own_unit: int) -> list[str]:
    status = t.gettext("on") if duty.enabled else t.gettext("off")
    lines = [f"{'✅' if duty.enabled else '⏸'} {duty.code} ({status}) — {duty.title(t.lang)}",
             "   " + _settings_line(t, duty)]
    if duty.letter_number:
        lines.append("   " + t.gettext("Letter no. {number}").format(number=duty.letter_number))
    if duty.unit_id != own_unit:
        lines.append("   " + t.gettext("set by a unit above yours for all its units"))
    return lines


@command("duty", Role.admin, N_("see and change your unit's duties and reminders"))
async def duty_admin(turn: Turn) -> None:
    args = turn.args
    if not args:
        await _duty_list(turn)
    elif args[0].lower() == "add":
        await _duty_add(turn)
    else:
        await _duty_change(turn, args[0], args[1:])


async def _duty_list(turn: Turn) -> None:
    member = turn.member
    assert member is not None
    duties = await duty_service.applicable(turn.session, member.unit_id, enabled_only=False)
    lines = [turn._("Duties of {unit}").format(unit=member.unit.name), ""]
    for duty in duties:
        lines += _duty_block(turn.t, duty, member.unit_id)
    lines += ["", turn._("Unless set otherwise, a due date on a day off moves to the working "
                         "day before."), "", turn._(USAGE)]
    turn.say("\n".join(lines))


_ADD_USAGE = N_("To add a duty, write for example:\n/duty add monthly 25 Họp giao ban\n"
                "/duty add yearly 20/10 Kỷ niệm Ngày Phụ nữ Việt Nam")


async def _duty_add(turn: Turn) -> None:
    member = turn.member
    assert member is not None
    words = turn.inbound.text.split(maxsplit=4)  # /duty add <kind> <when> <title>
    kind = words[2].lower() if len(words) > 2 else ""
    when = words[3] if len(words) > 3 else ""
    title = words[4].strip() if len(words) > 4 else ""
    recurrence: rec.Recurrence | None = None
    if kind == "monthly" and (day := parse_month_day_of_month(when)) is not None:
        recurrence = rec.Recurrence.monthly(day)
    elif kind == "yearly" and (month_day := parse_month_day(when)) is not None:
        recurrence = rec.Recurrence.yearly(*month_day)
    if recurrence is None or not title or len(title) > MAX_TITLE:
        turn.say(turn._(_ADD_USAGE))
        return
    try:
        duty = await duty_service.add_custom(
            turn.session, unit_id=member.unit_id, title=title, recurrence=recurrence,
            now=turn.now, window=turn.app.settings.window_times,
        )
    except DutyError:
        turn.say(turn._(_ADD_USAGE))
        return
    log.info("duty_added", extra={"duty_id": duty.id, "unit_id": member.unit_id, "by": member.id})
    _say_duty_done(turn, duty, turn._("Added {code}: {title}").format(code=duty.code,
                                                                        title=title))


def _say_duty_done(turn: Turn, duty: Duty, headline: str) -> None:
    lines = [headline, _settings_line(turn.t, duty, always_shift=True)]
    upcoming = next_due(duty, turn.today, turn.app.calendar.cal) if duty.enabled else None
    if upcoming is not None:
        occ = upcoming.occurrence
        lines.append(turn._("Next due date: {date}").format(date=turn.t.date(occ.due_on, "full")))
        note = shift_note(turn.t, occ.nominal_due, occ.due_on, duty.shift)
        if note:
            lines.append(note)
    elif not duty.enabled:
        lines.append(turn._("It is off: no reminders until you turn it on again."))
    turn.say("\n".join(lines))


# What to say when a change is refused: the rule, then an example.
_CHANGE_HELP = {
    "stages": N_("Lead times are days before (-) or after (+) the due date, from {low} to "
                 "+{high} for this duty, separated by commas. For example: /duty {code} stages "
                 "-14,-3,0,+2"),
    "time": N_("Reminders go out from {start} to {end}: give a time in between, like 09:00. "
               "For example: /duty {code} time 09:00"),
    "day": N_("That day does not fit this duty ({rule}). For example: /duty {code} day 25"),
    "month": N_("That month does not fit this duty ({rule}). For example: /duty {code} month 10"),
    "shift": N_("Say what happens when the due date is a day off: previous, next or none. "
                "For example: /duty {code} shift previous"),
}


def _change_args(duty: Duty, action: str, values: list[str]) -> dict[str, Any] | None:
    """The keyword arguments of duties.update for one change, or None if the input is bad."""
    value = "".join(values)  # "-14, -3, 0" arrives as several words
    if action in ("off", "on") and not values:
        return {"enabled": action == "on"}
    if action == "stages" and value.strip(","):
        return {"stages": value}
    if action == "time" and value:
        return {"send_time": value}
    if action == "shift" and value.lower() in SHIFTS:
        return {"shift": value.lower()}
    if action == "day" and duty.recurrence.get("kind") == "monthly":
        day = parse_month_day_of_month(value)
        return None if day is None else {"day": day}
    if action in ("day", "month") and (number := parse_int(value, 1, 31)) is not None:
        return {action: number}
    return None


async def _duty_change(turn: Turn, code: str, rest: list[str]) -> None:
    member = turn.member
    assert member is not None
    duty = await duty_service.find(turn.session, member.unit_id, code)
    if duty is None:
        turn.say(turn._("{unit} has no duty with the code {code}. Send /duty to see the codes.")
                 .format(unit=member.unit.name, code=code))
        return
    action = rest[0].lower() if rest else ""
    if action not in ("off", "on", *_CHANGE_HELP):
        turn.say("\n".join(_duty_block(turn.t, duty, member.unit_id) + ["", turn._(USAGE)]))
        return
    if action in ("day", "month") and duty.recurrence.get("kind") == "once":
        turn.say(turn._("A deadline's date cannot be changed. Turn it off (/duty {code} off) and "
                        "add the new date with /deadline.").format(code=duty.code))
        return
    changes = _change_args(duty, action, rest[1:])
    try:
        if changes is None:
            raise DutyError(action)
        duty_service.update(duty, **changes, window=turn.app.settings.window_times)
    except DutyError:
        low, high = duty_service.stage_bounds(duty.recurrence)
        start, end = turn.app.settings.window_times
        turn.say(turn._(_CHANGE_HELP.get(action, USAGE)).format(
            code=duty.code, rule=describe_rule(turn.t, duty.recurrence), low=low, high=high,
            start=start.strftime("%H:%M"), end=end.strftime("%H:%M")))
        return
    log.info("duty_changed", extra={"duty_id": duty.id, "change": action, "by": member.id})
    _say_duty_done(turn, duty, turn._("Changed {code}: {title}").format(
        code=duty.code, title=duty.title(turn.t.lang)
    ))
