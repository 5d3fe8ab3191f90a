"""Reminder messages (rendered when sent, in the reader's language) and the answers to them."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot.messages import Choice, Reply
from bot.i18n import Translator
from bot.models import Member, Occurrence, OutboxMessage, Unit
from bot.services import occurrences
from handlers.duty_text import days_left
from handlers.registry import choice
from handlers.turn import Turn
from scheduler.planner import Calendar


def _duty_lines(t: Translator, occ: Occurrence, today: date) -> list[str]:
    duty = occ.duty
    lines = [f"«{duty.title(t.lang)}»"]
    if occ.starts_on < occ.due_on:
        lines.append(t.gettext("Period: {start} – {end}").format(
            start=t.date(occ.starts_on, "short"), end=t.date(occ.due_on, "short")))
    lines.append(t.gettext("Due: {date} ({days})").format(
        date=t.date(occ.due_on, "full"), days=days_left(t, occ.due_on, today)))
    if duty.letter_number:
        lines.append(t.gettext("Letter: {number}").format(number=duty.letter_number))
    return lines


def answer_choices(t: Translator, occ: Occurrence) -> list[Choice]:
    return [
        Choice(t.gettext("✅ Done"), f"done:{occ.id}"),
        Choice(t.gettext("📝 Check in now"), f"checkin:{occ.id}"),
        Choice(t.gettext("⏰ Remind me in 1 day"), f"later:{occ.id}:1"),
        Choice(t.gettext("⏰ Remind me in 3 days"), f"later:{occ.id}:3"),
        Choice(t.gettext("🚫 Not applicable to me"), f"na:{occ.id}"),
    ]


async def render(
    session: AsyncSession, row: OutboxMessage, t: Translator, now: datetime,
    bot_link: str | None = None,
) -> Reply | None:
    """The message for one outbox row, or None when there is nothing left to say."""
    occ = row.occurrence
    unit = await session.get(Unit, occ.unit_id)
    assert unit is not None
    today = now.astimezone(ZoneInfo(unit.timezone)).date()
    body = _duty_lines(t, occ, today)
    if row.kind in ("reminder", "later"):
        head = t.gettext("🔔 Reminder") if occ.due_on >= today else t.gettext("⚠️ Overdue")
        return Reply("\n".join([head, *body]), tuple(answer_choices(t, occ)), lang=t.lang)
    if row.kind == "group":
        text = "\n".join([t.gettext("📣 Reminder for {unit}").format(unit=unit.name), *body,
                          t.gettext("Members: answer me in a private chat.")])
        link = (Choice(t.gettext("Open private chat"), "", url=bot_link),) if bot_link else ()
        return Reply(text, link, lang=t.lang)
    missing = await occurrences.unanswered(session, occ)
    names = "\n".join(f"• {m.full_name}" for m in missing)
    if row.kind == "focal":
        if not missing:
            return None
        text = "\n".join([t.gettext("📋 Not answered yet, before the deadline:"), *body, names])
        return Reply(text, lang=t.lang)
    if row.kind == "escalation":
        text = [t.gettext("⚠️ Overdue in {unit}, not marked done:").format(unit=unit.name), *body]
        if missing:
            text += [t.gettext("Not answered:"), names]
        return Reply("\n".join(text), tuple(answer_choices(t, occ)[:1]), lang=t.lang)
    if row.kind == "unreachable":
        member = await session.get(Member, int(row.stage.removeprefix("m")))
        name = member.full_name if member else "?"
        text = t.gettext(
            "I cannot reach {name} any more (they blocked the bot or left the chat). "
            "Please remind them another way about:"
        ).format(name=name)
        return Reply("\n".join([text, *body]), lang=t.lang)
    raise ValueError(f"unknown outbox kind {row.kind!r}")


async def _occurrence(turn: Turn) -> Occurrence | None:
    assert turn.member is not None
    parts = (turn.inbound.choice or "").split(":")
    occ = None
    if len(parts) > 1 and parts[1].isdigit():
        occ = await occurrences.for_member(turn.session, turn.member, int(parts[1]))
    if occ is None:
        turn.say(turn._("That reminder is no longer available. Send /duties to see your duties."))
    return occ


@choice("done")
async def done(turn: Turn) -> None:
    occ = await _occurrence(turn)
    if occ is None:
        return
    assert turn.member is not None
    title = occ.duty.title(turn.t.lang)
    if occ.status == "done" and occ.closed_by != turn.member.id:
        closer = await turn.session.get(Member, occ.closed_by) if occ.closed_by else None
        turn.say(turn._("«{title}» was already marked done by {name}. Thank you!").format(
            title=title, name=closer.full_name if closer else "?"))
        return
    await occurrences.answer(turn.session, occ, turn.member, "done", turn.now)
    turn.say(turn._(
        "Thank you! «{title}» is marked done; nobody in your unit will be reminded of it again."
    ).format(title=title))


@choice("na")
async def not_applicable(turn: Turn) -> None:
    occ = await _occurrence(turn)
    if occ is None:
        return
    assert turn.member is not None
    await occurrences.answer(turn.session, occ, turn.member, "na", turn.now)
    turn.say(turn._("Noted: «{title}» does not apply to you. I will not remind you of it.").format(
        title=occ.duty.title(turn.t.lang)))


@choice("later")
async def later(turn: Turn) -> None:
    occ = await _occurrence(turn)
    if occ is None:
        return
    assert turn.member is not None
    parts = (turn.inbound.choice or "").split(":")
    days = int(parts[2]) if len(parts) > 2 and parts[2] in ("1", "3") else 1
    tz = ZoneInfo(turn.member.unit.timezone)
    cal = Calendar.from_app(turn.app)
    at = cal.window.at_or_after((turn.now + timedelta(days=days)).astimezone(tz), cal.cal)
    await occurrences.remind_later(turn.session, occ, turn.member, at, turn.now)
    turn.say(turn._("OK, I will remind you again on {date} at {time}.").format(
        date=turn.t.date(at.date(), "full"), time=turn.t.time(at, tz=tz)))


@choice("checkin")
async def check_in(turn: Turn) -> None:
    occ = await _occurrence(turn)
    if occ is None:
        return
    turn.say(turn._(
        "Check-ins in chat are coming soon. When «{title}» is finished, tap Done."
    ).format(title=occ.duty.title(turn.t.lang)), answer_choices(turn.t, occ)[:1])
