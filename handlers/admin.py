"""Admin commands: members of the admin's subtree, and invites."""

from __future__ import annotations

import logging

from bot.i18n import N_
from bot.messages import Choice
from bot.models import Member, Role
from bot.parsing import parse_id
from bot.services import conversations, invites, members, tree
from bot.services.members import has_role
from bot.views.roles import role_name
from handlers.registry import choice, command
from handlers.turn import Turn

log = logging.getLogger(__name__)

ST_REMOVE = "remove:confirm"


@command("members", Role.admin, N_("list members of your units"))
async def list_members(turn: Turn) -> None:
    assert turn.member is not None
    unit_ids = await tree.subtree_ids(turn.session, turn.member.unit_id)
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
    await members.remove(turn.session, target, turn.now, by=turn.member.id)
    log.info("member_removed", extra={"member_id": target.id, "by": turn.member.id})
    turn.outcome(turn._("{name} was removed.").format(name=target.full_name))


# How many people one invite may register: a committee joins with one link.
USES = (1, 5, 15, 30)
# Role words people may type after /invite, in either language.
_ROLE_WORDS = {
    "member": Role.member, "thành viên": Role.member, "thanh vien": Role.member,
    "focal": Role.focal, "đầu mối": Role.focal, "dau moi": Role.focal,
    "admin": Role.admin, "quản trị": Role.admin, "quan tri": Role.admin,
}


@command("invite", Role.focal, N_("invite people to join: choose the role, unit and how many"))
async def invite(turn: Turn) -> None:
    """/invite asks with buttons; "/invite focal 12" (role, unit) is the typed shortcut."""
    assert turn.member is not None
    words = " ".join(turn.args).lower()
    unit_arg = turn.args[-1] if turn.args and parse_id(turn.args[-1]) is not None else None
    role_words = words.removesuffix(unit_arg or "").strip()
    if not role_words:
        await _ask_role(turn)
        return
    role = _ROLE_WORDS.get(role_words)
    if role is None:
        turn.say(turn._("Send /invite and choose with the buttons."))
        return
    unit_id = parse_id(unit_arg) if unit_arg else turn.member.unit_id
    assert unit_id is not None
    await _create(turn, role, unit_id, 1)


def _roles_for(member: Member) -> list[Role]:
    """An admin invites any role; the focal point invites members."""
    return list(Role) if has_role(member, Role.admin) else [Role.member]


async def _ask_role(turn: Turn) -> None:
    assert turn.member is not None
    roles = _roles_for(turn.member)
    if len(roles) == 1:
        await _ask_unit(turn, roles[0])
        return
    turn.say(turn._("Invite someone as:"), [
        Choice(role_name(turn.t, role).capitalize(), f"invite:role:{role.value}")
        for role in roles
    ])


async def _ask_unit(turn: Turn, role: Role) -> None:
    assert turn.member is not None
    units = await tree.subtree_units(turn.session, turn.member.unit_id) \
        if has_role(turn.member, Role.admin) else [turn.member.unit]
    if len(units) == 1:
        _ask_uses(turn, role, units[0].id)
        return
    turn.outcome(turn._("For which unit?"), [
        Choice(u.name, f"invite:unit:{role.value}:{u.id}") for u in units[:MAX_UNITS]])


@choice("invite", Role.focal)
async def invite_step(turn: Turn) -> None:
    """invite:role:<role> → invite:unit:<role>:<unit> → invite:uses:<role>:<unit>:<n>."""
    assert turn.member is not None
    parts = (turn.inbound.choice or "").split(":")[1:]
    role = Role.__members__.get(parts[1]) if len(parts) > 1 else None
    unit_id = parse_id(parts[2]) if len(parts) > 2 else None
    uses = parse_id(parts[3]) if len(parts) > 3 else None
    if role is None:
        turn.outcome(turn._("That choice is no longer available. Send /help to start again."))
    elif parts[0] == "role":
        await _ask_unit(turn, role)
    elif parts[0] == "unit" and unit_id is not None:
        _ask_uses(turn, role, unit_id)
    elif parts[0] == "uses" and unit_id is not None and uses in USES:
        await _create(turn, role, unit_id, uses)
    else:
        turn.outcome(turn._("That choice is no longer available. Send /help to start again."))


MAX_UNITS = 30  # buttons offered for the unit; deeper trees use "/invite <role> <unit>"


def _ask_uses(turn: Turn, role: Role, unit_id: int) -> None:
    turn.outcome(turn._("For how many people? (Each registers once with the same link.)"), [
        Choice(turn.t.ngettext("{n} person", "{n} people", n).format(n=n),
               f"invite:uses:{role.value}:{unit_id}:{n}") for n in USES
    ])


async def _create(turn: Turn, role: Role, unit_id: int, uses: int) -> None:
    assert turn.member is not None
    _ = turn._
    if role not in _roles_for(turn.member) or (
            not has_role(turn.member, Role.admin) and unit_id != turn.member.unit_id):
        turn.say(_("As focal point you can invite members of {unit}; for other roles or units, "
                   "ask an admin.").format(unit=turn.member.unit.name))
        return
    if unit_id not in await tree.subtree_ids(turn.session, turn.member.unit_id):
        turn.say(_("Unit {id} is not one of your units.").format(id=unit_id))
        return
    inv, code = await invites.create(
        turn.session, unit_id=unit_id, role=role, now=turn.now, created_by=turn.member.id,
        uses=uses,
    )
    log.info("invite_created", extra={
        "invite_id": inv.id, "unit_id": inv.unit_id, "by": turn.member.id, "uses": uses,
    })
    until = turn.t.date(inv.expires_at.astimezone(turn.app.settings.tz).date(), "long")
    lines = [turn.t.ngettext(
        "Invite for {unit} as {role}, valid until {date}, for one person.",
        "Invite for {unit} as {role}, valid until {date}, for {n} people.", uses,
    ).format(unit=inv.unit.name, role=role_name(turn.t, role), date=until, n=uses)]
    lines += [_("Link: {link}").format(link=link) for link in turn.app.any_deep_link(code)]
    lines.append(_("Code: {code}").format(code=code))
    turn.outcome("\n".join(lines))
