"""/summary: what was done in a period and where the targets stand, in a few lines (and a
chart where the channel shows pictures).

The focal point sees the unit; an admin the unit and every unit below it (or one of them:
``/summary 2027 #12``); a member their own check-ins.
"""

from __future__ import annotations

import logging

from bot.i18n import N_
from bot.models import Role
from bot.parsing import parse_id
from bot.services import reports, rollup, tree, units
from bot.services.members import has_role
from bot.services.periods import Period, period_of
from bot.views.reports import activity_name, period_name, summary_lines
from handlers.registry import command
from handlers.turn import Turn

log = logging.getLogger(__name__)


def _period(turn: Turn, words: list[str]) -> Period | None:
    """The period the words name (default: this month), or None after saying why."""
    if not words:
        today = turn.today
        return period_of(f"{today.year}-{today.month:02d}")
    try:
        return period_of(" ".join(words))
    except ValueError:
        turn.say(turn._("I could not read that period. Please write a year like 2027, a half "
                        "year like 2027-H1, a quarter like 2027-Q1 or a month like 2027-03."))
        return None


@command("summary", Role.member, N_("what was done in a period, and the targets"))
async def summary(turn: Turn) -> None:
    member = turn.member
    assert member is not None
    words = turn.args
    unit_id = member.unit_id
    if words and words[-1].startswith("#"):
        unit_id = parse_id(words.pop()) or 0
    period = _period(turn, words)
    if period is None:
        return
    if not has_role(member, Role.focal):
        if unit_id != member.unit_id:
            turn.say(turn._("Only admins can see the summary of another unit."))
            return
        await _own(turn, period)
        return
    admin = has_role(member, Role.admin)
    if unit_id != member.unit_id and (
            not admin or unit_id not in await tree.subtree_ids(turn.session, member.unit_id)):
        turn.say(turn._("You can see the summary of your unit and the units below it only."))
        return
    unit = await units.by_id(turn.session, unit_id)
    assert unit is not None
    report = await reports.build(turn.session, unit, period, turn.app.calendar.cal,
                                 subtree=admin)
    log.info("summary_shown", extra={"unit_id": unit.id, "period": period.key})
    turn.say("\n".join(summary_lines(turn.t, report)))


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
