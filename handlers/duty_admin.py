"""/duty: an admin sees the unit's duties in words and changes them with buttons.

Nobody types codes or lead-time syntax: a duty is picked from a list, each setting from a few
choices. The old typed forms ("/duty womens_day_0803 off", "/duty add monthly 25 …") still
work for those used to them, but no text shows them.
"""

from __future__ import annotations

import logging
from typing import Any

from bot.i18n import N_, Translator
from bot.messages import Choice
from bot.models import Duty, Member, Responsible, Role
from bot.parsing import parse_id, parse_int, parse_month_day, parse_month_day_of_month
from bot.services import conversations, members
from bot.services import duties as duty_service
from bot.services.calendar import next_due
from bot.services.duties import SHIFTS, DutyError
from bot.views.duties import SHIFT_TEXTS, describe_rule, describe_stages, shift_note, shorten
from handlers.duty_text import MAX_TITLE
from handlers.registry import choice, command, state
from handlers.turn import Turn
from scheduler import recurrence as rec

log = logging.getLogger(__name__)

ST_DATE = "duty:date"
# Lead times offered as choices, by recurrence kind (each shown in words).
STAGE_PRESETS = {
    "monthly": ("-7,0,+2", "-3,0", "0,+2", "-7,-2,0,+2"),
    "range": ("start-7,start,0,+2", "start,0,+2", "start,0"),
    "other": ("-14,-3,0,+2", "-7,0,+2", "-30,-7,0", "-60,-14,0,+2", "-3,0"),
}
TIMES = ("08:00", "09:00", "10:00", "14:00", "16:00")
RESPONSIBLE_TEXTS = {
    Responsible.everyone: N_("everyone in the unit"),
    Responsible.focal: N_("the focal point"),
    Responsible.focal_admins: N_("the focal point and the admins"),
}
SHIFT_CHOICES = {
    "previous": N_("Move to the working day before"),
    "next": N_("Move to the next working day"),
    "none": N_("Keep the date"),
}


def _presets(duty: Duty) -> tuple[str, ...]:
    kind = duty.recurrence.get("kind")
    return STAGE_PRESETS.get(kind if kind in STAGE_PRESETS else "other", ())


def _who(t: Translator, duty: Duty, named: Member | None) -> str:
    if duty.responsible == Responsible.member and named is not None:
        return named.full_name
    return t.gettext(RESPONSIBLE_TEXTS.get(Responsible(duty.responsible),
                                           RESPONSIBLE_TEXTS[Responsible.focal]))


def _settings_lines(t: Translator, duty: Duty, named: Member | None) -> list[str]:
    return [
        t.gettext("When: {rule}").format(rule=describe_rule(t, duty.recurrence)),
        t.gettext("Reminders: {stages}, at {time}").format(
            stages=describe_stages(t, duty.stages), time=duty.send_time),
        t.gettext("Who is reminded: {who}").format(who=_who(t, duty, named)),
        t.gettext(SHIFT_TEXTS.get(duty.shift, SHIFT_TEXTS["previous"])).capitalize(),
    ]


@command("duty", Role.admin, N_("see and change your unit's duties and reminders"))
async def duty_admin(turn: Turn) -> None:
    args = turn.args
    if not args:
        await _duty_list(turn)
    elif args[0].lower() == "add":
        await _duty_add(turn)
    else:
        await _duty_typed(turn, args[0], args[1:])


async def _duty_list(turn: Turn) -> None:
    member = turn.member
    assert member is not None
    t = turn.t
    duties = await duty_service.applicable(turn.session, member.unit_id, enabled_only=False)
    lines = [turn._("Duties of {unit}").format(unit=member.unit.name), ""]
    for duty in duties:
        mark = "✅" if duty.enabled else "⏸ " + t.gettext("(off)")
        lines.append(f"{mark} {duty.title(t.lang)}")
        lines.append("   " + t.gettext("{rule}; reminders {stages}, at {time}").format(
            rule=describe_rule(t, duty.recurrence), stages=describe_stages(t, duty.stages),
            time=duty.send_time))
        if duty.unit_id != member.unit_id:
            lines.append("   " + t.gettext("set by a unit above yours for all its units"))
    lines += ["", turn._("Choose a duty to change it. A deadline from a letter: /deadline")]
    turn.say("\n".join(lines), [
        Choice(shorten(duty.title(t.lang)), f"duty:open:{duty.id}")
        for duty in duties if duty.unit_id == member.unit_id
    ])



async def _show(turn: Turn, duty: Duty, headline: str | None = None) -> None:
    """One duty in words, its next due date, and a button per setting."""
    named = await members.by_id(turn.session, duty.responsible_member_id) \
        if duty.responsible_member_id else None
    lines = [headline or duty.title(turn.t.lang), *_settings_lines(turn.t, duty, named)]
    upcoming = next_due(duty, turn.today, turn.app.calendar.cal) if duty.enabled else None
    if upcoming is not None:
        occ = upcoming.occurrence
        lines.append(turn._("Next due date: {date}").format(date=turn.t.date(occ.due_on, "full")))
        if note := shift_note(turn.t, occ.nominal_due, occ.due_on, duty.shift):
            lines.append(note)
    elif not duty.enabled:
        lines.append(turn._("It is off: no reminders until you turn it on again."))
    _ = turn._
    buttons = [
        Choice(_("⏸ Turn off") if duty.enabled else _("▶️ Turn on"),
               f"duty:{'off' if duty.enabled else 'on'}:{duty.id}"),
        Choice(_("🔔 Reminder days"), f"duty:stages:{duty.id}"),
        Choice(_("🕗 Time"), f"duty:time:{duty.id}"),
        Choice(_("👥 Who is reminded"), f"duty:who:{duty.id}"),
        Choice(_("📅 Day off rule"), f"duty:shift:{duty.id}"),
    ]
    if duty.recurrence.get("kind") in ("monthly", "yearly"):
        buttons.insert(1, Choice(_("📅 Due date"), f"duty:date:{duty.id}"))
    turn.outcome("\n".join(lines), buttons)


@choice("duty", Role.admin)
async def duty_choice(turn: Turn) -> None:
    """duty:<action>:<duty id>[:<value>] — a step of changing one duty of the admin's unit."""
    assert turn.member is not None
    parts = (turn.inbound.choice or "").split(":")[1:] + ["", ""]
    action, duty_id, value = parts[0], parse_id(parts[1]), parts[2]
    duty = await duty_service.of_unit(turn.session, turn.member.unit_id, duty_id)
    if duty is None:
        turn.outcome(turn._("That choice is no longer available. Send /help to start again."))
        return
    _ = turn._
    if action == "open":
        await _show(turn, duty)
    elif action in ("on", "off"):
        await _change(turn, duty, {"enabled": action == "on"})
    elif action == "stages":
        turn.outcome(_("When should reminders go out?"), [
            Choice(describe_stages(turn.t, stages), f"duty:setstages:{duty.id}:{i}")
            for i, stages in enumerate(_presets(duty))])
    elif action == "setstages" and (i := parse_int(value, 0, 20)) is not None \
            and i < len(_presets(duty)):
        await _change(turn, duty, {"stages": _presets(duty)[i]})
    elif action == "time":
        start, end = turn.app.settings.window_times
        turn.outcome(_("At what time?"), [
            Choice(at, f"duty:settime:{duty.id}:{at.replace(':', '')}") for at in TIMES
            if start.strftime("%H:%M") <= at < end.strftime("%H:%M")])
    elif action == "settime" and len(value) == 4:
        await _change(turn, duty, {"send_time": f"{value[:2]}:{value[2:]}"})
    elif action == "shift":
        turn.outcome(_("When the due date is a day off:"), [
            Choice(_(label), f"duty:setshift:{duty.id}:{policy}")
            for policy, label in SHIFT_CHOICES.items()])
    elif action == "setshift" and value in SHIFTS:
        await _change(turn, duty, {"shift": value})
    elif action == "who":
        people = await members.list_members(turn.session, [turn.member.unit_id])
        turn.outcome(_("Who should be reminded?"), [
            *(Choice(_(label).capitalize(), f"duty:setwho:{duty.id}:{who.value}")
              for who, label in RESPONSIBLE_TEXTS.items()),
            *(Choice(m.full_name, f"duty:setwho:{duty.id}:m{m.id}") for m in people[:20]),
        ])
    elif action == "setwho":
        await _set_who(turn, duty, value)
    elif action == "date":
        conversations.enter(turn.convo, ST_DATE, turn.now, duty_id=duty.id)
        monthly = duty.recurrence.get("kind") == "monthly"
        turn.outcome(_("Which day of the month? Write a number from 1 to 31, or “cuối” for the "
                       "last day.") if monthly else
                     _("Which day of the year? Write the day and month, like 20/10."))
    else:
        turn.outcome(_("That choice is no longer available. Send /help to start again."))


async def _set_who(turn: Turn, duty: Duty, value: str) -> None:
    assert turn.member is not None
    if value in Responsible.__members__ and value != Responsible.member:
        await _change(turn, duty, {"responsible": Responsible(value)})
        return
    target = await members.manageable(turn.session, turn.member, parse_id(value[1:]) or 0) \
        if value.startswith("m") else None
    if target is None or target.unit_id != duty.unit_id:
        turn.outcome(turn._("That choice is no longer available. Send /help to start again."))
        return
    await _change(turn, duty, {"responsible": Responsible.member, "member_id": target.id})


@state(ST_DATE)
async def duty_date(turn: Turn) -> None:
    assert turn.member is not None
    duty = await duty_service.of_unit(turn.session, turn.member.unit_id,
                                      turn.convo.data.get("duty_id"))
    conversations.clear(turn.convo, turn.now)
    if duty is None:
        turn.say(turn._("That choice is no longer available. Send /help to start again."))
        return
    text = turn.inbound.text
    changes: dict[str, Any] | None = None
    if duty.recurrence.get("kind") == "monthly":
        day = parse_month_day_of_month(text)
        changes = None if day is None else {"day": day}
    elif (month_day := parse_month_day(text)) is not None:
        changes = {"month": month_day[0], "day": month_day[1]}
    if changes is None:
        conversations.enter(turn.convo, ST_DATE, turn.now, duty_id=duty.id)
        turn.say(turn._("I could not read that date. Please write it like 20/10, or send "
                        "/cancel."))
        return
    await _change(turn, duty, changes)


async def _change(turn: Turn, duty: Duty, changes: dict[str, Any]) -> None:
    assert turn.member is not None
    try:
        duty_service.change(turn.session, duty, by=turn.member.id, now=turn.now, **changes,
                            window=turn.app.settings.window_times)
    except DutyError:
        _refuse(turn, duty, next(iter(changes)))
        return
    log.info("duty_changed", extra={"duty_id": duty.id, "change": sorted(changes),
                                    "by": turn.member.id})
    await _show(turn, duty, turn._("Changed: {title}").format(title=duty.title(turn.t.lang)))


# Why a change was refused, with the allowed range; nothing here shows syntax.
_REFUSED = {
    "stages": N_("Reminders for this duty can go out from {before} days before to {after} days "
                 "after the due date; nothing was changed. Send /duty and choose with the "
                 "buttons."),
    "send_time": N_("Reminders go out from {start} to {end}: choose a time in between; nothing "
                    "was changed. Send /duty and choose with the buttons."),
    "day": N_("That date does not fit this duty ({rule}); nothing was changed. Send /duty and "
              "choose with the buttons."),
}


def _refuse(turn: Turn, duty: Duty, key: str) -> None:
    low, high = duty_service.stage_bounds(duty.recurrence)
    start, end = (at.strftime("%H:%M") for at in turn.app.settings.window_times)
    turn.say(turn._(_REFUSED.get(key, _REFUSED["day"])).format(
        before=-low, after=high, start=start, end=end,
        rule=describe_rule(turn.t, duty.recurrence)))


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
    if kind in ("monthly", "tháng") and (day := parse_month_day_of_month(when)) is not None:
        recurrence = rec.Recurrence.monthly(day)
    elif kind in ("yearly", "năm") and (month_day := parse_month_day(when)) is not None:
        recurrence = rec.Recurrence.yearly(*month_day)
    if recurrence is None or not title or len(title) > MAX_TITLE:
        turn.say(turn._(_ADD_USAGE))
        return
    try:
        duty = await duty_service.add_custom(
            turn.session, unit_id=member.unit_id, title=title, recurrence=recurrence,
            now=turn.now, window=turn.app.settings.window_times, by=member.id,
        )
    except DutyError:
        turn.say(turn._(_ADD_USAGE))
        return
    log.info("duty_added", extra={"duty_id": duty.id, "unit_id": member.unit_id, "by": member.id})
    await _show(turn, duty, turn._("Added: {title}").format(title=title))


# The typed forms of the buttons, for people used to them: "/duty <code> off", "… time 09:00".
_TYPED = {
    "off": lambda duty, value: {"enabled": False} if not value else None,
    "on": lambda duty, value: {"enabled": True} if not value else None,
    "stages": lambda duty, value: {"stages": value} if value.strip(",") else None,
    "time": lambda duty, value: {"send_time": value} if value else None,
    "shift": lambda duty, value: {"shift": value.lower()} if value.lower() in SHIFTS else None,
    "day": lambda duty, value: (
        {"day": d} if (d := parse_month_day_of_month(value) if duty.recurrence.get("kind")
                       == "monthly" else parse_int(value, 1, 31)) is not None else None),
    "month": lambda duty, value: (
        {"month": m} if (m := parse_int(value, 1, 12)) is not None else None),
}


async def _duty_typed(turn: Turn, code: str, rest: list[str]) -> None:
    member = turn.member
    assert member is not None
    duty = await duty_service.find(turn.session, member.unit_id, code)
    action = rest[0].lower() if rest else ""
    if duty is None or action not in _TYPED:
        await _duty_list(turn)
        return
    if action in ("day", "month") and duty.recurrence.get("kind") == "once":
        turn.say(turn._("A deadline's date cannot be changed: turn it off and add the new date "
                        "with /deadline."))
        return
    changes = _TYPED[action](duty, "".join(rest[1:]))  # "-14, -3, 0" arrives as several words
    if changes is None:
        _refuse(turn, duty, {"stages": "stages", "time": "send_time"}.get(action, "day"))
        return
    await _change(turn, duty, changes)
