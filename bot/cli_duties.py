"""Command-line duty administration and the calendar dry run (registered on the main app)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any
from zoneinfo import ZoneInfo

import typer

from bot.cli_common import JsonOpt, emit, fail, with_app

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from bot.context import AppContext
    from bot.models import Duty, Unit
    from scheduler import recurrence as rec
    from scheduler.planner import PlannedSend
    from scheduler.workdays import Calendar

# The database, services, views and the planner are imported in the functions that use them:
# `vstbpn --help` should not load them (see bot/cli_common.py).

UnitOpt = Annotated[int, typer.Option("--unit", help="Unit ID (see `unit list`).")]
StagesOpt = Annotated[
    str | None,
    typer.Option(help="Lead times: days before (-) / after (+) the due date, e.g. -14,-3,0,+2."),
]
TimeOpt = Annotated[str | None, typer.Option("--time", help="Send time, HH:MM.")]
ShiftOpt = Annotated[
    str | None, typer.Option(help="A due date on a day off moves: previous, next or none.")
]

DUTY_COLUMNS = ["code", "enabled", "title", "rule", "stages", "time", "shift", "next_due"]
SEND_COLUMNS = ["date", "time", "stage", "kind", "duty", "due", "recipient", "role", "title"]


def parse_iso_day(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        fail(f"{option} must be a date like 2026-12-15, not {text!r}")


async def _unit(session: AsyncSession, unit_id: int) -> Unit:
    from bot.models import Unit

    unit = await session.get(Unit, unit_id)
    if unit is None:
        fail(f"no unit {unit_id}")
    return unit


def _today(ctx: AppContext, unit: Unit) -> date:
    return unit.today(ctx.clock.now())


def duty_row(duty: Duty, lang: str, today: date, cal: Calendar) -> dict[str, Any]:
    from bot.i18n import Translator
    from bot.services.calendar import next_due
    from bot.views.duties import describe_rule

    upcoming = next_due(duty, today, cal.cal)
    return {
        "id": duty.id, "unit_id": duty.unit_id, "code": duty.code, "kind": duty.kind,
        "enabled": duty.enabled, "title": duty.title(lang),
        "rule": describe_rule(Translator("en"), duty.recurrence),
        "recurrence": duty.recurrence, "stages": duty.stages, "time": duty.send_time,
        "shift": duty.shift, "scope": duty.scope, "letter": duty.letter_number,
        "next_due": upcoming.occurrence.due_on.isoformat() if upcoming and duty.enabled
        else None,
    }



def _readable(row: dict[str, Any]) -> dict[str, Any]:
    from bot.views.duties import shorten

    return {**row, "title": shorten(row["title"], 48),
            "enabled": "on" if row["enabled"] else "off",
            "next_due": row["next_due"] or "-"}


def _show_duty(row: dict[str, Any], as_json: bool, verb: str) -> None:
    if as_json:
        emit([row], True, [])
        return
    typer.echo(f"duty {row['code']} {verb}: {row['title']}")
    typer.echo(f"  {'on' if row['enabled'] else 'off'}; {row['rule']}; reminders {row['stages']}"
               f" at {row['time']}; shift {row['shift']}; next due {row['next_due'] or '-'}")


# --- duty ---------------------------------------------------------------------------------


def duty_list(
    unit: UnitOpt,
    enabled_only: Annotated[bool, typer.Option(help="Leave out duties that are off.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """List a unit's duties (its own, and deadlines set for it by units above)."""
    from bot.services import duties as duty_service

    async def work(ctx: AppContext) -> list[dict[str, Any]]:
        async with ctx.sessions() as session:
            found = await _unit(session, unit)
            duties = await duty_service.applicable(
                session, unit, enabled_only=enabled_only
            )
            today, cal = _today(ctx, found), ctx.calendar
            lang = ctx.settings.default_language
            return [duty_row(d, lang, today, cal) for d in duties]

    rows = with_app(work)
    emit(rows if as_json else [_readable(r) for r in rows], as_json, DUTY_COLUMNS)


def duty_set(
    unit: UnitOpt,
    code: Annotated[str, typer.Argument(help="Duty code or ID (see `duty list`).")],
    enable: Annotated[
        bool | None, typer.Option("--enable/--disable", help="Turn the duty on or off.")
    ] = None,
    stages: StagesOpt = None,
    send_time: TimeOpt = None,
    shift: ShiftOpt = None,
    day: Annotated[int | None, typer.Option(help="Due day (monthly: 1..31 or -1 = last).")]
    = None,
    month: Annotated[int | None, typer.Option(help="Due month (yearly duties).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Change one duty of a unit; everything is checked before anything changes."""
    from bot.services import duties as duty_service
    from bot.services.duties import DutyError

    changes = {"enabled": enable, "stages": stages, "send_time": send_time, "shift": shift,
               "day": day, "month": month}
    if all(v is None for v in changes.values()):
        fail("nothing to change: give --enable/--disable, --stages, --time, --shift, --day "
             "or --month")

    async def work(ctx: AppContext) -> dict[str, Any]:
        async with ctx.sessions() as session, session.begin():
            found = await _unit(session, unit)
            duty = await duty_service.find(session, unit, code)
            if duty is None:
                fail(f"unit {unit} has no duty {code!r} (see `vstbpn duty list --unit {unit}`)")
            try:
                duty_service.change(session, duty, by=None, now=ctx.clock.now(), **changes,
                                    window=ctx.settings.window_times)
            except DutyError as exc:
                fail(f"nothing changed: {exc}")
            return duty_row(duty, ctx.settings.default_language, _today(ctx, found),
                            ctx.calendar)

    _show_duty(with_app(work), as_json, "changed")


def _parse_rule(monthly: str | None, yearly: str | None) -> rec.Recurrence:
    from bot.parsing import parse_month_day, parse_month_day_of_month
    from scheduler import recurrence as rec

    if (monthly is None) == (yearly is None):
        fail("give exactly one of --monthly DAY or --yearly DD/MM")
    if monthly is not None:
        day = parse_month_day_of_month(monthly)
        if day is None:
            fail(f"invalid --monthly {monthly!r}: give a day 1..31, or 'last'")
        return rec.Recurrence.monthly(day)
    assert yearly is not None
    month_day = parse_month_day(yearly)
    if month_day is None:
        fail(f"invalid --yearly {yearly!r}: give a day and month like 20/10")
    return rec.Recurrence.yearly(*month_day)


def duty_add(
    unit: UnitOpt,
    title: Annotated[str, typer.Option(help="What must be done.")],
    monthly: Annotated[
        str | None, typer.Option(help="Due every month on this day (1..31, or 'last').")
    ] = None,
    yearly: Annotated[str | None, typer.Option(help="Due every year on DD/MM.")] = None,
    stages: StagesOpt = None,
    send_time: TimeOpt = None,
    shift: ShiftOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Add a custom recurring duty to a unit."""
    from bot.services import duties as duty_service
    from bot.services.duties import DutyError

    rule = _parse_rule(monthly, yearly)
    options = {k: v for k, v in
               {"stages": stages, "send_time": send_time, "shift": shift}.items() if v is not None}

    async def work(ctx: AppContext) -> dict[str, Any]:
        async with ctx.sessions() as session, session.begin():
            found = await _unit(session, unit)
            try:
                duty = await duty_service.add_custom(
                    session, unit_id=unit, title=title, recurrence=rule, now=ctx.clock.now(),
                    window=ctx.settings.window_times, **options,
                )
            except DutyError as exc:
                fail(str(exc))
            return duty_row(duty, ctx.settings.default_language, _today(ctx, found),
                            ctx.calendar)

    _show_duty(with_app(work), as_json, "added")


# --- deadline -----------------------------------------------------------------------------


def deadline_add(
    unit: UnitOpt,
    title: Annotated[str, typer.Option(help="What must be done.")],
    due: Annotated[str, typer.Option(help="Due date as written in the letter, YYYY-MM-DD.")],
    letter: Annotated[str | None, typer.Option(help="The letter's number, e.g. 123/BNV-VP.")]
    = None,
    subtree: Annotated[bool, typer.Option(help="Also for every unit below this one.")] = False,
    stages: StagesOpt = None,
    shift: ShiftOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Add a one-off deadline from an official letter (công văn)."""
    from bot.services import duties as duty_service
    from bot.services.duties import DutyError
    from scheduler import recurrence as rec

    nominal = parse_iso_day(due, "--due")
    options = {k: v for k, v in {"stages": stages, "shift": shift}.items() if v is not None}

    async def work(ctx: AppContext) -> tuple[dict[str, Any], bool]:
        async with ctx.sessions() as session, session.begin():
            found = await _unit(session, unit)
            try:
                duty = await duty_service.add_deadline(
                    session, unit_id=unit, title=title, due_on=nominal, now=ctx.clock.now(),
                    letter_number=letter, subtree=subtree, **options,
                )
            except DutyError as exc:
                fail(str(exc))
            today = _today(ctx, found)
            cal = ctx.calendar
            row = duty_row(duty, ctx.settings.default_language, today, cal)
            due = rec.shift_due(nominal, cal.cal, duty.shift)  # type: ignore[arg-type]
            row["due_on"] = due.isoformat()
            return row, nominal < today

    row, past = with_app(work)
    if past:
        typer.echo(f"warning: {nominal.isoformat()} has already passed", err=True)
    if as_json:
        emit([row], True, [])
        return
    whom = f"unit {unit} and the units below it" if row["scope"] == "subtree" else f"unit {unit}"
    typer.echo(f"deadline {row['code']} added for {whom}: {row['title']}")
    moved = (f" ({nominal.isoformat()} is not a working day, moved to the {row['shift']} one)"
             if row["due_on"] != nominal.isoformat() else "")
    typer.echo(f"  due {row['due_on']}{moved}; reminders {row['stages']} at {row['time']}")


# --- calendar -----------------------------------------------------------------------------


def send_row(send: PlannedSend, tz: ZoneInfo, lang: str) -> dict[str, Any]:
    from bot.i18n import Translator
    from bot.services.calendar import DutyDate
    from bot.views.duties import duty_title

    at = send.send_at.astimezone(tz)
    if send.member is not None:
        recipient, role, member_id = send.member.full_name, send.member.role, send.member.id
    else:
        assert send.group is not None
        recipient, role, member_id = send.group.title or send.recipient, "group", None
    return {
        "send_at": at.isoformat(), "date": at.date().isoformat(), "time": at.strftime("%H:%M"),
        "stage": send.stage, "kind": send.kind, "duty_code": send.duty.code,
        "duty": duty_title(Translator(lang), DutyDate(send.duty, send.occurrence)),
        "due_on": send.occurrence.due_on.isoformat(),
        "recipient": recipient, "member_id": member_id, "role": role,
    }


def _table_row(row: dict[str, Any]) -> dict[str, Any]:
    from bot.views.duties import shorten

    return {**row, "duty": row["duty_code"], "due": row["due_on"],
            "title": shorten(row["duty"], 48)}


def calendar(
    unit: UnitOpt,
    start: Annotated[str, typer.Option("--from", help="First day, YYYY-MM-DD.")],
    end: Annotated[str, typer.Option("--to", help="Last day (included), YYYY-MM-DD.")],
    as_json: JsonOpt = False,
    ics: Annotated[
        Path | None, typer.Option(help="Also write the unit's due dates in the range to this "
                                       ".ics file.")
    ] = None,
) -> None:
    """Dry run: every reminder the planner would send the unit's people in a date range."""
    from bot.exports.ics import build_calendar
    from bot.services import duties as duty_service
    from scheduler.planner import expected_sends

    first, last = parse_iso_day(start, "--from"), parse_iso_day(end, "--to")
    if last < first:
        fail("--to is before --from")

    async def work(ctx: AppContext) -> tuple[list[dict[str, Any]], str, bytes | None]:
        async with ctx.sessions() as session:
            found = await _unit(session, unit)
            tz, cal = ZoneInfo(found.timezone), ctx.calendar
            lang = ctx.settings.default_language
            sends = await expected_sends(
                session, found, datetime.combine(first, time(0), tzinfo=tz),
                datetime.combine(last + timedelta(days=1), time(0), tzinfo=tz), cal,
            )
            content = None
            if ics is not None:
                duties = await duty_service.applicable(session, unit)
                content = build_calendar(duties, first, last, lang, cal.cal, found.name,
                                         now=ctx.clock.now())
            return [send_row(s, tz, lang) for s in sends], found.name, content

    rows, unit_name, content = with_app(work)
    if as_json:
        emit(rows, True, [])
    else:
        emit([_table_row(r) for r in rows], False, SEND_COLUMNS)
        typer.echo(f"{len(rows)} message(s) for unit {unit} ({unit_name}) "
                   f"from {first.isoformat()} to {last.isoformat()}")
    if ics is not None and content is not None:
        ics.write_bytes(content)
        typer.echo(f"calendar written to {ics}", err=as_json)


def register(app: typer.Typer) -> None:
    """Add the duty, deadline and calendar commands to the `vstbpn` app."""
    duty_app = typer.Typer(help="A unit's duties: list, change, add.", no_args_is_help=True)
    deadline_app = typer.Typer(help="Deadlines from official letters.", no_args_is_help=True)
    duty_app.command("list")(duty_list)
    duty_app.command("set")(duty_set)
    duty_app.command("add")(duty_add)
    deadline_app.command("add")(deadline_add)
    app.add_typer(duty_app, name="duty")
    app.add_typer(deadline_app, name="deadline")
    app.command("calendar")(calendar)
