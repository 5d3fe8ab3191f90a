"""/audit: what admins did in the admin's units, newest first, a page at a time."""

from __future__ import annotations

from bot.i18n import N_
from bot.messages import Choice
from bot.models import Role
from bot.parsing import parse_id
from bot.services import audit, tree
from bot.views.audit import line
from handlers.registry import choice, command
from handlers.turn import Turn

PAGE = 15


@command("audit", Role.admin, N_("what admins did in your units: invites, roles, duties, "
                                 "targets, report decisions"))
async def show(turn: Turn) -> None:
    await _page(turn, None)


@choice("audit", Role.admin)
async def older(turn: Turn) -> None:
    before = parse_id((turn.inbound.choice or "").partition(":")[2])
    await _page(turn, before)


async def _page(turn: Turn, before_id: int | None) -> None:
    assert turn.member is not None
    unit_ids = await tree.subtree_ids(turn.session, turn.member.unit_id)
    entries = await audit.recent(turn.session, unit_ids, limit=PAGE + 1, before_id=before_id)
    if not entries:
        turn.say(turn._("Nothing is recorded yet.") if before_id is None
                 else turn._("There is nothing older."))
        return
    page = entries[:PAGE]
    names = await audit.names(turn.session, page)
    tz = turn.member.unit.tz
    lines = [turn._("What admins did (newest first):")]
    lines += [line(turn.t, entry, names, tz) for entry in page]
    more = [Choice(turn._("Older entries"), f"audit:{page[-1].id}")] if len(entries) > PAGE else []
    turn.say("\n".join(lines), more)
