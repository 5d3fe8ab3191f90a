"""The dispatcher: claims due outbox rows, sends them, and records what happened.

Rows are claimed a batch at a time (status 'sending', a lease, and a token naming this claim)
and prepared in the same transaction; they are sent with no database transaction open, and
then recorded, only where they still carry the token. No other process can take a row while
its lease runs; a send that would start after the lease ran out is not made (the row may be
another's by then), and a row taken over is never recorded over. With a ``leading`` check,
the dispatcher also stops before the next send once it is no longer the leader, handing its
unsent claims back.

So a kill, crash or outage between a send and its record repeats the messages then sent and
not yet recorded (at most CONCURRENCY × GROUP) once the lease runs out; nothing is lost, and
a leadership change adds no other repeats. This holds while a batch is sent within LEASE and
the processes' clocks agree to well within it. Stale rows are skipped, not sent late; rows
that come due outside the send window wait for the next working morning.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.context import AppContext
from bot.exports.report_chart import render_png
from bot.i18n import Translator
from bot.messages import Delivery, Reply, Sender
from bot.models import (
    Answer,
    ChatAccount,
    GroupChat,
    Member,
    OccurrenceStatus,
    OutboxKind,
    OutboxMessage,
    OutboxStatus,
    Role,
    SubmissionStatus,
    Unit,
)
from bot.services import approvals, members, occurrences, outbox, reports, usage
from bot.services.calendar import DutyDate
from bot.services.periods import period_of
from bot.views.reminders import ReminderMessage
from bot.views.reminders import combine as combine_replies
from scheduler import recurrence as rec
from scheduler.planner import SUMMARY_LATE, people_of
from scheduler.ratelimit import RateLimiter
from scheduler.workdays import Calendar

log = logging.getLogger(__name__)
T = TypeVar("T")

MAX_ATTEMPTS = 8
# Senders at once: at a real round trip of ~100 ms, 3 would keep Telegram's 30 a second busy
# if they did nothing else; each also reads and writes the database (bench/README.md).
CONCURRENCY = 8
# Recipients a sender prepares, sends and records together (one transaction before, one
# after): a hard kill may repeat what was sent since the last record, CONCURRENCY × GROUP.
GROUP = 4
LEASE = timedelta(minutes=5)

Renderer = Callable[[Translator, ReminderMessage], Reply | None]
# Several replies due to one person at once, as one message.
Combiner = Callable[[Translator, list[Reply]], Reply]
# Whether this process still runs the clock (scheduler.service.Leadership.confirm).
Leading = Callable[[], Awaitable[bool]]
# Kinds sent in stages: a stage is stale once a later one of the same kind is due.
_STAGED = (OutboxKind.reminder, OutboxKind.escalation, OutboxKind.group)


@dataclass
class Stats:
    sent: int = 0
    skipped: int = 0
    retried: int = 0
    failed: int = 0
    held: int = 0
    lost: int = 0  # claims no longer ours (taken over after their lease, or row gone)
    reasons: dict[str, int] = field(default_factory=dict)


# A recipient's claimed rows, prepared: each row's id with its reply, and where they go.
_Prepared = tuple[list[tuple[int, Reply]], "_Target"]
# ... once sent, with how it went.
_Done = tuple[list[tuple[int, Reply]], "_Target", Delivery]


@dataclass
class _Group:
    """Up to GROUP recipients' prepared messages, for one sender to send and record."""

    token: str
    until: datetime  # the claim's lease
    recipients: list[str]
    prepared: list[_Prepared]


@dataclass
class _Run:
    """One dispatch run's shared state: the groups waiting for a sender, the recipients
    queued or under way, and whether the last claim was full (more may be due)."""

    waiting: deque[_Group] = field(default_factory=deque)
    busy: set[str] = field(default_factory=set)
    unsent: list[tuple[str, list[int]]] = field(default_factory=list)
    more: bool = True
    stopped: bool = False
    claiming: asyncio.Lock = field(default_factory=asyncio.Lock)
    to_record: list[tuple[str, list[_Done]]] = field(default_factory=list)  # token, sends
    recording: asyncio.Lock = field(default_factory=asyncio.Lock)
    sent: asyncio.Event = field(default_factory=asyncio.Event)  # a group is done


@dataclass
class _Facts:
    """What deciding a batch's rows needs beyond the rows, read in a few queries for the
    whole batch rather than a few per row."""

    answers: dict[tuple[int, int], str]  # (occurrence, member): their answer
    # (occurrence, recipient): their other staged or snoozed rows, (kind, status, send_at)
    others: dict[tuple[int, str], list[tuple[str, str, datetime]]]
    accounts: dict[int, list[ChatAccount]]  # by member: those not known unreachable
    used: dict[str, int]  # this month's messages per channel with a quota


@dataclass(frozen=True)
class _Target:
    sender: Sender
    chat_id: str
    group: bool
    member: Member | None
    account: ChatAccount | None


async def _to_the_end(work: Coroutine[Any, Any, T]) -> T:
    """Run one transaction to its end even if the caller is cancelled (a stop, a kill in a
    test), then pass the cancellation on: a transaction cut off half-way would keep its
    connection, and SQLite's write lock with it."""
    task = asyncio.ensure_future(work)
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        await asyncio.wait([task])
        raise


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(30 * 2 ** (attempts - 1), 3600))


class Dispatcher:
    """Sends due outbox rows through the channels' senders, each within its own limits."""

    def __init__(
        self, app: AppContext, senders: list[Sender], render: Renderer, *,
        combine: Combiner = combine_replies, cal: Calendar | None = None, batch: int = 100,
        concurrency: int = CONCURRENCY, monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.app = app
        self.senders = {sender.name: sender for sender in senders}
        self.render = render
        self.combine = combine
        self.cal = cal or app.calendar
        self.quotas = {"zalo": app.settings.zalo_monthly_limit}
        self.limiters = {
            sender.name: RateLimiter(
                per_second=sender.limits.per_second, chat_interval=sender.limits.chat_interval,
                group_per_minute=sender.limits.group_per_minute, monotonic=monotonic, sleep=sleep,
            )
            for sender in senders
        }
        self.batch = batch
        self.concurrency = concurrency
        # Messages prepared and not yet sent, per channel: a quota check counts them.
        self._under_way: Counter[str] = Counter()
        self.paused_until: datetime | None = None  # after a 429 the whole bot waits

    async def run_once(self, leading: Leading | None = None) -> Stats:
        """Send everything that is due now; returns what happened.

        ``concurrency`` senders share the channels' limiters; each takes GROUP recipients at
        a time and records them in one transaction. Batches of rows are claimed and
        prepared (in one transaction) ahead while the senders work, so they never wait on a
        claim. A recipient queued or under way is not queued again (their later rows go
        back, for a later claim): each chat's messages keep their order. ``leading`` is
        asked before each send; once it says no, or flood control answers, the run stops
        and hands back what it holds.
        """
        stats = Stats()
        run = _Run()

        async def claim_more() -> None:
            async with run.claiming:
                if not run.more or run.stopped or len(run.waiting) >= self.concurrency \
                        or self._paused():
                    return
                token = secrets.token_hex(16)  # a new owner for every batch
                now = self.app.clock.now()
                run.more, ready = await _to_the_end(self._claim_ready(run, now, token, stats))
                for i in range(0, len(ready), GROUP):
                    part = ready[i:i + GROUP]
                    run.waiting.append(_Group(token, now + LEASE, [r for r, _ in part],
                                              [p for _, p in part]))

        async def sender() -> None:
            while not run.stopped:
                await claim_more()
                if not run.waiting:
                    if not run.more or self._paused():
                        return
                    # The claim held only rows to people already under way, or none to
                    # send: claim again, once one of those sends is done.
                    if run.busy:
                        run.sent.clear()
                        await run.sent.wait()
                    continue
                group = run.waiting.popleft()
                try:
                    left = await self._deliver(run, group, stats, leading)
                except BaseException:
                    run.stopped = True  # the others stop too, rather than wait on this one
                    raise
                finally:
                    run.busy.difference_update(group.recipients)
                    run.sent.set()
                if left is not None or self._paused():
                    run.stopped = True
                    run.unsent.append((group.token, left or []))

        await asyncio.gather(*(sender() for _ in range(self.concurrency)))
        for group in run.waiting:
            run.unsent.append((group.token, [row_id for parts, _ in group.prepared
                                             for row_id, _ in parts]))
            for _, target in group.prepared:
                self._under_way[target.sender.name] -= 1
        for token, ids in run.unsent:
            if ids:
                await _to_the_end(self._release(ids, token))
        return stats

    def _paused(self) -> bool:
        return self.paused_until is not None and self.app.clock.now() < self.paused_until

    async def _claim_ready(self, run: _Run, now: datetime, token: str, stats: Stats
                           ) -> tuple[bool, list[tuple[str, _Prepared]]]:
        """Claim the next batch and prepare it, in one transaction: whether the batch was
        full (more may be due), and each recipient's message. Rows to a recipient already
        queued or under way go back."""
        async with self.app.transaction() as session:
            claimed = await self._claim(session, now, token)
            # One message per person (or group) for everything due to them now.
            by_recipient: dict[str, list[int]] = {}
            for row_id, recipient in claimed:
                by_recipient.setdefault(recipient, []).append(row_id)
            later = [x for r, ids in by_recipient.items() if r in run.busy for x in ids]
            if later:
                await self._give_back(session, later, token)
            ready = [r for r in by_recipient if r not in run.busy]
            prepared = await self._prepare_batch(
                session, [by_recipient[r] for r in ready], now, stats)
        to_send = [(r, p) for r, p in zip(ready, prepared, strict=True) if p is not None]
        run.busy.update(r for r, _ in to_send)  # queued from now until sent
        return bool(later) or len(claimed) == self.batch, to_send

    async def _claim(self, session: AsyncSession, now: datetime, token: str
                     ) -> list[tuple[int, str]]:
        due = or_(
            and_(OutboxMessage.status == OutboxStatus.pending,
                 OutboxMessage.next_attempt_at <= now),
            and_(OutboxMessage.status == OutboxStatus.sending, OutboxMessage.claimed_until < now),
        )
        pick = (
            select(OutboxMessage.id).where(due)
            .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id).limit(self.batch)
        )
        picked: ColumnElement[bool]
        if session.bind.dialect.name == "postgresql":
            # The batch is locked first, then claimed, in one transaction: PostgreSQL skips
            # rows another is claiming, and the UPDATE re-checks `due` on each row as it is
            # once locked. (As a sub-select of the UPDATE, LIMIT … FOR UPDATE SKIP LOCKED
            # may run again for every row the UPDATE visits, claiming every due row.)
            ids = list(await session.scalars(pick.with_for_update(skip_locked=True)))
            if not ids:
                return []
            picked = OutboxMessage.id.in_(ids)
        else:
            # One statement, run under SQLite's write lock: two dispatchers never claim
            # one row.
            picked = OutboxMessage.id.in_(pick)
        claimed = await session.execute(
            update(OutboxMessage).where(picked, due)
            .values(status=OutboxStatus.sending, claimed_until=now + LEASE, claim_token=token)
            .returning(OutboxMessage.id, OutboxMessage.next_attempt_at,
                       OutboxMessage.recipient, OutboxMessage.kind)
            .execution_options(synchronize_session=False)
        )
        ordered = sorted(claimed, key=lambda r: (r[1], r[0]))
        # Rows to one person go as one message; a summary (a picture) goes on its own.
        return [(row_id, recipient + ("#summary" if kind == OutboxKind.summary else ""))
                for row_id, _, recipient, kind in ordered]

    @staticmethod
    async def _fence(session: AsyncSession, row_id: int, token: str, **values: object) -> bool:
        """Update the row only if our claim on it stands (and lock it till commit)."""
        result = await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == row_id, OutboxMessage.claim_token == token,
                   OutboxMessage.status == OutboxStatus.sending)
            .values(**values).returning(OutboxMessage.id)
            .execution_options(synchronize_session=False)
        )
        return result.first() is not None

    async def _release(self, ids: list[int], token: str) -> None:
        """Give back claimed rows we will not get to (paused, or no longer the leader)."""
        async with self.app.transaction() as session:
            await self._give_back(session, ids, token)

    @staticmethod
    async def _give_back(session: AsyncSession, ids: list[int], token: str) -> None:
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(ids), OutboxMessage.claim_token == token,
                   OutboxMessage.status == OutboxStatus.sending)
            .values(status=OutboxStatus.pending, claimed_until=None, claim_token=None)
            .execution_options(synchronize_session=False)
        )

    async def _deliver(self, run: _Run, group: _Group, stats: Stats, leading: Leading | None
                       ) -> list[int] | None:
        """Send a few recipients' prepared messages, one each; the ids left unsent if we
        must stop (no longer the leader, or flood control), else None."""
        prepared = group.prepared
        done: list[_Done] = []
        left: list[int] | None = None
        try:
            for i, (parts, target) in enumerate(prepared):
                if self.app.clock.now() >= group.until:
                    # A send outlasted the lease: the rest may be another process's now.
                    stats.lost += sum(len(rest) for rest, _ in prepared[i:])
                    break
                delivery = await self._send(parts, target, leading)
                if delivery is not None:
                    done.append((parts, target, delivery))
                if delivery is None or delivery.retry_after is not None:  # stop, or 429
                    left = [row_id for rest, _ in prepared[i + (delivery is not None):]
                            for row_id, _ in rest]
                    break
        finally:
            for _, target in prepared:
                self._under_way[target.sender.name] -= 1
        await self._record(run, group.token, done, stats)
        return left

    async def _record(self, run: _Run, token: str, done: list[_Done], stats: Stats) -> None:
        """Record one sender's sends; returns once they are recorded. Sends that finish while
        a record is being written go together into the next: a few transactions for many
        groups. A sender still waits for its own record before it sends again, so what is
        sent and not recorded stays within CONCURRENCY × GROUP."""
        if not done:
            return
        run.to_record.append((token, done))
        async with run.recording:
            if not run.to_record:
                return  # ours went into the record written while we waited
            taken, run.to_record = run.to_record, []
            try:
                await _to_the_end(self._record_all(taken, stats))
            except BaseException:
                run.stopped = True  # the others' sends are not recorded either
                raise

    async def _prepare_batch(self, session: AsyncSession, batch: list[list[int]],
                             now: datetime, stats: Stats) -> list[_Prepared | None]:
        """What to send to each recipient of a claimed batch (None: nothing), those rows to
        skip or hold marked. Rows and what deciding them needs are read for the whole batch:
        a few queries, not a few per row."""
        ids = [row_id for ids in batch for row_id in ids]
        if not ids:
            return []
        rows = {row.id: row for row in await session.scalars(
            select(OutboxMessage).where(OutboxMessage.id.in_(ids)))}
        facts = await self._facts(session, list(rows.values()), now)
        prepared: list[_Prepared | None] = []
        for recipient in batch:
            parts: list[tuple[int, Reply]] = []
            target: _Target | None = None
            for row_id in recipient:
                found = await self._prepare(session, rows[row_id], now, facts, stats)
                if found is not None:
                    target, reply = found
                    parts.append((row_id, reply))
            if target is None:
                prepared.append(None)
                continue
            prepared.append((parts, target))
            # Under way from now (the next recipient's quota check counts it) until the
            # sender has counted it (``_deliver``).
            self._under_way[target.sender.name] += 1
        return prepared

    async def _facts(self, session: AsyncSession, rows: list[OutboxMessage], now: datetime
                     ) -> _Facts:
        """Read what deciding these rows needs; the units and members they name are loaded
        into the session on the way (so ``session.get`` finds them without a query)."""
        people = {int(r.recipient.partition(":")[2]) for r in rows
                  if r.recipient.startswith("member:")}
        on_duty = [r for r in rows if r.occurrence is not None]
        occ_ids = {r.occurrence_id for r in on_duty}
        units = {r.occurrence.unit_id for r in on_duty}  # type: ignore[union-attr]
        if units:
            list(await session.scalars(select(Unit).where(Unit.id.in_(units))))
        answers: dict[tuple[int, int], str] = {}
        accounts: dict[int, list[ChatAccount]] = {}
        if people:
            list(await session.scalars(select(Member).where(Member.id.in_(people))))
            accounts = await members.reachable_accounts(session, people)
            if occ_ids:
                answers = await occurrences.answers_of(session, occ_ids, people)
        others: dict[tuple[int, str], list[tuple[str, str, datetime]]] = {}
        staged = [r for r in on_duty if r.kind in _STAGED]
        if staged:
            for occ, recipient, kind, status, send_at in await session.execute(
                select(OutboxMessage.occurrence_id, OutboxMessage.recipient,
                       OutboxMessage.kind, OutboxMessage.status, OutboxMessage.send_at)
                .where(OutboxMessage.occurrence_id.in_({r.occurrence_id for r in staged}),
                       OutboxMessage.recipient.in_({r.recipient for r in staged}),
                       OutboxMessage.kind.in_([*_STAGED, OutboxKind.later]),
                       OutboxMessage.send_at > min(r.send_at for r in staged))):
                others.setdefault((occ, recipient), []).append((kind, status, send_at))
        return _Facts(answers, others, accounts, await self._used(session, now))

    async def _used(self, session: AsyncSession, now: datetime) -> dict[str, int]:
        month = usage.month_of(now)
        return {channel: await usage.sent(session, channel, month)
                for channel, limit in self.quotas.items() if limit is not None}

    async def _send(self, parts: list[tuple[int, Reply]], target: _Target,
                    leading: Leading | None) -> Delivery | None:
        """One message to one recipient; None if we are no longer the leader."""
        lang = target.member.language if target.member else self.app.settings.default_language
        reply = self.combine(Translator(lang), [r for _, r in parts])
        # Last check before the send: a leader that lost its lock sends nothing more, so a
        # leadership change can only overlap the sends already under way (``concurrency``).
        # (Before the limiter, so that nothing comes between its go-ahead and the send.)
        if leading is not None and not await leading():
            return None
        await self.limiters[target.sender.name].wait(target.chat_id, group=target.group)
        return await target.sender.send(target.chat_id, [reply])

    async def _prepare(
        self, session: AsyncSession, row: OutboxMessage, now: datetime, facts: _Facts,
        stats: Stats,
    ) -> tuple[_Target, Reply] | None:
        """Where and what to send for one claimed row, or None (skipped or held)."""
        unit = await self._unit(session, row)
        local_now = now.astimezone(unit.tz)
        reason = await self._skip_reason(session, row, local_now, facts)
        target = None if reason else await self._target(session, row, facts)
        if reason is None and target is None:
            reason = "unreachable"
        if reason is None:
            assert target is not None
            if not self.cal.window.contains(local_now, self.cal.cal):
                row.status = OutboxStatus.pending
                row.claimed_until, row.claim_token = None, None
                row.next_attempt_at = self.cal.window.at_or_after(local_now, self.cal.cal)
                stats.held += 1
                return None
            lang = target.member.language if target.member else \
                self.app.settings.default_language
            message = await self._message(session, row, unit, local_now, target)
            reply = self.render(Translator(lang), message)
            if reply is not None:
                return target, reply
            reason = "nothing to say"
        row.status, row.last_error = OutboxStatus.skipped, reason
        row.claimed_until, row.claim_token = None, None
        stats.skipped += 1
        stats.reasons[reason] = stats.reasons.get(reason, 0) + 1
        return None

    async def _record_all(self, taken: list[tuple[str, list[_Done]]], stats: Stats) -> None:
        """What happened to the sends, in one transaction: the usual case, all sent, in one
        statement per claim that also checks each row is still ours."""
        now = self.app.clock.now()
        async with self.app.transaction() as session:
            for token, done in taken:
                sent = [row_id for parts, _, delivery in done if delivery.outcome == "ok"
                        for row_id, _ in parts]
                if sent:
                    recorded = set(await session.scalars(
                        update(OutboxMessage)
                        .where(OutboxMessage.id.in_(sent), OutboxMessage.claim_token == token,
                               OutboxMessage.status == OutboxStatus.sending)
                        .values(status=OutboxStatus.sent, sent_at=now, claimed_until=None,
                                claim_token=None, attempts=OutboxMessage.attempts + 1)
                        .returning(OutboxMessage.id)
                        .execution_options(synchronize_session=False)))
                    stats.sent += len(recorded)
                    for row_id in set(sent) - recorded:
                        self._lost(row_id, stats)
                for parts, target, delivery in done:
                    if delivery.outcome != "ok":
                        for row_id, _ in parts:
                            await self._record_failure(session, row_id, token, target,
                                                       delivery, stats, now)

    @staticmethod
    def _lost(row_id: int, stats: Stats) -> None:
        # Our send outlasted the lease and another process took the row over: it records
        # (and may repeat) it, we must not overwrite its state.
        stats.lost += 1
        log.warning("outbox_claim_lost", extra={"outbox_id": row_id})

    async def _record_failure(
        self, session: AsyncSession, row_id: int, token: str, target: _Target,
        delivery: Delivery, stats: Stats, now: datetime,
    ) -> None:
        if not await self._fence(session, row_id, token, attempts=OutboxMessage.attempts + 1,
                                 claimed_until=None, claim_token=None):
            self._lost(row_id, stats)
            return
        row = await session.get(OutboxMessage, row_id)
        assert row is not None
        row.last_error = (delivery.error or delivery.outcome)[:500]
        if delivery.outcome == "blocked" and target.account is not None and \
                await self._mark_unreachable(session, row, target, now):
            row.status, row.next_attempt_at = OutboxStatus.pending, now  # the other app
            stats.retried += 1
            return
        # Flood control (429) is retried as long as it takes; other errors a few times.
        if delivery.outcome == "retry" and (
            delivery.retry_after is not None or row.attempts < MAX_ATTEMPTS
        ):
            row.status = OutboxStatus.pending
            if delivery.retry_after is not None:
                wait = timedelta(seconds=delivery.retry_after)
                self.paused_until = now + wait
                row.next_attempt_at = now + wait
            else:
                row.next_attempt_at = now + backoff(row.attempts)
            stats.retried += 1
            return
        row.status = OutboxStatus.failed
        stats.failed += 1
        log.warning("outbox_failed", extra={
            "outbox_id": row.id, "kind": row.kind, "error": row.last_error,
        })

    async def _mark_unreachable(
        self, session: AsyncSession, row: OutboxMessage, target: _Target, now: datetime
    ) -> bool:
        """This app cannot reach the member: True if another can; else the focal point is
        told (for a duty's reminder)."""
        account = await session.get(ChatAccount, target.account.id)  # type: ignore[union-attr]
        member = target.member
        assert member is not None
        if account is not None and account.unreachable_since is None:
            account.unreachable_since = now
            log.info("member_unreachable", extra={"member_id": member.id,
                                                  "channel": account.channel})
            await session.flush()
        accounts = (await members.reachable_accounts(session, [member.id])).get(member.id, [])
        if self._reachable(member, accounts, await self._used(session, now)):
            return True
        if row.occurrence_id is None:
            return False  # a notice to someone who has left: nobody needs to remind them
        focals = await session.scalars(select(Member.id).where(
            Member.unit_id == member.unit_id, Member.active.is_(True), Member.role == Role.focal,
            Member.id != member.id,
        ))
        await outbox.enqueue(session, [
            outbox.row(row.occurrence_id, outbox.member_recipient(focal_id), OutboxKind.unreachable,
                       f"m{member.id}", now, now)
            for focal_id in focals
        ])
        return False

    async def _target(self, session: AsyncSession, row: OutboxMessage, facts: _Facts
                      ) -> _Target | None:
        kind, _, ident = row.recipient.partition(":")
        if kind == "group":
            group = await session.get(GroupChat, int(ident))
            sender = self.senders.get(group.channel) if group else None
            if group is None or sender is None:
                return None
            return _Target(sender, group.chat_id, True, None, None)
        member = await members.by_id(session, int(ident))
        if member is None:
            return None
        for account in self._reachable(member, facts.accounts.get(member.id, []), facts.used):
            return _Target(self.senders[account.channel], account.chat_id, False, member,
                           account)
        return None

    def _reachable(self, member: Member, accounts: list[ChatAccount], used: dict[str, int]
                   ) -> list[ChatAccount]:
        """Of the member's accounts not known unreachable, those a sender can reach, the
        app they chose first: one message goes to one app, not to each."""
        usable = [a for a in accounts if a.channel in self.senders]
        usable.sort(key=lambda a: a.channel != member.preferred_channel)
        # A channel past its monthly quota (``used`` this month, with those under way)
        # carries only what reaches nobody otherwise.
        within = [a for a in usable if (limit := self.quotas.get(a.channel)) is None
                  or used.get(a.channel, 0) + self._under_way[a.channel] < limit]
        return within or usable

    @staticmethod
    async def _unit(session: AsyncSession, row: OutboxMessage) -> Unit:
        """The unit the row is about: its occurrence's, or (a notice) the one it names or
        its recipient's."""
        if row.occurrence is not None:
            unit_id = row.occurrence.unit_id
        elif row.payload and "unit_id" in row.payload:
            unit_id = int(row.payload["unit_id"])
        else:
            member = await members.by_id(session, int(row.recipient.partition(":")[2]))
            assert member is not None  # a notice goes to a member; members are not deleted
            unit_id = member.unit_id
        unit = await session.get(Unit, unit_id)
        assert unit is not None  # occurrences and members go with their unit
        return unit

    async def _message(
        self, session: AsyncSession, row: OutboxMessage, unit: Unit, local_now: datetime,
        target: _Target,
    ) -> ReminderMessage:
        """Everything the renderer needs to word this row."""
        missing: tuple[str, ...] = ()
        if row.kind in (OutboxKind.focal, OutboxKind.escalation):
            # Who of those responsible has not answered (for a focal duty: the focal point).
            responsible = (await people_of(session, unit)).responsible(row.occurrence.duty)
            unanswered = {m.id for m in await occurrences.unanswered(session, row.occurrence)}
            missing = tuple(m.full_name for m in responsible if m.id in unanswered)
        about = None
        if row.kind == OutboxKind.unreachable:
            member = await members.by_id(session, int(row.stage.removeprefix("m")))
            about = member.full_name if member else None
        link = self.app.deep_link(target.sender.name) if target.group else None
        item = DutyDate.stored(row.occurrence) if row.occurrence is not None else None
        report, chart, notice = None, None, None
        if row.kind in (OutboxKind.approval, OutboxKind.decision) and row.payload:
            notice = await self._submission_notice(session, row)
        elif row.kind == OutboxKind.quota:
            notice = row.payload
        if row.kind == OutboxKind.summary and row.payload:
            report = await reports.build(session, unit, period_of(row.payload["period"]),
                                         self.cal.cal)
            if target.sender.caps.files:  # drawing takes a while: off the event loop
                chart = await asyncio.to_thread(render_png, report)
        return ReminderMessage(
            kind=row.kind, occurrence_id=row.occurrence_id, item=item,
            unit_name=unit.name, today=local_now.date(), missing=missing, about=about,
            private_link=link, report=report, chart=chart, notice=notice,
        )

    @staticmethod
    async def _submission_notice(session: AsyncSession, row: OutboxMessage) -> dict[str, object]:
        """What a report sent up (to approve) or its decision (to the unit) says."""
        assert row.payload is not None
        sub = await approvals.by_id(session, int(row.payload["submission_id"]))
        assert sub is not None  # checked by _skip_reason in this transaction
        unit = await session.get(Unit, sub.unit_id)
        assert unit is not None
        who_id = sub.submitted_by if row.kind == OutboxKind.approval else sub.decided_by
        who = await members.by_id(session, who_id) if who_id else None
        return {"submission_id": sub.id, "unit": unit.name, "unit_id": unit.id,
                "period": sub.period, "by": who.full_name if who else "—",
                "late": approvals.on_time(sub, unit) is False, "comment": sub.comment or "",
                "action": str(row.payload.get("action", ""))}

    @staticmethod
    async def _notice_skip_reason(
        session: AsyncSession, row: OutboxMessage, now: datetime
    ) -> str | None:
        """A notice (no duty) is void once its reader is gone, or what it says no longer
        holds."""
        member = await members.by_id(session, int(row.recipient.partition(":")[2]))
        active = member is not None and member.active
        if row.kind == OutboxKind.removed:  # void only if they came back meanwhile
            return "member back" if active else None
        if not active:
            return "member removed"
        if row.kind == OutboxKind.summary:
            assert member is not None
            if member.role != Role.admin:
                return "no longer an admin"
            return "stale" if now - row.send_at > SUMMARY_LATE else None
        if row.kind in (OutboxKind.approval, OutboxKind.decision):
            sub = await approvals.by_id(session, int((row.payload or {})["submission_id"]))
            if sub is None:
                return "submission gone"
            if row.kind == OutboxKind.approval and sub.status != SubmissionStatus.submitted:
                return "decided"  # another admin of the unit above decided meanwhile
        return None

    async def _skip_reason(
        self, session: AsyncSession, row: OutboxMessage, now: datetime, facts: _Facts
    ) -> str | None:
        """Why this row should not be sent; `now` is in the unit's timezone."""
        occ = row.occurrence
        if occ is None:
            return await self._notice_skip_reason(session, row, now)
        if row.kind != OutboxKind.unreachable and occ.status != OccurrenceStatus.open:
            return "occurrence closed"
        if row.kind != OutboxKind.unreachable and not occ.duty.enabled:
            return "duty turned off"  # planned before an admin turned it off
        if row.kind == OutboxKind.confirm and occ.duty.date_confirmed:
            return "date confirmed"  # an admin set the date from the letter meanwhile
        member = None
        if row.recipient.startswith("member:"):
            member = await members.by_id(session, int(row.recipient.partition(":")[2]))
            if member is None or not member.active:
                return "member removed"
        others = facts.others.get((occ.id, row.recipient), [])
        if row.kind in (OutboxKind.reminder, OutboxKind.later) and member is not None:
            if facts.answers.get((occ.id, member.id)) in (Answer.done, Answer.na):
                return "answered"
            if row.kind == OutboxKind.reminder and any(
                    kind == OutboxKind.later and status == OutboxStatus.pending and at > now
                    for kind, status, at in others):
                return "snoozed"  # a reminder they asked for comes later
        staged = row.kind in _STAGED
        later = [at for kind, _, at in others
                 if staged and kind == row.kind and row.send_at < at <= now]
        before_due = row.kind == OutboxKind.focal or (
            staged and rec.Stage.parse(row.stage).before_due)
        if rec.stale(before_due=before_due, due_on=occ.due_on, send_at=row.send_at, now=now,
                     later_send_ats=later):
            return "stale"
        return None
