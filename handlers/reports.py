"""/summary and /report: what was done in a period and where the targets stand — a few lines
and a chart, or the Word report and the Excel workbook.

The focal point sees the unit; an admin the unit and every unit below it (or one of them:
``/summary 2027 #12``); a member, in /summary, their own check-ins.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from bot.i18n import N_
from bot.messages import OutFile, Reply
from bot.models import Role, Unit
from bot.parsing import parse_id
from bot.services import report_rows, reports, rollup, tree, units
from bot.services.checkins import report_period
from bot.services.members import has_role
from bot.services.periods import Period, period_of
from bot.views.reports import activity_name, file_name, period_name, summary_lines
from handlers.registry import command
from handlers.turn import Turn

log = logging.getLogger(__name__)

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class Scope:
    unit: Unit
    period: Period
    subtree: bool  # an admin's: the unit and every unit below it


def read_period(turn: Turn, words: list[str], default: str) -> Period | None:
    """The period the words name (else ``default``), or None after saying why."""
    try:
        return period_of(" ".join(words) if words else default)
    except ValueError:
        turn.say(turn._("I could not read that period. Please write a year like 2027, a half "
                        "year like 2027-H1, a quarter like 2027-Q1 or a month like 2027-03."))
        return None


async def requested(turn: Turn, default: str) -> Scope | None:
    """The unit and period asked for, if the member may see them; else None after saying why.
    Members reach this only for their own unit (their own check-ins)."""
    member = turn.member
    assert member is not None
    words = list(turn.args)
    unit_id = member.unit_id
    if words and words[-1].startswith("#"):
        unit_id = parse_id(words.pop()) or 0
    period = read_period(turn, words, default)
    if period is None:
        return None
    admin = has_role(member, Role.admin)
    if unit_id != member.unit_id and (
            not admin or unit_id not in await tree.subtree_ids(turn.session, member.unit_id)):
        turn.say(turn._("You can see the summary of your unit and the units below it only."))
        return None
    unit = await units.by_id(turn.session, unit_id)
    assert unit is not None
    return Scope(unit, period, admin)


@command("summary", Role.member, N_("what was done in a period, and the targets"))
async def summary(turn: Turn) -> None:
    assert turn.member is not None
    today = turn.today
    if not has_role(turn.member, Role.focal):
        if turn.args and turn.args[-1].startswith("#"):
            turn.say(turn._("Only admins can see the summary of another unit."))
            return
        period = read_period(turn, turn.args, f"{today.year}-{today.month:02d}")
        if period is not None:
            await _own(turn, period)
        return
    scope = await requested(turn, f"{today.year}-{today.month:02d}")
    if scope is None:
        return
    report = await reports.build(turn.session, scope.unit, scope.period,
                                 turn.app.calendar.cal, subtree=scope.subtree)
    log.info("summary_shown", extra={"unit_id": scope.unit.id, "period": scope.period.key})
    text = "\n".join(summary_lines(turn.t, report))
    if turn.caps.files:
        from bot.exports.report_chart import render_png  # the file libraries load when used

        chart = await asyncio.to_thread(render_png, report)
        turn.add(Reply(text, file=OutFile(file_name(scope.unit, scope.period, "png"), chart,
                                          "image/png")))
    else:
        turn.say(text)


async def _own(turn: Turn, period: Period) -> None:
    assert turn.member is not None
    counts = await rollup.member_counts(turn.session, turn.member.id, period)
    lines = [turn._("📊 Your check-ins — {period}").format(period=period_name(turn.t, period))]
    if not counts:
        lines.append(turn._("You have checked in nothing in this period. Send /checkin to "
                            "record what your unit did."))
    lines += [f"• {activity_name(turn.t, code)}: {turn.t.number(n)}"
              for code, n in sorted(counts.items(), key=lambda item: -item[1])]
    turn.say("\n".join(lines))


def default_report_period(turn: Turn) -> str:
    """The report due next: the six-month one in the first half, else the year's."""
    year, half = report_period(turn.today)
    return f"{year}-H1" if half == 1 else str(year)


@command("report", Role.focal, N_("the period's report as Word and Excel files"))
async def report(turn: Turn) -> None:
    scope = await requested(turn, default_report_period(turn))
    if scope is None:
        return
    if not turn.caps.files:
        turn.say(turn._(
            "This chat cannot receive files. Please send /report from Telegram, or ask the "
            "person who runs the assistant for: vstbpn report --unit {unit} --period {period} "
            "--format docx").format(unit=scope.unit.id, period=scope.period.key))
        return
    built = await reports.build(turn.session, scope.unit, scope.period, turn.app.calendar.cal,
                                subtree=scope.subtree)
    raw = await report_rows.raw_checkins(turn.session, [u.id for u in built.units],
                                         scope.period)
    from bot.exports.report_docx import render_docx  # the file libraries load when used
    from bot.exports.report_xlsx import render_xlsx

    docx = await asyncio.to_thread(render_docx, built)
    xlsx = await asyncio.to_thread(render_xlsx, built, True, raw)
    log.info("report_sent", extra={"unit_id": scope.unit.id, "period": scope.period.key})
    name = period_name(turn.t, scope.period)
    turn.add(Reply(turn._("The report of {unit} for {period}, to complete and sign "
                          "(Nghị định 30/2020 form).").format(unit=scope.unit.name, period=name),
                   file=OutFile(file_name(scope.unit, scope.period, "docx"), docx, DOCX)))
    turn.add(Reply(turn._("Its figures, completeness and every check-in, in Excel."),
                   file=OutFile(file_name(scope.unit, scope.period, "xlsx"), xlsx, XLSX)))
