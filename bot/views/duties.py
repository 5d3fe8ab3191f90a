"""Duties in words: due dates, recurrence rules, lead times, and why a date moved."""

from __future__ import annotations

from datetime import date
from functools import cache
from typing import Any

from bot.i18n import N_, Translator
from bot.models import DutyKind
from bot.services.calendar import DutyDate
from scheduler import recurrence as rec
from scheduler.workdays import WorkCalendar

SHIFT_TEXTS = {
    "previous": N_("a due date on a day off moves to the working day before"),
    "next": N_("a due date on a day off moves to the next working day"),
    "none": N_("the due date stays even on a day off"),
}


def duty_title(t: Translator, item: DutyDate) -> str:
    """The title of one due date: catalog titles carry its year (and month), as the seeds
    write them ("… năm 2027", "… tháng 3/2027")."""
    duty, due = item.duty, item.occurrence.nominal_due
    title = duty.title(t.lang)
    if duty.kind != DutyKind.catalog:
        return title
    if duty.recurrence.get("kind") == "monthly":
        month = t.date(due, "MMMM y") if t.lang == "en" else f"tháng {due.month}/{due.year}"
        return f"{title} — {month}"
    if t.lang == "en":
        return f"{title}, {due.year}"
    return f"{title} {due.year}" if title.endswith(" năm") else f"{title} năm {due.year}"


def shorten(text: str, width: int = 40) -> str:
    """A title cut to fit a button or a table column."""
    return text if len(text) <= width else text[: width - 1] + "…"


def days_left(t: Translator, due: date, today: date) -> str:
    n = (due - today).days
    if n == 0:
        return t.gettext("due today")
    if n > 0:
        return t.ngettext("{n} day left", "{n} days left", n).format(n=n)
    return t.ngettext("{n} day overdue", "{n} days overdue", -n).format(n=-n)


def due_lines(t: Translator, item: DutyDate, today: date | None = None) -> list[str]:
    """The lines that describe one due date: period, due day (and days left), letter."""
    duty, occ = item.duty, item.occurrence
    lines = []
    if occ.starts_on < occ.due_on:
        lines.append(t.gettext("Period: {range}").format(
            range=t.date_range(occ.starts_on, occ.due_on)))
    due = t.date(occ.due_on, "full")
    if today is None:
        lines.append(t.gettext("Due: {date}").format(date=due))
    else:
        lines.append(t.gettext("Due: {date} ({days})").format(
            date=due, days=days_left(t, occ.due_on, today)))
    if occ.due_on != occ.nominal_due:
        lines.append(t.gettext("(moved from {date}, not a working day)").format(
            date=t.date(occ.nominal_due, "full")))
    if duty.date_confirmed is False:
        lines.append(t.gettext("(an estimated date: it is set by the guiding letter from above)"))
    if duty.letter_number:
        lines.append(t.gettext("Letter no. {number}").format(number=duty.letter_number))
    return lines


def due_line(t: Translator, item: DutyDate, today: date) -> str:
    """One due date on one line, for lists."""
    duty, occ = item.duty, item.occurrence
    parts = [f"• {duty_title(t, item)}", t.date(occ.due_on, "full"),
             days_left(t, occ.due_on, today)]
    if item.is_range and occ.starts_on > today:
        parts.append(t.gettext("starts {date}").format(date=t.date(occ.starts_on, "long")))
    if duty.letter_number:
        parts.append(t.gettext("letter no. {number}").format(number=duty.letter_number))
    return " — ".join(parts)


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


def describe_stage(t: Translator, stage: rec.Stage) -> str:
    n = abs(stage.offset_days)
    if stage.anchor == "start":
        if n == 0:
            return t.gettext("when it starts")
        if stage.offset_days < 0:
            return t.ngettext("{n} day before it starts", "{n} days before it starts", n).format(
                n=n
            )
        return t.ngettext("{n} day after it starts", "{n} days after it starts", n).format(n=n)
    if n == 0:
        return t.gettext("on the due day")
    if stage.offset_days < 0:
        return t.ngettext("{n} day before", "{n} days before", n).format(n=n)
    return t.ngettext("{n} day after", "{n} days after", n).format(n=n)


def describe_stages(t: Translator, stages: str) -> str:
    """'-7,0,+2' → '7 days before, on the due day, 2 days after' in the reader's language."""
    return ", ".join(describe_stage(t, s) for s in rec.Stage.parse_list(stages))


def shift_note(t: Translator, nominal: date, due: date, shift: str) -> str | None:
    """Why a due date is not the written one, e.g. 8/3/2026 is a Sunday → Friday 6/3."""
    if due == nominal:
        return None
    holiday = _holiday_names(t.lang).holiday_name(nominal)
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


@cache
def _holiday_names(lang: str) -> WorkCalendar:
    return WorkCalendar(language="en_US" if lang == "en" else "vi")
