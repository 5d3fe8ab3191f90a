"""/status: for an admin, the unit at a glance — members by role and app, and the Zalo
plan's messages this month against its quota."""

from __future__ import annotations

from bot.i18n import N_
from bot.models import Role
from bot.services import members, usage
from bot.views.reminders import quota_lines
from bot.views.roles import role_name
from handlers.linking import app_name
from handlers.registry import command
from handlers.turn import Turn


@command("status", Role.admin, N_("the unit at a glance: members, apps, Zalo quota"))
async def status(turn: Turn) -> None:
    assert turn.member is not None
    unit = turn.member.unit
    people = await members.list_members(turn.session, [unit.id])
    lines = [turn._("{unit}: {n} members").format(unit=unit.name, n=len(people))]
    for role in (Role.admin, Role.focal, Role.member):
        n = sum(1 for m in people if m.role == role)
        lines.append(f"• {role_name(turn.t, role)}: {n}")
    apps = await members.apps_of_unit(turn.session, unit.id)
    if apps:
        lines.append(turn._("Apps: {apps}").format(apps=", ".join(
            f"{app_name(turn, channel)} {n}" for channel, n in sorted(apps.items()))))
    settings = turn.app.settings
    if settings.zalo_token is not None:
        month = usage.month_of(turn.now)
        sent = await usage.sent(turn.session, "zalo", month)
        if settings.zalo_monthly_limit is None:
            lines.append(turn._("Zalo: {sent} messages this month (no quota set).").format(
                sent=turn.t.number(sent)))
        else:
            lines += quota_lines(turn.t, {"channel": "zalo", "month": month, "sent": sent,
                                          "limit": settings.zalo_monthly_limit})
    turn.say("\n".join(lines))
