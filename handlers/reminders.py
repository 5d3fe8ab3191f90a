"""Answers to reminders: done, not applicable, remind me later, check in now."""

from __future__ import annotations

import unicodedata
from datetime import timedelta

from bot.messages import Choice
from bot.models import Answer, Occurrence, OccurrenceStatus, Role
from bot.parsing import parse_id
from bot.services import duties as duty_service
from bot.services import members, occurrences
from bot.services.approvals import REPORT_DUTIES
from bot.services.calendar import DutyDate
from bot.services.duties import answered_by
from bot.services.periods import period_of
from bot.views.duties import duty_title
from bot.views.reminders import answer_choices
from handlers.approvals import send_up
from handlers.checkins import begin_for_occurrence
from handlers.registry import choice
from handlers.turn import Turn

RECENT_DAYS = 14  # "done" answers a reminder sent this recently
MAX_PICK = 8


async def _occurrence(turn: Turn) -> Occurrence | None:
    assert turn.member is not None
    parts = (turn.inbound.choice or "").split(":")
    occ = None
    occurrence_id = parse_id(parts[1]) if len(parts) > 1 else None
    if occurrence_id is not None:
        occ = await occurrences.for_member(turn.session, turn.member, occurrence_id)
    if occ is None:
        turn.say(turn._("That reminder is no longer available. Send /duties to see your duties."))
    return occ


def _title(turn: Turn, occ: Occurrence) -> str:
    return duty_title(turn.t, DutyDate.stored(occ))


async def _already_done(turn: Turn, occ: Occurrence) -> bool:
    """An answered reminder says so (and lets whoever closed it undo) instead of acting."""
    assert turn.member is not None
    if occ.status != OccurrenceStatus.done:
        return False
    title = _title(turn, occ)
    if occ.closed_by == turn.member.id:
        turn.outcome(turn._("You already marked «{title}» done.").format(title=title),
                     [Choice(turn._("↩️ Undo: not done yet"), f"undo:{occ.id}")])
        return True
    closer = await members.by_id(turn.session, occ.closed_by) if occ.closed_by else None
    turn.outcome(turn._("«{title}» was already marked done by {name}. Thank you!").format(
        title=title, name=closer.full_name if closer else "?"))
    return True


@choice("done")
async def done(turn: Turn) -> None:
    occ = await _occurrence(turn)
    if occ is not None:
        await _mark_done(turn, occ)


async def _mark_done(turn: Turn, occ: Occurrence) -> None:
    if await _already_done(turn, occ):
        return
    assert turn.member is not None
    await occurrences.answer(turn.session, occ, turn.member, Answer.done, turn.now)
    turn.outcome(turn._(
        "Thank you! «{title}» is marked done; nobody in your unit will be reminded of it again."
    ).format(title=_title(turn, occ)), [Choice(turn._("↩️ Undo: not done yet"), f"undo:{occ.id}")])


@choice("dutydone")
async def done_from_list(turn: Turn) -> None:
    """✅ under /duties: the due date may not be planned yet, so it is found and stored."""
    assert turn.member is not None
    _prefix, duty_id, key = ((turn.inbound.choice or "").split(":") + ["", ""])[:3]
    item = await duty_service.due_date(turn.session, turn.member.unit_id, parse_id(duty_id),
                                       key, turn.app.calendar.cal)
    if item is None:
        turn.outcome(turn._("That reminder is no longer available. Send /duties to see your "
                            "duties."))
        return
    await _mark_done(turn, await occurrences.ensure(turn.session, turn.member.unit_id, item,
                                                    turn.now))


@choice("undo")
async def undo(turn: Turn) -> None:
    occ = await _occurrence(turn)
    if occ is None:
        return
    assert turn.member is not None
    if occ.status != OccurrenceStatus.done or occ.closed_by != turn.member.id:
        turn.outcome(turn._("There is nothing to undo for «{title}».").format(
            title=_title(turn, occ)))
        return
    await occurrences.reopen(turn.session, occ, turn.member)
    turn.outcome(turn._("«{title}» is open again; reminders continue.").format(
        title=_title(turn, occ)), answer_choices(turn.t, occ.id, answered_by(occ.duty) is not None))


@choice("na")
async def not_applicable(turn: Turn) -> None:
    occ = await _occurrence(turn)
    if occ is None or await _already_done(turn, occ):
        return
    assert turn.member is not None
    await occurrences.answer(turn.session, occ, turn.member, Answer.na, turn.now)
    turn.outcome(turn._("Noted: «{title}» does not apply to you. I will not remind you of it.")
                 .format(title=_title(turn, occ)))


@choice("later")
async def later(turn: Turn) -> None:
    occ = await _occurrence(turn)
    if occ is None or await _already_done(turn, occ):
        return
    assert turn.member is not None
    parts = (turn.inbound.choice or "").split(":")
    days = int(parts[2]) if len(parts) > 2 and parts[2] in ("1", "3") else 1
    tz = turn.member.unit.tz
    cal = turn.app.calendar
    at = cal.window.at_or_after((turn.now + timedelta(days=days)).astimezone(tz), cal.cal)
    await occurrences.remind_later(turn.session, occ, turn.member, at, turn.now)
    turn.outcome(turn._("OK, I will remind you again on {date} at {time}.").format(
        date=turn.t.date(at.date(), "full"), time=turn.t.time(at, tz=tz)))


@choice("checkin")
async def check_in(turn: Turn) -> None:
    """"📝" on a reminder: the duty's check-in form; a duty no check-in answers (a report
    sent up, a deadline from a letter) is answered with Done. The form opens also once the
    duty is done: its figures are still wanted (typed "xong" offers this very button)."""
    occ = await _occurrence(turn)
    if occ is None:
        return
    if not await begin_for_occurrence(turn, occ) and not await _already_done(turn, occ):
        turn.say(turn._("«{title}» has no figures to enter. When it is finished, tap Done."
                        ).format(title=_title(turn, occ)), answer_choices(turn.t, occ.id)[:1])


_DONE_WORDS = {"xong", "đã xong", "xong rồi", "đã xong rồi", "done", "hoàn thành",
               "đã hoàn thành", "đã làm", "đã làm xong", "i did it", "finished"}


def is_done_word(text: str) -> bool:
    norm = " ".join(unicodedata.normalize("NFC", text).casefold().split()).rstrip(".!")
    return norm in _DONE_WORDS


async def typed_done(turn: Turn) -> bool:
    """"xong" / "done" typed after a reminder answers it, as its Done button does; with
    several reminders still open, the member picks which. False when no reminder is open."""
    assert turn.member is not None
    since = turn.now - timedelta(days=RECENT_DAYS)
    found = await occurrences.recently_reminded(turn.session, turn.member, since)
    if not found:
        return False
    if len(found) == 1:
        occ = found[0]
        await _mark_done(turn, occ)
        if answered_by(occ.duty) is not None:
            turn.say(turn._("To add the figures for the report, tap below."),
                     [Choice(turn._("📝 Check in now"), f"checkin:{occ.id}")])
        return True
    turn.say(turn._("Which one is done?"), [
        Choice(_title(turn, occ), f"done:{occ.id}") for occ in found[:MAX_PICK]])
    return True


@choice("sendup", Role.focal)
async def send_report_up(turn: Turn) -> None:
    """"📤" on the six-month or annual report's reminder: /submit for its period."""
    occ = await _occurrence(turn)
    if occ is None:
        return
    year = DutyDate.stored(occ).occurrence.nominal_due.year
    kind = {code: kind for kind, code in REPORT_DUTIES.items()}.get(occ.duty.code)
    if kind is None:
        turn.say(turn._("That reminder is no longer available. Send /duties to see your "
                        "duties."))
        return
    await send_up(turn, period_of(f"{year}-H1" if kind == "half" else str(year)))
