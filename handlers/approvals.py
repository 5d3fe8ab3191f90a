"""/submit and /approvals: the unit's report goes up; the parent's admins approve it (which
locks the unit's check-ins of the period), return it with a comment, or excuse a unit; an
admin above can unlock. Buttons: ``appr:<ok|ret|unl>:<submission>``,
``appr:exc:<unit>:<period>``."""

from __future__ import annotations

import logging

from bot.i18n import N_
from bot.messages import Choice
from bot.models import ReportSubmission, Role, SubmissionStatus
from bot.parsing import parse_id
from bot.services import approvals, conversations, members, units
from bot.services.approvals import ApprovalError
from bot.services.periods import Period, period_of
from bot.views.reports import period_name
from handlers.registry import choice, command, state
from handlers.reports import default_report_period, read_period, requested
from handlers.turn import Turn

log = logging.getLogger(__name__)

ST_COMMENT = "approval_comment"
MAX_COMMENT = 1000
ERRORS = {
    "not_a_report_period": N_("Reports are sent up for the first six months (like 2027-H1) "
                              "and for the year (like 2027)."),
    "already_approved": N_("That report is already approved."),
    "already_submitted": N_("That report is already sent and waiting for approval."),
    "not_parent_admin": N_("Only the admins of the unit above can decide on this report."),
    "not_submitted": N_("That report is no longer waiting for a decision."),
    "children_pending": N_("Not yet: the reports of these units are not approved or excused: "
                           "{names}."),
    "not_above": N_("Only an admin of a unit above can unlock it."),
    "not_approved": N_("That report is not approved, so there is nothing to unlock."),
}
STATUS = {
    "approved": N_("approved"), "excused": N_("excused"), "submitted": N_("sent, on time"),
    "late": N_("sent late"), "returned": N_("returned"), "missing": N_("not sent yet"),
}


def _error(turn: Turn, error: ApprovalError) -> str:
    return turn._(ERRORS[error.code]).format(names=", ".join(error.names))


@command("submit", Role.focal, N_("send the unit's report up for approval"))
async def submit(turn: Turn) -> None:
    period = read_period(turn, turn.args, default_report_period(turn))
    if period is not None:
        await send_up(turn, period)


async def send_up(turn: Turn, period: Period) -> None:
    """Send the member's unit's report for the period up (from /submit or a reminder)."""
    member = turn.member
    assert member is not None
    unit = member.unit
    try:
        sub = await approvals.submit(turn.session, unit, period, member, turn.now,
                                     turn.app.calendar.cal)
    except ApprovalError as e:
        turn.say(_error(turn, e))
        return
    log.info("report_submitted", extra={"submission_id": sub.id, "unit_id": unit.id})
    name = period_name(turn.t, period)
    parent = await units.by_id(turn.session, unit.parent_id) if unit.parent_id else None
    if parent is None:
        turn.say(turn._("Recorded: the report of {unit} for {period} is sent.").format(
            unit=unit.name, period=name))
        return
    lines = [turn._("Sent: the report of {unit} for {period} goes to the admins of {parent} "
                    "for approval.").format(unit=unit.name, period=name, parent=parent.name)]
    timely = approvals.on_time(sub, unit)
    if timely is False:
        lines.append(turn._("It is late: it was due on {date}.").format(
            date=turn.t.date(sub.due_on, "long") if sub.due_on else "—"))
    turn.say("\n".join(lines))


@command("approvals", Role.admin, N_("reports sent up by the units below: approve, return"))
async def overview(turn: Turn) -> None:
    member = turn.member
    assert member is not None
    found = await requested(turn, default_report_period(turn))
    if found is None:
        return
    unit, period = found.unit, found.period
    lines = [turn._("Reports for {period}, {unit}:").format(
        period=period_name(turn.t, period), unit=unit.name)]
    own = await approvals.of_unit(turn.session, unit.id, period)
    if own is not None:
        lines += await _history(turn, own)
    buttons: list[Choice] = []
    kids = await approvals.children_status(turn.session, unit, period)
    if not kids:
        lines.append(turn._("There are no units below this one."))
    for kid in kids:
        lines.append(f"• {kid.unit.name}: {turn._(STATUS[kid.status])}")
        sub = kid.submission
        if kid.status in ("submitted", "late") and sub is not None and unit.id == member.unit_id:
            buttons += [Choice(turn._("✅ Approve: {unit}").format(unit=kid.unit.name),
                               f"appr:ok:{sub.id}"),
                        Choice(turn._("↩️ Return: {unit}").format(unit=kid.unit.name),
                               f"appr:ret:{sub.id}")]
        elif kid.status in ("missing", "returned") and unit.id == member.unit_id:
            buttons.append(Choice(turn._("Excuse: {unit}").format(unit=kid.unit.name),
                                  f"appr:exc:{kid.unit.id}:{period.key}"))
        elif kid.status == "approved" and sub is not None:
            buttons.append(Choice(turn._("🔓 Unlock: {unit}").format(unit=kid.unit.name),
                                  f"appr:unl:{sub.id}"))
    turn.say("\n".join(lines), buttons)


_ACTIONS = {"submitted": N_("sent by {name}"), "approved": N_("approved by {name}"),
            "returned": N_("returned by {name}"), "excused": N_("excused by {name}"),
            "unlocked": N_("unlocked by {name}")}


async def _history(turn: Turn, sub: ReportSubmission) -> list[str]:
    """Each step of the unit's own submission: when, what, who, and the comment."""
    tz = turn.member.unit.tz if turn.member else None
    lines = []
    for event in await approvals.history(turn.session, sub):
        who = await members.by_id(turn.session, event.member_id) if event.member_id else None
        step = turn._(_ACTIONS.get(event.action, event.action)).format(
            name=who.full_name if who else "—")
        line = f"  {turn.t.datetime(event.at, 'short', tz=tz)}: {step}"
        lines.append(f"{line} — «{event.comment}»" if event.comment else line)
    return lines


@choice("appr", Role.admin)
async def decide(turn: Turn) -> None:
    member = turn.member
    assert member is not None
    parts = (turn.inbound.choice or "").split(":")
    action = parts[1] if len(parts) > 1 else ""
    try:
        if action == "exc" and len(parts) == 4:
            kid = await units.by_id(turn.session, parse_id(parts[2]) or 0)
            if kid is None:
                raise ApprovalError("not_parent_admin")
            await approvals.excuse(turn.session, kid, period_of(parts[3]), member, turn.now)
            turn.outcome(turn._("{unit} is excused from this report.").format(unit=kid.name))
            return
        sub = await approvals.by_id(turn.session, parse_id(parts[2]) or 0) \
            if len(parts) == 3 else None
        if sub is None:
            turn.outcome(turn._("That choice is no longer available. Send /help to start again."))
            return
        unit = await units.by_id(turn.session, sub.unit_id)
        assert unit is not None
        if action == "ok":
            await approvals.approve(turn.session, sub, member, turn.now)
            turn.outcome(turn._("Approved: the report of {unit}. Its check-ins for the period "
                                "are now locked.").format(unit=unit.name))
        elif action == "unl":
            await approvals.unlock(turn.session, sub, member, turn.now)
            turn.outcome(turn._("Unlocked: {unit} can change its check-ins for the period and "
                                "send the report again.").format(unit=unit.name))
        elif action == "ret":
            if sub.status != SubmissionStatus.submitted or unit.parent_id != member.unit_id:
                raise ApprovalError("not_submitted" if unit.parent_id == member.unit_id
                                    else "not_parent_admin")
            conversations.enter(turn.convo, ST_COMMENT, turn.now, submission_id=sub.id)
            turn.say(turn._("What should {unit} correct? Your comment goes to its focal point. "
                            "(/cancel: stop)").format(unit=unit.name))
        else:
            turn.outcome(turn._("That choice is no longer available. Send /help to start again."))
    except (ApprovalError, ValueError) as e:
        turn.outcome(_error(turn, e) if isinstance(e, ApprovalError)
                     else turn._(ERRORS["not_a_report_period"]))


@state(ST_COMMENT)
async def comment(turn: Turn) -> None:
    member = turn.member
    assert member is not None
    text = turn.inbound.text.strip()
    if not text or len(text) > MAX_COMMENT:
        turn.say(turn._("Please write the comment in one message of at most {n} characters."
                        ).format(n=MAX_COMMENT))
        return
    sub = await approvals.by_id(turn.session, int(turn.convo.data.get("submission_id", 0)))
    conversations.clear(turn.convo, turn.now)
    if sub is None:
        turn.say(turn._("That choice is no longer available. Send /help to start again."))
        return
    try:
        await approvals.send_back(turn.session, sub, member, text, turn.now)
    except ApprovalError as e:
        turn.say(_error(turn, e))
        return
    unit = await units.by_id(turn.session, sub.unit_id)
    turn.say(turn._("Returned to {unit} with your comment.").format(
        unit=unit.name if unit else "—"))
