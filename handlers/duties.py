"""/duties and /calendar: what a unit must do, in chat and as a calendar file."""

from __future__ import annotations

from datetime import timedelta

from bot.i18n import N_
from bot.messages import Choice, OutFile, Reply
from bot.models import Role
from bot.services import duties as duty_service
from bot.services import occurrences
from bot.services.calendar import DutyDate, occurrences_between
from bot.views.duties import due_line, duty_title, shorten
from handlers.duty_text import CALENDAR_FILE, UPCOMING_DAYS
from handlers.registry import command
from handlers.turn import Turn


@command("duties", Role.member, N_("your unit's upcoming and overdue duties"))
async def duties_view(turn: Turn) -> None:
    member = turn.member
    assert member is not None
    t, today = turn.t, turn.today
    duties = {d.id: d for d in await duty_service.applicable(turn.session, member.unit_id)}
    overdue = [DutyDate.stored(o) for o in await occurrences.overdue(
        turn.session, member.unit_id, list(duties), today)]
    closed = await occurrences.answered_ahead(turn.session, member.unit_id, today)
    upcoming = [
        item for item in occurrences_between(
            duties.values(), today, today + timedelta(days=UPCOMING_DAYS), turn.app.calendar.cal
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
        lines += [due_line(t, item, today) for item in overdue]
    lines += ["", turn._("Next {days} days:").format(days=UPCOMING_DAYS)]
    if upcoming:
        lines += [due_line(t, item, today) for item in upcoming]
    else:
        lines.append(turn._("nothing due"))
    lines += ["", turn._("/calendar sends these dates as a calendar file.")]
    if overdue or upcoming:
        lines.append(turn._("Tap a duty below when it is done."))
    turn.say("\n".join(lines), [
        Choice("✅ " + shorten(duty_title(t, item)),
               f"dutydone:{item.duty.id}:{item.occurrence.key}")
        for item in (overdue + upcoming)[:DONE_BUTTONS]
    ])


DONE_BUTTONS = 6



@command("calendar", Role.member, N_("your unit's duty calendar as a file (Google, Outlook)"))
async def calendar_file(turn: Turn) -> None:
    member = turn.member
    assert member is not None
    if not turn.caps.files:
        turn.say(turn._("This chat cannot receive files. Please ask your admin for the "
                        "calendar file, or use /duties."))
        return
    start = turn.today.replace(day=1)
    end = start.replace(year=start.year + 1) - timedelta(days=1)
    duties = await duty_service.applicable(turn.session, member.unit_id)
    from bot.exports.ics import build_calendar  # icalendar loads when a calendar is asked for

    content = build_calendar(
        duties, start, end, turn.t.lang, turn.app.calendar.cal, member.unit.name, now=turn.now
    )
    text = turn._(
        "Duty calendar of {unit}, {range}. Open the file to add the due dates to your "
        "calendar (Google Calendar: Settings › Import; Outlook: open the file)."
    ).format(unit=member.unit.name, range=turn.t.date_range(start, end))
    turn.add(Reply(text=text, file=OutFile(CALENDAR_FILE, content, "text/calendar")))
