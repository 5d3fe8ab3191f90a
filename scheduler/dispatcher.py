"""The dispatcher: claims due outbox rows, sends them, and records what happened.

Each row is claimed (status 'sending' with a lease), sent with no database transaction open,
and then recorded in its own transaction. A crash leaves at most the rows in flight to be
sent again when their lease runs out; nothing is lost. Stale rows are skipped, not sent late;
rows that come due outside the send window wait for the next working morning.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.messages import Delivery, Sender
from bot.context import AppContext
from bot.i18n import Translator
from bot.models import ChatAccount, GroupChat, Member, OutboxMessage, Response, Role, Unit
from bot.services import invites, outbox
from handlers import reminders
from scheduler.planner import Calendar
from scheduler.ratelimit import RateLimiter

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
LEASE = timedelta(minutes=5)
# Kinds that nag about the coming deadline and so lose their point once the due day begins.
_BEFORE_DEADLINE = ("before-", "start")


@dataclass
class Stats:
    sent: int = 0
    skipped: int = 0
    retried: int = 0
    failed: int = 0
    held: int = 0
    reasons: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class _Target:
    sender: Sender
    chat_id: str
    group: bool
    member: Member | None
    account: ChatAccount | None


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(30 * 2 ** (attempts - 1), 3600))


class Dispatcher:
    def __init__(
        self, app: AppContext, senders: dict[str, Sender], *, cal: Calendar | None = None,
        limiter: RateLimiter | None = None, batch: int = 100,
    ) -> None:
        self.app = app
        self.senders = senders
        self.cal = cal or Calendar.from_app(app)
        self.limiter = limiter or RateLimiter()
        self.batch = batch
        self.paused_until: datetime | None = None  # after a 429 the whole bot waits

    async def run_once(self) -> Stats:
        """Send everything that is due now (in batches); returns what happened."""
        stats = Stats()
        while True:
            now = self.app.clock.now()
            if self.paused_until is not None and now < self.paused_until:
                return stats
            ids = await self._claim(now)
            for i, row_id in enumerate(ids):
                await self._deliver(row_id, stats)
                if self.paused_until is not None and self.app.clock.now() < self.paused_until:
                    await self._release(ids[i + 1:])
                    return stats
            if len(ids) < self.batch:
                return stats

    async def _claim(self, now: datetime) -> list[int]:
        async with self.app.sessions() as session, session.begin():
            query = (
                select(OutboxMessage.id)
                .where(or_(
                    and_(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now),
                    and_(OutboxMessage.status == "sending", OutboxMessage.claimed_until < now),
                ))
                .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
                .limit(self.batch)
            )
            if session.bind.dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            ids = list(await session.scalars(query))
            if ids:
                await session.execute(
                    update(OutboxMessage).where(OutboxMessage.id.in_(ids))
                    .values(status="sending", claimed_until=now + LEASE)
                )
            return ids

    async def _release(self, ids: list[int]) -> None:
        """Give back claimed rows we will not get to before the pause ends."""
        if not ids:
            return
        async with self.app.sessions() as session, session.begin():
            await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_(ids), OutboxMessage.status == "sending")
                .values(status="pending", claimed_until=None)
            )

    async def _deliver(self, row_id: int, stats: Stats) -> None:
        now = self.app.clock.now()
        async with self.app.sessions() as session, session.begin():
            row = await session.get(OutboxMessage, row_id)
            if row is None or row.status != "sending":
                return
            unit = await session.get(Unit, row.occurrence.unit_id)
            assert unit is not None  # occurrences are deleted with their unit
            local_now = now.astimezone(ZoneInfo(unit.timezone))
            reason = await self._skip_reason(session, row, local_now)
            target = None if reason else await self._target(session, row)
            if reason is None and target is None:
                reason = "unreachable"
            reply = None
            if reason is None:
                assert target is not None
                if not self.cal.window.contains(local_now, self.cal.cal):
                    row.status, row.claimed_until = "pending", None
                    row.next_attempt_at = self.cal.window.at_or_after(local_now, self.cal.cal)
                    stats.held += 1
                    return
                lang = target.member.language if target.member else \
                    self.app.settings.default_language
                name = self.app.telegram_username
                reply = await reminders.render(session, row, Translator(lang), now,
                                               invites.deep_link(name) if name else None)
                if reply is None:
                    reason = "nothing to say"
            if reason is not None:
                row.status, row.last_error, row.claimed_until = "skipped", reason, None
                stats.skipped += 1
                stats.reasons[reason] = stats.reasons.get(reason, 0) + 1
                return
        assert target is not None and reply is not None
        await self.limiter.wait(f"{target.sender.channel}:{target.chat_id}", group=target.group)
        delivery = await target.sender.send(target.chat_id, [reply])
        await self._record(row_id, target, delivery, stats)

    async def _record(
        self, row_id: int, target: _Target, delivery: Delivery, stats: Stats
    ) -> None:
        now = self.app.clock.now()
        async with self.app.sessions() as session, session.begin():
            row = await session.get(OutboxMessage, row_id)
            assert row is not None
            row.attempts += 1
            row.claimed_until = None
            if delivery.outcome == "ok":
                row.status, row.sent_at = "sent", now
                stats.sent += 1
                return
            row.last_error = (delivery.error or delivery.outcome)[:500]
            # Flood control (429) is retried as long as it takes; other errors a few times.
            if delivery.outcome == "retry" and (
                delivery.retry_after is not None or row.attempts < MAX_ATTEMPTS
            ):
                row.status = "pending"
                if delivery.retry_after is not None:
                    wait = timedelta(seconds=delivery.retry_after)
                    self.paused_until = now + wait
                    row.next_attempt_at = now + wait
                else:
                    row.next_attempt_at = now + backoff(row.attempts)
                stats.retried += 1
                return
            row.status = "failed"
            stats.failed += 1
            log.warning("outbox_failed", extra={
                "outbox_id": row.id, "kind": row.kind, "error": row.last_error,
            })
            if delivery.outcome == "blocked" and target.account is not None:
                await self._mark_unreachable(session, row, target, now)

    async def _mark_unreachable(
        self, session: AsyncSession, row: OutboxMessage, target: _Target, now: datetime
    ) -> None:
        account = await session.get(ChatAccount, target.account.id)  # type: ignore[union-attr]
        if account is None or account.unreachable_since is not None:
            return
        account.unreachable_since = now
        member = target.member
        assert member is not None
        log.info("member_unreachable", extra={"member_id": member.id, "channel": account.channel})
        focals = await session.scalars(select(Member.id).where(
            Member.unit_id == member.unit_id, Member.active.is_(True), Member.role == Role.focal,
            Member.id != member.id,
        ))
        await outbox.enqueue(session, [
            outbox.row(row.occurrence_id, outbox.member_recipient(focal_id), "unreachable",
                       f"m{member.id}", now, now)
            for focal_id in focals
        ])

    async def _target(self, session: AsyncSession, row: OutboxMessage) -> _Target | None:
        kind, _, ident = row.recipient.partition(":")
        if kind == "group":
            group = await session.get(GroupChat, int(ident))
            sender = self.senders.get(group.channel) if group else None
            if group is None or sender is None:
                return None
            return _Target(sender, group.chat_id, True, None, None)
        member = await session.get(Member, int(ident))
        if member is None:
            return None
        accounts = await session.scalars(
            select(ChatAccount).where(
                ChatAccount.member_id == member.id, ChatAccount.unreachable_since.is_(None)
            ).order_by(ChatAccount.id)
        )
        for account in accounts:
            sender = self.senders.get(account.channel)
            if sender is not None:
                return _Target(sender, account.chat_id, False, member, account)
        return None

    async def _skip_reason(
        self, session: AsyncSession, row: OutboxMessage, now: datetime
    ) -> str | None:
        """Why this row should not be sent; `now` is in the unit's timezone."""
        occ = row.occurrence
        if row.kind != "unreachable" and occ.status != "open":
            return "occurrence closed"
        if row.kind != "unreachable" and not occ.duty.enabled:
            return "duty turned off"  # planned before an admin turned it off
        member = None
        if row.recipient.startswith("member:"):
            member = await session.get(Member, int(row.recipient.partition(":")[2]))
            if member is None or not member.active:
                return "member removed"
        if row.kind in ("reminder", "later") and member is not None:
            answer = await session.scalar(select(Response.answer).where(
                Response.occurrence_id == occ.id, Response.member_id == member.id))
            if answer in ("done", "na"):
                return "answered"
            if row.kind == "reminder" and await self._snoozed(session, row, now):
                return "snoozed"
        due_day_begins = datetime.combine(occ.due_on, time(0), tzinfo=now.tzinfo)
        before_deadline = row.stage.startswith(_BEFORE_DEADLINE) or row.kind == "focal"
        if before_deadline and now >= due_day_begins:
            return "stale"
        if row.kind in ("reminder", "escalation", "group"):
            newer = await session.scalar(select(OutboxMessage.id).where(
                OutboxMessage.occurrence_id == row.occurrence_id,
                OutboxMessage.recipient == row.recipient,
                OutboxMessage.kind == row.kind,
                OutboxMessage.send_at > row.send_at,
                OutboxMessage.send_at <= now,
            ).limit(1))
            if newer is not None:
                return "stale"
        return None

    @staticmethod
    async def _snoozed(session: AsyncSession, row: OutboxMessage, now: datetime) -> bool:
        pending_later = await session.scalar(select(OutboxMessage.id).where(
            OutboxMessage.occurrence_id == row.occurrence_id,
            OutboxMessage.recipient == row.recipient,
            OutboxMessage.kind == "later",
            OutboxMessage.status == "pending",
            OutboxMessage.send_at > now,
        ).limit(1))
        return pending_later is not None
