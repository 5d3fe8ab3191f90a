"""/duties and /calendar: what a unit must do, in chat and as a calendar file."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from bot.messages import OutFile, Reply
from bot.i18n import N_, Translator
from bot.ics import DutyDate, build_calendar, occurrences_between
from bot.models import Duty, Occurrence, Role
from bot.services import duties as duty_service
from handlers.duty_text import (
    CALENDAR_FILE,
    UPCOMING_DAYS,
    days_left,
    unit_today,
    workdays,
)
from handlers.registry import command
from handlers.turn import Turn
from scheduler import recurrence as rec


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
    t, today = turn.t, unit_today(turn)
    duties = {d.id: d for d in await duty_service.applicable(turn.session, member.unit_id)}
    overdue = await _overdue(turn, duties, today)
    closed = await _closed_keys(turn, today)
    upcoming = [
        item for item in occurrences_between(
            duties.values(), today, today + timedelta(days=UPCOMING_DAYS), workdays(turn)
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




@command("calendar", Role.member, N_("your unit's duty calendar as a file (Google, Outlook)"))
async def calendar_file(turn: Turn) -> None:
    member = turn.member
    assert member is not None
    if not turn.caps.files:
        turn.say(turn._("This chat cannot receive files. Please ask your admin for the "
                        "calendar file, or use /duties."))
        return
    start = unit_today(turn).replace(day=1)
    end = start.replace(year=start.year + 1) - timedelta(days=1)
    duties = await duty_service.applicable(turn.session, member.unit_id)
    content = build_calendar(
        duties, start, end, turn.t.lang, workdays(turn), member.unit.name, now=turn.now
    )
    text = turn._(
        "Duty calendar of {unit}, {start} – {end}. Open the file to add the due dates to your "
        "calendar (Google Calendar: Settings › Import; Outlook: open the file)."
    ).format(unit=member.unit.name, start=turn.t.date(start, "long"),
             end=turn.t.date(end, "long"))
    turn.add(Reply(text=text, file=OutFile(CALENDAR_FILE, content, "text/calendar")))
