"""Duty views and duty administration in chat: /duties, /calendar, /deadline, /duty."""

from __future__ import annotations

import logging
import re
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.channels.base import Choice, OutFile, Reply
from bot.i18n import N_, Translator
from bot.ics import DutyDate, build_calendar, describe_stages, occurrences_between
from bot.models import Duty, Occurrence, Role
from bot.services import conversations
from bot.services import duties as duty_service
from bot.services.duties import SHIFTS, DutyError
from handlers.registry import choice, command, state
from handlers.turn import Turn
from scheduler import recurrence as rec
from scheduler.planner import Calendar
from scheduler.workdays import WorkCalendar

log = logging.getLogger(__name__)

UPCOMING_DAYS = 60
CALENDAR_FILE = "lich-nhiem-vu.ics"
MAX_TITLE = 255
MAX_LETTER = 64
# Far enough to find the next due date of any yearly duty.
_NEXT_DUE_HORIZON = timedelta(days=400)

# --- shared bits ----------------------------------------------------------------------------


def _unit_today(turn: Turn) -> date:
    assert turn.member is not None
    return turn.now.astimezone(ZoneInfo(turn.member.unit.timezone)).date()


def _workdays(turn: Turn) -> WorkCalendar:
    return Calendar.from_app(turn.app).cal


def parse_day(text: str) -> date | None:
    """15/12/2026, 5/3/2026, 15.12.2026 or 2026-12-15; None for anything else."""
    text = text.strip()
    if m := re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})", text):
        year, month, day = int(m[1]), int(m[2]), int(m[3])
    elif m := re.fullmatch(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})", text):
        day, month, year = int(m[1]), int(m[2]), int(m[3])
    else:
        return None
    try:
        return date(year, month, day)
    except ValueError:
        return None


def parse_month_day(text: str) -> tuple[int, int] | None:
    """'20/10' → (10, 20): month and day of a yearly duty, checked against a leap year."""
    m = re.fullmatch(r"(\d{1,2})/(\d{1,2})", text.strip())
    if m is None:
        return None
    try:
        rec.Recurrence.yearly(int(m[2]), int(m[1]))
    except ValueError:
        return None
    return int(m[2]), int(m[1])


def parse_month_day_of_month(text: str) -> int | None:
    """Day of a monthly duty: 1..31, or 'last' / -1 for the last day of the month."""
    text = text.strip().lower()
    if text in ("last", "cuối", "cuoi", "-1"):
        return -1
    if text.isdigit() and 1 <= int(text) <= 31:
        return int(text)
    return None


def describe_rule(t: Translator, recurrence: dict[str, Any]) -> str:
    rule = rec.Recurrence.from_dict(recurrence)
    if rule.kind == "monthly":
        if rule.day == -1:
            return t.gettext("every month, on its last day")
        return t.gettext("every month, on day {day}").format(day=rule.day)
    if rule.kind == "yearly":
        return t.gettext("every year on {date}").format(date=f"{rule.day}/{rule.month}")
    if rule.kind == "range":
        return t.gettext("every year from {start} to {end}").format(
            start=f"{rule.start_day}/{rule.start_month}", end=f"{rule.day}/{rule.month}"
        )
    assert rule.on is not None
    return t.gettext("once, on {date}").format(date=t.date(rule.on, "long"))


SHIFT_TEXTS = {
    "previous": N_("a due date on a day off moves to the working day before"),
    "next": N_("a due date on a day off moves to the next working day"),
    "none": N_("the due date stays even on a day off"),
}


def days_left(t: Translator, due: date, today: date) -> str:
    n = (due - today).days
    if n == 0:
        return t.gettext("due today")
    if n > 0:
        return t.ngettext("{n} day left", "{n} days left", n).format(n=n)
    return t.ngettext("{n} day overdue", "{n} days overdue", -n).format(n=-n)


def shift_note(t: Translator, nominal: date, due: date, shift: str) -> str | None:
    """Why a due date is not the written one, e.g. 8/3/2026 is a Sunday → Friday 6/3."""
    if due == nominal:
        return None
    holiday = WorkCalendar(language="en_US" if t.lang == "en" else "vi").holiday_name(nominal)
    values = {"date": t.date(nominal, "long"), "due": t.date(due, "full"),
              "weekday": t.date(nominal, "EEEE"), "holiday": holiday}
    if holiday:
        if shift == "next":
            text = N_("{date} is a public holiday ({holiday}), so it falls due on the next "
                      "working day: {due}.")
        else:
            text = N_("{date} is a public holiday ({holiday}), so it falls due on the working "
                      "day before: {due}.")
    elif shift == "next":
        text = N_("{date} is a {weekday}, so it falls due on the next working day: {due}.")
    else:
        text = N_("{date} is a {weekday}, so it falls due on the working day before: {due}.")
    return t.gettext(text).format(**values)


def next_due(duty: Duty, today: date, cal: WorkCalendar) -> DutyDate | None:
    found = occurrences_between([duty], today, today + _NEXT_DUE_HORIZON, cal)
    return found[0] if found else None


# --- /duties --------------------------------------------------------------------------------


def _duty_line(t: Translator, item: DutyDate, today: date) -> str:
    duty, occ = item.duty, item.occurrence
    parts = [f"• {duty.title(t.lang)}", t.date(occ.due_on, "full"), days_left(t, occ.due_on, today)]
    if item.is_range and occ.starts_on > today:
        parts.append(t.gettext("starts {date}").format(date=t.date(occ.starts_on, "long")))
    if duty.letter_number:
        parts.append(t.gettext("letter no. {number}").format(number=duty.letter_number))
    return " — ".join(parts)


async def _overdue(turn: Turn, duties: dict[int, Duty], today: date) -> list[DutyDate]:
    assert turn.member is not None
    rows = await turn.session.scalars(
        select(Occurrence).where(
            Occurrence.unit_id == turn.member.unit_id, Occurrence.status == "open",
            Occurrence.due_on < today, Occurrence.duty_id.in_(list(duties)),
        ).order_by(Occurrence.due_on, Occurrence.duty_id)
    )
    return [
        DutyDate(duties[o.duty_id], rec.Occurrence(o.key, _nominal(o), o.due_on, o.starts_on))
        for o in rows
    ]


def _nominal(occ: Occurrence) -> date:
    """The written due date: the occurrence key is its ISO form."""
    try:
        return date.fromisoformat(occ.key)
    except ValueError:
        return occ.due_on


async def _closed_keys(turn: Turn, today: date) -> set[tuple[int, str]]:
    """Upcoming occurrences already answered (done / not applicable) are not listed again."""
    assert turn.member is not None
    rows = await turn.session.execute(
        select(Occurrence.duty_id, Occurrence.key).where(
            Occurrence.unit_id == turn.member.unit_id, Occurrence.status != "open",
            Occurrence.due_on >= today,
        )
    )
    return {(duty_id, key) for duty_id, key in rows}


@command("duties", Role.member, N_("your unit's upcoming and overdue duties"))
async def duties_view(turn: Turn) -> None:
    member = turn.member
    assert member is not None
    t, today = turn.t, _unit_today(turn)
    duties = {d.id: d for d in await duty_service.applicable(turn.session, member.unit_id)}
    overdue = await _overdue(turn, duties, today)
    closed = await _closed_keys(turn, today)
    upcoming = [
        item for item in occurrences_between(
            duties.values(), today, today + timedelta(days=UPCOMING_DAYS), _workdays(turn)
        )
        if (item.duty.id, item.occurrence.key) not in closed
    ]
    if not overdue and not upcoming:
        turn.say(turn._("{unit} has no open duties in the next {days} days.").format(
            unit=member.unit.name, days=UPCOMING_DAYS
        ))
        return
    lines = [turn._("Duties of {unit}").format(unit=member.unit.name)]
    if overdue:
        lines += ["", turn._("Overdue:")]
        lines += [_duty_line(t, item, today) for item in overdue]
    lines += ["", turn._("Next {days} days:").format(days=UPCOMING_DAYS)]
    if upcoming:
        lines += [_duty_line(t, item, today) for item in upcoming]
    else:
        lines.append(turn._("nothing due"))
    lines += ["", turn._("/calendar sends these dates as a calendar file.")]
    turn.say("\n".join(lines))


# --- /calendar ------------------------------------------------------------------------------


@command("calendar", Role.member, N_("your unit's duty calendar as a file (Google, Outlook)"))
async def calendar_file(turn: Turn) -> None:
    member = turn.member
    assert member is not None
    if not turn.caps.files:
        turn.say(turn._("This chat cannot receive files. Please ask your admin for the "
                        "calendar file, or use /duties."))
        return
    start = _unit_today(turn).replace(day=1)
    end = start.replace(year=start.year + 1) - timedelta(days=1)
    duties = await duty_service.applicable(turn.session, member.unit_id)
    content = build_calendar(
        duties, start, end, turn.t.lang, _workdays(turn), member.unit.name, now=turn.now
    )
    text = turn._(
        "Duty calendar of {unit}, {start} – {end}. Open the file to add the due dates to your "
        "calendar (Google Calendar: Settings › Import; Outlook: open the file)."
    ).format(unit=member.unit.name, start=turn.t.date(start, "long"),
             end=turn.t.date(end, "long"))
    turn.add(Reply(text=text, file=OutFile(CALENDAR_FILE, content, "text/calendar")))


# --- /deadline ------------------------------------------------------------------------------

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
    today = _unit_today(turn)
    if due < today:
        return turn._("That date has already passed (today is {today}). Please give a date "
                      "from today on, like 15/12/2026.").format(today=turn.t.date(today, "long"))
    return None


def _deadline_due(turn: Turn, nominal: date, shift: str = "previous") -> date:
    (occ,) = rec.occurrences(rec.Recurrence.once(nominal), nominal, nominal, _workdays(turn),
                             shift)  # type: ignore[arg-type]
    return occ.due_on


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


# --- /duty ----------------------------------------------------------------------------------

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
            now=turn.now,
        )
    except DutyError:
        turn.say(turn._(_ADD_USAGE))
        return
    log.info("duty_added", extra={"duty_id": duty.id, "unit_id": member.unit_id, "by": member.id})
    _say_duty_done(turn, duty, turn._("Added {code}: {title}").format(code=duty.code,
                                                                        title=title))


def _say_duty_done(turn: Turn, duty: Duty, headline: str) -> None:
    lines = [headline, _settings_line(turn.t, duty, always_shift=True)]
    upcoming = next_due(duty, _unit_today(turn), _workdays(turn)) if duty.enabled else None
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
    "stages": N_("Lead times are days before (-) or after (+) the due date, separated by "
                 "commas. For example: /duty {code} stages -14,-3,0,+2"),
    "time": N_("The time must look like 09:00 (24-hour clock). For example: /duty {code} time "
               "09:00"),
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
    if action in ("day", "month") and value.isdigit():
        return {action: int(value)}
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
        duty_service.update(duty, **changes)
    except DutyError:
        help_text = _CHANGE_HELP.get(action, USAGE)
        turn.say(turn._(help_text).format(code=duty.code,
                                          rule=describe_rule(turn.t, duty.recurrence)))
        return
    log.info("duty_changed", extra={"duty_id": duty.id, "change": action, "by": member.id})
    _say_duty_done(turn, duty, turn._("Changed {code}: {title}").format(
        code=duty.code, title=duty.title(turn.t.lang)
    ))
