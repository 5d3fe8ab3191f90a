"""A unit's duty calendar: the due dates in a date range, and its iCalendar (.ics) export.

The file is what Google Calendar and Outlook import: one all-day event per due date (a
campaign period spans its days), a stable UID per occurrence so a re-import updates instead of
duplicating, and a reminder the day before.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from icalendar import Alarm, Calendar, Event

from bot.i18n import Translator
from bot.models import Duty
from scheduler import recurrence as rec
from scheduler.workdays import WorkCalendar

PRODID = "-//Ban VSTBPN//vstbpn-bot//VI"
CALENDAR_TZ = "Asia/Ho_Chi_Minh"
# A nominal due date this far outside a range may still shift into it (Tết: 9 days off).
_SHIFT_MARGIN = timedelta(days=15)


@dataclass(frozen=True)
class DutyDate:
    """One due date of one duty."""

    duty: Duty
    occurrence: rec.Occurrence

    @property
    def is_range(self) -> bool:
        return self.duty.recurrence.get("kind") == "range"


def occurrences_between(
    duties: Iterable[Duty], start: date, end: date, cal: WorkCalendar
) -> list[DutyDate]:
    """Due dates (after the weekend/holiday shift) in [start, end], by date then duty."""
    found: list[DutyDate] = []
    for duty in duties:
        rule = rec.Recurrence.from_dict(duty.recurrence)
        for occ in rec.occurrences(
            rule, start - _SHIFT_MARGIN, end + _SHIFT_MARGIN, cal, duty.shift  # type: ignore[arg-type]
        ):
            if start <= occ.due_on <= end:
                found.append(DutyDate(duty, occ))
    found.sort(key=lambda d: (d.occurrence.due_on, d.duty.id))
    return found


def next_due(duty: Duty, today: date, cal: WorkCalendar) -> DutyDate | None:
    """The duty's next due date from today (a year and a bit covers any yearly duty)."""
    found = occurrences_between([duty], today, today + timedelta(days=400), cal)
    return found[0] if found else None


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


def _description(item: DutyDate, t: Translator) -> str:
    duty, occ = item.duty, item.occurrence
    lines = []
    if item.is_range:
        lines.append(t.gettext("Period: {start} – {end}").format(
            start=t.date(occ.starts_on, "long"), end=t.date(occ.due_on, "long")
        ))
    lines.append(t.gettext("Due: {date}").format(date=t.date(occ.due_on, "full")))
    if occ.due_on != occ.nominal_due:
        lines.append(t.gettext("(moved from {date}, not a working day)").format(
            date=t.date(occ.nominal_due, "full")
        ))
    if duty.letter_number:
        lines.append(t.gettext("Letter no. {number}").format(number=duty.letter_number))
    lines.append(t.gettext("Reminders: {stages}").format(stages=describe_stages(t, duty.stages)))
    return "\n".join(lines)


def _event(item: DutyDate, t: Translator, stamp: datetime) -> Event:
    duty, occ = item.duty, item.occurrence
    title = duty.title(t.lang)
    event = Event()
    event.add("uid", f"{duty.id}-{occ.key}@vstbpn")
    event.add("dtstamp", stamp)
    event.add("dtstart", occ.starts_on if item.is_range else occ.due_on)
    event.add("dtend", occ.due_on + timedelta(days=1))  # all-day: the end is exclusive
    event.add("summary", title)
    event.add("description", _description(item, t))
    event.add("transp", "TRANSPARENT")  # a duty does not make anyone busy
    alarm = Alarm()
    alarm.add("action", "DISPLAY")
    alarm.add("description", title)
    alarm.add("trigger", timedelta(days=-1))
    event.add_component(alarm)
    return event


def build_calendar(
    duties: Iterable[Duty], start: date, end: date, lang: str, cal: WorkCalendar,
    unit_name: str, *, now: datetime | None = None,
) -> bytes:
    """The .ics file of the duties' due dates in [start, end]; ``now`` stamps the events."""
    t = Translator(lang)
    ical = Calendar()
    ical.add("prodid", PRODID)
    ical.add("version", "2.0")
    ical.add("calscale", "GREGORIAN")
    ical.add("method", "PUBLISH")
    ical.add("x-wr-calname", t.gettext("Duties of {unit}").format(unit=unit_name))
    ical.add("x-wr-timezone", CALENDAR_TZ)
    stamp = (now or datetime.now(UTC)).astimezone(UTC)
    for item in occurrences_between(duties, start, end, cal):
        ical.add_component(_event(item, t, stamp))
    return ical.to_ical()
