"""Texts and parsing shared by the duty commands (dates, rules, lead times)."""

from __future__ import annotations

import re
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from bot.i18n import N_, Translator
from handlers.turn import Turn
from scheduler import recurrence as rec
from scheduler.planner import Calendar
from scheduler.workdays import WorkCalendar

UPCOMING_DAYS = 60
CALENDAR_FILE = "lich-nhiem-vu.ics"
MAX_TITLE = 255
MAX_LETTER = 64


def unit_today(turn: Turn) -> date:
    assert turn.member is not None
    return turn.now.astimezone(ZoneInfo(turn.member.unit.timezone)).date()


def workdays(turn: Turn) -> WorkCalendar:
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

