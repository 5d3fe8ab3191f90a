"""Audit log entries as sentences: "01/12/2026 09:15 — Sở Tư pháp — Nguyễn Văn A: duyệt báo
cáo năm 2026"."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from bot.i18n import N_, Translator
from bot.models import AuditEntry
from bot.services.audit import Action, Names
from bot.services.periods import period_of
from bot.views.reports import period_name, target_name
from bot.views.roles import role_name

_WHAT = {
    Action.unit_added: N_("added the unit"),
    Action.invite_revoked: N_("revoked invite no. {invite}"),
    Action.member_removed: N_("removed {member} from the unit"),
    Action.role_changed: N_("changed the role of {member} from {old} to {new}"),
    Action.member_forgotten: N_("erased the name and chat accounts of member {member}"),
    Action.duty_added: N_("added the duty “{duty}”"),
    Action.deadline_added: N_("added the deadline “{duty}”"),
    Action.duty_changed: N_("changed {changed} of “{duty}”"),
    Action.report_submitted: N_("sent up the report for the {period}"),
    Action.report_approved: N_("approved the report for the {period}"),
    Action.report_returned: N_("returned the report for the {period}"),
    Action.report_excused: N_("excused the unit from the report for the {period}"),
    Action.report_unlocked: N_("reopened the approved report for the {period}"),
}
# A duty's settings, named as on the buttons of /duty.
_SETTINGS = {
    "enabled": N_("on/off"),
    "stages": N_("reminder days"),
    "send_time": N_("time"),
    "shift": N_("day off rule"),
    "day": N_("due date"),
    "month": N_("due date"),
    "responsible": N_("who is reminded"),
}


def actor(t: Translator, entry: AuditEntry, names: Names) -> str:
    if entry.actor_id is None:
        return t.gettext("the server administrator (command line)")
    return names.members.get(entry.actor_id, f"#{entry.actor_id}")


def what(t: Translator, entry: AuditEntry, names: Names) -> str:
    """The action, as the rest of a sentence whose subject is the person who did it."""
    d = entry.details
    action = Action(entry.action)
    if action == Action.invite_created:
        return t.ngettext("invited one person as {role}", "invited up to {uses} people as {role}",
                          int(d["uses"])).format(uses=d["uses"], role=role_name(t, d["role"]))
    if action == Action.target_set:
        name = target_name(t, d["target"])
        if d.get("level") is None:
            return t.gettext("set “{target}” back to the level from above").format(target=name)
        return t.gettext("set the level of “{target}” to {level}%").format(
            target=name, level=d["level"])
    values: dict[str, object] = {}
    if "member" in d:
        values["member"] = names.members.get(int(d["member"]), f"#{d['member']}")
    if "duty" in d:
        duty = names.duties.get(int(d["duty"]))
        values["duty"] = duty.title(t.lang) if duty is not None else f"#{d['duty']}"
    if "period" in d:
        values["period"] = period_name(t, period_of(d["period"]))
    if "old" in d:
        values.update(old=role_name(t, d["old"]), new=role_name(t, d["new"]))
    if "changed" in d:
        settings = dict.fromkeys(t.gettext(_SETTINGS[k]) for k in d["changed"] if k in _SETTINGS)
        values["changed"] = ", ".join(settings) or t.gettext("the settings")
    return t.gettext(_WHAT[action]).format(invite=d.get("invite"), **values)


def line(t: Translator, entry: AuditEntry, names: Names, tz: ZoneInfo) -> str:
    at = entry.at.astimezone(tz)
    when = at.strftime("%d/%m/%Y %H:%M") if t.lang == "vi" else t.datetime(
        at, "d MMM yyyy HH:mm", tz)
    unit = names.units.get(entry.unit_id, f"#{entry.unit_id}")
    return f"{when} — {unit} — {actor(t, entry, names)}: {what(t, entry, names)}"
