"""A unit's duty calendar as an iCalendar (.ics) file.

The file is what Google Calendar and Outlook import: one all-day event per due date (a
campaign period spans its days), a stable UID per occurrence so a re-import updates instead of
duplicating, and a reminder the day before.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta

from icalendar import Alarm, Calendar, Event

from bot.i18n import Translator
from bot.models import Duty
from bot.services.calendar import DutyDate, occurrences_between
from bot.views.duties import describe_stages, due_lines, duty_title
from scheduler.workdays import WorkCalendar

PRODID = "-//Ban VSTBPN//vstbpn-bot//VI"
CALENDAR_TZ = "Asia/Ho_Chi_Minh"


def _description(item: DutyDate, t: Translator) -> str:
    stages = describe_stages(t, item.duty.stages)
    return "\n".join([*due_lines(t, item), t.gettext("Reminders: {stages}").format(stages=stages)])


def _event(item: DutyDate, t: Translator, stamp: datetime) -> Event:
    duty, occ = item.duty, item.occurrence
    title = duty_title(t, item)
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
