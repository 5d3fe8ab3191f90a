"""Reminder messages, rendered when sent, in the reader's language."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from bot.i18n import Translator
from bot.messages import Choice, OutFile, Reply
from bot.models import OutboxKind
from bot.services.approvals import REPORT_DUTIES
from bot.services.calendar import DutyDate
from bot.services.duties import answered_by
from bot.services.periods import period_of
from bot.services.reports import Report
from bot.views.duties import due_lines, duty_title
from bot.views.reports import period_name, summary_lines


@dataclass(frozen=True)
class ReminderMessage:
    """What one outbox row has to say, gathered from the database by the dispatcher."""

    kind: str  # OutboxKind
    occurrence_id: int | None
    item: DutyDate | None  # None for a notice about a person (removed)
    unit_name: str
    today: date  # in the unit's timezone
    missing: tuple[str, ...] = ()  # who has not answered (digest, escalation)
    about: str | None = None  # the member who cannot be reached (unreachable)
    private_link: str | None = None  # opens a private chat with the bot (group posts)
    report: Report | None = None  # the monthly summary's
    chart: bytes | None = None  # its picture (PNG), where the channel takes files
    notice: dict[str, Any] | None = None  # a report sent up, or the decision on it


def answer_choices(t: Translator, occurrence_id: int, check_in: bool = True,
                   send_up: bool = False) -> list[Choice]:
    """Done, check in (for duties a check-in answers) or send the report up (for the reports
    to the parent unit), later, not applicable."""
    return [
        Choice(t.gettext("✅ Done"), f"done:{occurrence_id}"),
        *([Choice(t.gettext("📝 Check in now"), f"checkin:{occurrence_id}")] if check_in else []),
        *([Choice(t.gettext("📤 Send the report up"), f"sendup:{occurrence_id}")]
          if send_up else []),
        Choice(t.gettext("⏰ Remind me in 1 day"), f"later:{occurrence_id}:1"),
        Choice(t.gettext("⏰ Remind me in 3 days"), f"later:{occurrence_id}:3"),
        Choice(t.gettext("🚫 Not applicable to me"), f"na:{occurrence_id}"),
    ]


def _body(t: Translator, msg: ReminderMessage) -> list[str]:
    assert msg.item is not None
    return [f"«{duty_title(t, msg.item)}»", *due_lines(t, msg.item, msg.today)]


# Marks a choice from a combined message: its answer must not replace the whole message.
COMBINED = ":*"


def combine(t: Translator, replies: list[Reply]) -> Reply:
    """Several messages due to one person at one moment, as one: numbered parts, and one row
    of buttons per part (its number on each button)."""
    if len(replies) == 1:
        return replies[0]
    texts, choices = [], []
    for i, reply in enumerate(replies, start=1):
        texts.append(f"{i}. {reply.text}")
        choices += [replace(c, label=f"{i} {c.label}", row=i,
                            value=c.value and c.value + COMBINED) for c in reply.choices]
    return Reply("\n\n".join(texts), tuple(choices), lang=t.lang)


def render(t: Translator, msg: ReminderMessage) -> Reply | None:
    """The message for one outbox row, or None when there is nothing left to say."""
    if msg.kind == OutboxKind.summary:
        assert msg.report is not None
        lines = [t.gettext("🗓 Monthly summary"), *summary_lines(t, msg.report), "",
                 t.gettext("Details at any time: /summary.")]
        chart = OutFile("tong-hop.png", msg.chart, "image/png") if msg.chart else None
        return Reply("\n".join(lines), file=chart, lang=t.lang)
    if msg.kind in (OutboxKind.approval, OutboxKind.decision):
        return _submission(t, msg)
    if msg.kind == OutboxKind.quota:
        assert msg.notice is not None
        return Reply("\n".join(quota_lines(t, msg.notice)), lang=t.lang)
    if msg.kind == OutboxKind.removed:
        return Reply(t.gettext(
            "You are no longer a member of {unit} in the Ban VSTBPN assistant, so you will get "
            "no more reminders. If this is a mistake, please contact your unit's admin."
        ).format(unit=msg.unit_name), lang=t.lang)
    assert msg.item is not None and msg.occurrence_id is not None
    body = _body(t, msg)
    names = "\n".join(f"• {name}" for name in msg.missing)
    kind = msg.kind
    if kind in (OutboxKind.reminder, OutboxKind.later):
        overdue = msg.item.occurrence.due_on < msg.today
        head = t.gettext("⚠️ Overdue") if overdue else t.gettext("🔔 Reminder")
        duty = msg.item.duty
        choices = answer_choices(t, msg.occurrence_id, answered_by(duty) is not None,
                                 duty.code in REPORT_DUTIES.values())
        return Reply("\n".join([head, *body]), tuple(choices), lang=t.lang)
    if kind == OutboxKind.group:
        text = "\n".join([t.gettext("📣 Reminder for {unit}").format(unit=msg.unit_name), *body,
                          t.gettext("Members: answer me in a private chat.")])
        link = (Choice(t.gettext("Open private chat"), "", url=msg.private_link),) \
            if msg.private_link else ()
        return Reply(text, link, lang=t.lang)
    if kind == OutboxKind.focal:
        if not msg.missing:
            return None
        text = "\n".join([t.gettext("📋 Not answered yet, before the deadline:"), *body, names])
        return Reply(text, lang=t.lang)
    if kind == OutboxKind.escalation:
        lines = [t.gettext("⚠️ Overdue in {unit}, not marked done:").format(unit=msg.unit_name),
                 *body]
        if msg.missing:
            lines += [t.gettext("Not answered:"), names]
        return Reply("\n".join(lines), tuple(answer_choices(t, msg.occurrence_id)[:1]),
                     lang=t.lang)
    if kind == OutboxKind.confirm:
        text = t.gettext(
            "📅 The due date below is only an estimate. When the guiding letter from above "
            "arrives, please set the date it gives (admins: /duty)."
        )
        return Reply("\n".join([text, *body]), lang=t.lang)
    if kind == OutboxKind.unreachable:
        text = t.gettext(
            "I cannot reach {name} any more (they blocked the bot or left the chat). "
            "Please remind them another way about:"
        ).format(name=msg.about or "?")
        return Reply("\n".join([text, *body]), lang=t.lang)
    raise ValueError(f"unknown outbox kind {kind!r}")


def _submission(t: Translator, msg: ReminderMessage) -> Reply:
    """A report sent up, to the parent's admins (with Approve / Return), or the decision on
    it, to the unit's focal point."""
    n = msg.notice
    assert n is not None
    period = period_name(t, period_of(str(n["period"])))
    if msg.kind == OutboxKind.approval:
        lines = [t.gettext("📨 {unit} sent its report for {period} (sent by {name}).").format(
            unit=n["unit"], period=period, name=n["by"])]
        if n["late"]:
            lines.append(t.gettext("It was sent after its due date."))
        lines.append(t.gettext("Its figures: /summary {key} #{unit_id}. Approve it, or return "
                               "it with a comment:").format(key=n["period"], unit_id=n["unit_id"]))
        sid = n["submission_id"]
        return Reply("\n".join(lines), (Choice(t.gettext("✅ Approve"), f"appr:ok:{sid}"),
                                        Choice(t.gettext("↩️ Return"), f"appr:ret:{sid}")),
                     lang=t.lang)
    if n["action"] == "approved":
        text = t.gettext("✅ The report of {unit} for {period} was approved by {name}. Its "
                         "check-ins for the period are now locked.")
    else:
        text = t.gettext("↩️ The report of {unit} for {period} was returned by {name}: "
                         "«{comment}». Please correct it and send it again with /submit.")
    return Reply(text.format(unit=n["unit"], period=period, name=n["by"],
                             comment=n["comment"]), lang=t.lang)


def quota_lines(t: Translator, usage: dict[str, Any]) -> list[str]:
    """A channel's monthly quota: used, and what happens past it."""
    sent, limit, month = int(usage["sent"]), int(usage["limit"]), str(usage["month"])
    lines = [t.gettext("⚠️ {app}: {sent} of the {limit} messages of the month {month} are used "
                       "({percent}%).").format(
        app=str(usage["channel"]).capitalize(), sent=t.number(sent), limit=t.number(limit),
        month=f"{int(month[5:])}/{month[:4]}", percent=sent * 100 // limit)]
    if sent >= limit:
        lines.append(t.gettext("Until the month ends, reminders go by it only to people who use "
                               "no other app."))
    return lines
