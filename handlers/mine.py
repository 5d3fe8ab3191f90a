"""/mine: a member's latest check-ins (the focal point's: the unit's), to see, change or
delete. Buttons are ``mine:<action>:<id>``; the id is checked against who may change it."""

from __future__ import annotations

from bot.i18n import N_
from bot.messages import Choice
from bot.models import Checkin, Role
from bot.parsing import parse_id
from bot.services import checkins, members
from bot.views.duties import shorten
from handlers.checkins import LOCKED, change, describe, headline
from handlers.registry import choice, command
from handlers.turn import Turn

LIST_SIZE = 10


@command("mine", Role.member, N_("your latest check-ins: see, change or delete them"))
async def mine(turn: Turn) -> None:
    assert turn.member is not None
    found = await checkins.recent(turn.session, turn.member, LIST_SIZE)
    if not found:
        turn.say(turn._("There are no check-ins yet. Send /checkin to record what your unit "
                        "did."))
        return
    lines = [turn._("The latest check-ins (newest first). Pick one to see, change or delete "
                    "it:")]
    turn.say("\n".join(lines), [Choice(shorten(headline(turn, c), 60), f"mine:view:{c.id}")
                                for c in found])


async def _checkin(turn: Turn) -> tuple[str, Checkin | None]:
    assert turn.member is not None
    parts = (turn.inbound.choice or "").split(":")
    action = parts[1] if len(parts) > 1 else ""
    checkin_id = parse_id(parts[2]) if len(parts) > 2 else None
    found = None
    if checkin_id is not None:
        found = await checkins.for_member(turn.session, turn.member, checkin_id)
    if found is None:
        turn.outcome(turn._("That check-in can no longer be changed. Send /mine to see yours."))
    return action, found


@choice("mine")
async def on_choice(turn: Turn) -> None:
    action, checkin = await _checkin(turn)
    if checkin is None:
        return
    if action in ("edit", "del", "gone") and await checkins.locked(turn.session, checkin):
        turn.outcome(turn._(LOCKED))
    elif action == "view":
        await _view(turn, checkin)
    elif action == "edit":
        await change(turn, checkin)
    elif action == "del":
        turn.outcome(turn._("Delete “{what}”? Its numbers will leave every report.").format(
            what=headline(turn, checkin)), [
            Choice(turn._("🗑 Yes, delete it"), f"mine:gone:{checkin.id}"),
            Choice(turn._("No, keep it"), f"mine:view:{checkin.id}"),
        ])
    elif action == "gone":
        assert turn.member is not None
        await checkins.remove(turn.session, checkin, by=turn.member.id, now=turn.now)
        turn.outcome(turn._("Deleted: {what}.").format(what=headline(turn, checkin)))
    else:
        turn.outcome(turn._("That choice is no longer available. Send /help to start again."))


async def _view(turn: Turn, checkin: Checkin) -> None:
    lines = [headline(turn, checkin), "", *describe(turn, checkin), ""]
    author = await members.by_id(turn.session, checkin.member_id) if checkin.member_id else None
    tz = turn.member.unit.tz if turn.member else None
    lines.append(turn._("Entered by {name} on {date}.").format(
        name=author.full_name if author else "—",
        date=turn.t.date(checkin.created_at.astimezone(tz).date(), "long")))
    if checkin.updated_at != checkin.created_at:
        lines.append(turn._("Last changed on {date}.").format(
            date=turn.t.date(checkin.updated_at.astimezone(tz).date(), "long")))
    turn.outcome("\n".join(lines), [
        Choice(turn._("✏️ Change"), f"mine:edit:{checkin.id}"),
        Choice(turn._("🗑 Delete"), f"mine:del:{checkin.id}"),
    ])
