"""Admin commands: members of the admin's subtree, and invites."""

from __future__ import annotations

import logging

from bot.i18n import N_
from bot.messages import Choice
from bot.models import Role
from bot.parsing import parse_id
from bot.services import conversations, invites, members
from bot.services.members import has_role
from bot.services.tree import subtree_ids
from handlers.common import role_name
from handlers.registry import choice, command
from handlers.turn import Turn

log = logging.getLogger(__name__)

ST_REMOVE = "remove:confirm"


@command("members", Role.admin, N_("list members of your units"))
async def list_members(turn: Turn) -> None:
    assert turn.member is not None
    unit_ids = await subtree_ids(turn.session, turn.member.unit_id)
    found = await members.list_members(turn.session, unit_ids)
    lines = [turn._("Members ({count}):").format(count=len(found))]
    for m in found:
        lines.append(f"#{m.id} {m.full_name} — {role_name(turn.t, m.role)} — {m.unit.name}")
    lines.append(turn._("To remove someone: /remove <number>"))
    turn.say("\n".join(lines))


@command("remove", Role.admin, N_("remove a member: /remove <number>"))
async def remove(turn: Turn) -> None:
    assert turn.member is not None
    _ = turn._
    arg = turn.args[0] if turn.args else ""
    target_id = parse_id(arg)
    if target_id is None:
        turn.say(_("Please give the member's number, e.g. /remove 12. See /members."))
        return
    target = await members.manageable(turn.session, turn.member, target_id)
    if target is None:
        turn.say(_("There is no member #{id} in your units.").format(id=target_id))
        return
    if target.id == turn.member.id:
        turn.say(_("You cannot remove yourself. Ask another admin."))
        return
    # The question stays open until answered; any later answer to it finds it closed.
    conversations.enter(turn.convo, ST_REMOVE, turn.now, member_id=target.id)
    turn.say(
        _("Remove {name} ({unit})?").format(name=target.full_name, unit=target.unit.name),
        [Choice(_("Yes, remove"), f"remove:yes:{target.id}"), Choice(_("No"), "remove:no")],
    )


@choice("remove", Role.admin)
async def remove_confirmed(turn: Turn) -> None:
    assert turn.member is not None
    _prefix, answer, member_id = ((turn.inbound.choice or "").split(":") + ["", ""])[:3]
    asked = turn.convo.data.get("member_id") if turn.convo.state == ST_REMOVE else None
    if asked is None or (answer == "yes" and parse_id(member_id) != asked):
        turn.outcome(turn._("That question was already answered; nothing was changed."))
        return
    conversations.clear(turn.convo, turn.now)
    if answer != "yes":
        turn.outcome(turn._("Cancelled. Nothing was changed."))
        return
    # Check again: the confirmation may come long after the question.
    target = await members.manageable(turn.session, turn.member, asked)
    if target is None or target.id == turn.member.id:
        turn.outcome(turn._("There is no member #{id} in your units.").format(id=asked))
        return
    await members.remove(turn.session, target, turn.now)
    log.info("member_removed", extra={"member_id": target.id, "by": turn.member.id})
    turn.outcome(turn._("{name} was removed.").format(name=target.full_name))


@command("invite", Role.focal, N_("invite someone: /invite [member|focal|admin] [unit number]"))
async def invite(turn: Turn) -> None:
    assert turn.member is not None
    _ = turn._
    role_arg = turn.args[0].lower() if turn.args else Role.member.value
    unit_arg = turn.args[1] if len(turn.args) > 1 else str(turn.member.unit_id)
    unit_id = parse_id(unit_arg)
    if role_arg not in Role.__members__ or unit_id is None:
        turn.say(_("Usage: /invite [member|focal|admin] [unit number], e.g. /invite focal"))
        return
    if not has_role(turn.member, Role.admin) and (
            role_arg != Role.member or unit_id != turn.member.unit_id):
        turn.say(_("As focal point you can invite members of {unit}; for other roles or units, "
                   "ask an admin.").format(unit=turn.member.unit.name))
        return
    if unit_id not in await subtree_ids(turn.session, turn.member.unit_id):
        turn.say(_("Unit {id} is not one of your units.").format(id=unit_arg))
        return
    inv, code = await invites.create(
        turn.session, unit_id=unit_id, role=Role(role_arg), now=turn.now,
        created_by=turn.member.id,
    )
    log.info("invite_created", extra={
        "invite_id": inv.id, "unit_id": inv.unit_id, "by": turn.member.id,
    })
    lines = [_("Invite for {unit} as {role}, valid until {date}, for one person.").format(
        unit=inv.unit.name, role=role_name(turn.t, role_arg),
        date=turn.t.date(inv.expires_at.astimezone(turn.app.settings.tz).date(), "long"),
    )]
    lines += [_("Link: {link}").format(link=link) for link in turn.app.any_deep_link(code)]
    lines.append(_("Code: {code}").format(code=code))
    turn.say("\n".join(lines))
