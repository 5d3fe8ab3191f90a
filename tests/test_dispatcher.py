"""The outbox under stress: crashes, downtime, night restarts and every kind of API failure."""

from __future__ import annotations

import asyncio
import inspect
from collections import Counter
from datetime import date, datetime, timedelta

from sqlalchemy import insert, select

from bot.channels.telegram import CAPS
from bot.context import AppContext
from bot.messages import Delivery, Inbound, SendLimits
from bot.models import ChatAccount, Member, OutboxMessage, Responsible, Role
from bot.services import duties
from bot.views.reminders import render
from handlers.router import handle
from scheduler import planner
from scheduler.dispatcher import CONCURRENCY, GROUP, LEASE, Dispatcher
from tests.conftest import VN, VirtualTime, add_tg_member, add_unit


class FakeSender:
    """A channel that notes each chat it sends to; the n-th send can be held in flight."""

    name = "telegram"
    caps = CAPS
    limits = SendLimits()

    def __init__(self, *, delay: float = 0.0, hold: int | None = None) -> None:
        self.sent: list[str] = []
        self.delay = delay
        self.hold = hold
        self.released = asyncio.Event()

    async def send(self, chat_id: str, replies: list) -> Delivery:
        self.sent.append(chat_id)
        if len(self.sent) == self.hold:
            await self.released.wait()
        await asyncio.sleep(self.delay)
        return Delivery("ok")


async def wait_until(predicate, within: float = 30.0) -> None:
    """Poll until true (never sleep a guessed time): tests assert on counts, not timing."""
    async with asyncio.timeout(within):
        while True:
            done = predicate()
            if inspect.isawaitable(done):
                done = await done
            if done:
                return
            await asyncio.sleep(0.005)


async def due_reminders(app, clock, n: int, first_chat: int = 10_000) -> None:
    """n members on Telegram (chats first_chat…), each with one reminder due now."""
    unit = await add_unit(app, "Bộ Tư pháp")
    await disable_catalog(app, unit)
    async with app.sessions() as session, session.begin():
        now = clock.now()
        result = await session.execute(insert(Member).returning(Member.id), [
            {"unit_id": unit, "role": "member", "full_name": f"Cán bộ {i}", "language": "vi",
             "active": True, "created_at": now} for i in range(n)
        ])
        await session.execute(insert(ChatAccount), [
            {"member_id": mid, "channel": "telegram", "external_id": str(first_chat + i),
             "chat_id": str(first_chat + i), "created_at": now}
            for i, mid in enumerate(result.scalars())
        ])
    await add_deadline(app, unit, date(2026, 3, 13), stages="0")
    clock.set(datetime(2026, 3, 13, 8, 30, tzinfo=VN))
    assert await planner.plan(app) == n


def fast_dispatcher(app, sender, **kw) -> Dispatcher:
    vt = VirtualTime()
    return Dispatcher(app, [sender], render, monotonic=vt.monotonic, sleep=vt.sleep, **kw)


async def add_deadline(app, unit: int, due: date, stages: str = "-7,-3,0,+2") -> None:
    """A deadline for every member (so each gets the reminders, and the focal point the digest)."""
    async with app.sessions() as session, session.begin():
        await duties.add_deadline(
            session, unit_id=unit, title="Báo cáo sơ kết 6 tháng", due_on=due,
            letter_number="123/BNV-VP", now=app.clock.now(), stages=stages,
            responsible=Responsible.everyone,
        )


async def disable_catalog(app, unit: int) -> None:
    async with app.sessions() as session, session.begin():
        for duty in await duties.applicable(session, unit):
            if duty.kind == "catalog":
                duty.enabled = False


async def statuses(app) -> Counter:
    async with app.sessions() as session:
        return Counter(r.status for r in await session.scalars(select(OutboxMessage)))


async def test_kill_and_restart_loses_nothing_and_repeats_at_most_in_flight(
    app, clock, tg_api, tg_sender
) -> None:
    unit = await add_unit(app, "Bộ Nội vụ")
    await disable_catalog(app, unit)
    clock.set(datetime(2026, 3, 13, 7, 0, tzinfo=VN))
    async with app.sessions() as session, session.begin():
        now = clock.now()
        result = await session.execute(insert(Member).returning(Member.id), [
            {"unit_id": unit, "role": "member", "full_name": f"Cán bộ {i}", "language": "vi",
             "active": True, "created_at": now} for i in range(1000)
        ])
        member_ids = list(result.scalars())
        await session.execute(insert(ChatAccount), [
            {"member_id": mid, "channel": "telegram", "external_id": str(10_000 + i),
             "chat_id": str(10_000 + i), "created_at": now} for i, mid in enumerate(member_ids)
        ])
    await add_deadline(app, unit, date(2026, 3, 13), stages="0")
    clock.set(datetime(2026, 3, 13, 8, 30, tzinfo=VN))
    assert await planner.plan(app) == 1000

    # Kill the dispatcher (cancel its task) once 300 messages have reached Telegram.
    task = asyncio.create_task(fast_dispatcher(app, tg_sender).run_once())
    await tg_api.wait_for(lambda: len(tg_api.calls("sendMessage")) >= 300, timeout=60)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    delivered_before = len(tg_api.sent_messages())
    assert 300 <= delivered_before < 1000

    # Restart: rows claimed by the dead process come back once their lease has expired.
    clock.advance(LEASE + timedelta(minutes=1))
    stats = await fast_dispatcher(app, tg_sender).run_once()
    assert (await statuses(app)) == {"sent": 1000}
    per_chat = Counter(m.chat_id for m in tg_api.sent_messages())
    assert set(per_chat) == {10_000 + i for i in range(1000)}  # every reminder arrived
    # At most the messages sent but not yet recorded at the kill can arrive twice: each of
    # the CONCURRENCY senders records its GROUP of recipients together.
    duplicates = sum(n - 1 for n in per_chat.values())
    assert duplicates <= CONCURRENCY * GROUP
    assert stats.sent == 1000 - delivered_before + duplicates


async def test_downtime_sends_useful_reminders_and_skips_stale_ones(
    app, clock, tg_api, tg_sender
) -> None:
    unit = await add_unit(app, "Sở Tư pháp")
    await disable_catalog(app, unit)
    member = await add_tg_member(app, unit, Role.member, "Lan", 4001)
    await add_tg_member(app, unit, Role.focal, "Hoa", 4002)
    # Deadline Fri 13/3: reminders Fri 6/3, Tue 10/3, Fri 13/3, overdue Mon 16/3; the focal
    # point's digest Thu 12/3. A second deadline, Tue 17/3: its "-3" falls on Sat 14/3 → 13/3.
    await add_deadline(app, unit, date(2026, 3, 13))
    await add_deadline(app, unit, date(2026, 3, 17), stages="-3")
    dispatcher = fast_dispatcher(app, tg_sender)
    clock.set(datetime(2026, 3, 6, 8, 0, tzinfo=VN))
    await planner.plan(app)
    assert (await dispatcher.run_once()).sent == 2  # both members, 7 days before

    # Down from Tue 10/3 07:00 to Fri 13/3 09:00 (three days and two hours).
    clock.set(datetime(2026, 3, 13, 9, 0, tzinfo=VN))
    await planner.plan(app)
    stats = await fast_dispatcher(app, tg_sender).run_once()
    assert stats.reasons == {"stale": 3}  # "-3" ×2 and the digest are pointless on the due day
    texts = [m.text or "" for m in tg_api.sent_messages(4001)]
    # One message on the 13th, for both deadlines: the due-day reminder (sent late) and the
    # one for the 17th, still useful.
    assert len(texts) == 2
    assert "1. " in texts[1] and "hôm nay" in texts[1] and "17/03/2026" in texts[1]
    async with app.sessions() as session:
        skipped = list(await session.scalars(
            select(OutboxMessage).where(OutboxMessage.status == "skipped")))
    assert {(r.kind, r.stage) for r in skipped} == {
        ("reminder", "before-3"), ("focal", "digest")
    }
    assert all(r.recipient != f"member:{member}" or r.stage == "before-3" for r in skipped)


async def test_no_messages_at_night_after_a_restart(app, clock, tg_api, tg_sender) -> None:
    unit = await add_unit(app, "Sở Y tế")
    await disable_catalog(app, unit)
    await add_tg_member(app, unit, Role.member, "Nam", 5001)
    await add_deadline(app, unit, date(2026, 3, 13), stages="-3")
    clock.set(datetime(2026, 3, 10, 22, 30, tzinfo=VN))  # back up late on Tuesday evening
    await planner.plan(app)
    dispatcher = fast_dispatcher(app, tg_sender)
    stats = await dispatcher.run_once()
    assert stats.held == 1 and tg_api.sent_messages() == []
    clock.set(datetime(2026, 3, 11, 3, 0, tzinfo=VN))
    assert (await dispatcher.run_once()).sent == 0
    clock.set(datetime(2026, 3, 11, 8, 0, tzinfo=VN))
    assert (await dispatcher.run_once()).sent == 1


async def test_api_failures_lose_nothing_and_flag_blocked_members(
    app, clock, tg_api, tg_sender
) -> None:
    unit = await add_unit(app, "Sở Công Thương")
    await disable_catalog(app, unit)
    await add_tg_member(app, unit, Role.focal, "Đầu mối", 6000)
    for tg_id in range(6001, 6006):
        await add_tg_member(app, unit, Role.member, f"Thành viên {tg_id}", tg_id)
    await add_deadline(app, unit, date(2026, 3, 13), stages="0")
    clock.set(datetime(2026, 3, 13, 8, 0, tzinfo=VN))
    await planner.plan(app)

    tg_api.fail_next("sendMessage", kind="429", retry_after=7)
    tg_api.fail_next("sendMessage", chat_id=6002, kind="500", times=2)
    tg_api.fail_next("sendMessage", chat_id=6003, kind="timeout", delay=2)
    tg_api.fail_next("sendMessage", chat_id=6004, kind="502")
    tg_api.fail_next("sendMessage", chat_id=6005, kind="403")

    # One at a time, so the 429 comes first: concurrent sends already under way would finish.
    dispatcher = fast_dispatcher(app, tg_sender, concurrency=1)
    first = await dispatcher.run_once()
    assert first.retried == 1 and first.sent == 0  # 429: the whole dispatcher waits
    assert dispatcher.paused_until == clock.now() + timedelta(seconds=7)
    assert (await dispatcher.run_once()).sent == 0  # still paused
    for _ in range(20):  # the run ends: bounded, by the clock, with no real waiting
        clock.advance(timedelta(minutes=1))
        await dispatcher.run_once()
        if (await statuses(app))["pending"] == 0:
            break
    # 6 sent = 5 reminders + the notice about 6005; the focal digest of 12/3 was stale.
    assert await statuses(app) == {"sent": 6, "failed": 1, "skipped": 1}

    delivered = Counter(m.chat_id for m in tg_api.sent_messages())
    assert delivered == {6000: 2, 6001: 1, 6002: 1, 6003: 1, 6004: 1}
    notice = tg_api.sent_messages(6000)[-1].text or ""
    assert "Thành viên 6005" in notice and "chặn" in notice
    async with app.sessions() as session:
        blocked = await session.scalar(
            select(ChatAccount).where(ChatAccount.external_id == "6005"))
        assert blocked is not None and blocked.unreachable_since is not None
        failed = await session.scalar(
            select(OutboxMessage).where(OutboxMessage.status == "failed"))
        assert failed is not None and failed.attempts == 1  # 403 is not retried

    # They unblock the bot and write to it: reachable again.
    await handle(app, Inbound("telegram", "6005", "6005", "/whoami"), CAPS)
    async with app.sessions() as session:
        account = await session.scalar(
            select(ChatAccount).where(ChatAccount.external_id == "6005"))
        assert account is not None and account.unreachable_since is None


async def test_turning_a_duty_off_stops_reminders_already_planned(
    app, clock, tg_api, tg_sender
) -> None:
    unit = await add_unit(app, "Sở Nông nghiệp")
    await disable_catalog(app, unit)
    await add_tg_member(app, unit, Role.member, "Hà", 9101)
    await add_deadline(app, unit, date(2026, 3, 13), stages="0")
    clock.set(datetime(2026, 3, 12, 9, 0, tzinfo=VN))
    assert await planner.plan(app) == 1  # tomorrow's reminder is in the outbox already
    async with app.sessions() as session, session.begin():
        (deadline,) = [d for d in await duties.applicable(session, unit) if d.kind == "deadline"]
        duties.update(deadline, enabled=False)
    clock.set(datetime(2026, 3, 13, 8, 0, tzinfo=VN))
    stats = await fast_dispatcher(app, tg_sender).run_once()
    assert stats.reasons == {"duty turned off": 1} and tg_api.sent_messages() == []


async def test_a_claim_taken_over_is_neither_sent_nor_recorded_by_its_old_owner(
    app, clock
) -> None:
    await due_reminders(app, clock, 3)
    # A claims all three and hangs in its first send, longer than the lease (one send at a
    # time: the scenario is one claim's).
    a_sender, b_sender = FakeSender(hold=1), FakeSender(hold=2)
    a_task = asyncio.create_task(Dispatcher(app, [a_sender], render, concurrency=1).run_once())
    await wait_until(lambda: len(a_sender.sent) == 1)
    clock.advance(LEASE + timedelta(minutes=1))
    # B takes the expired claims over, sends the first row and hangs in the second.
    b_task = asyncio.create_task(Dispatcher(app, [b_sender], render, concurrency=1).run_once())
    await wait_until(lambda: len(b_sender.sent) == 2)
    a_sender.released.set()
    a_stats = await a_task
    b_sender.released.set()
    b_stats = await b_task

    assert a_sender.sent == b_sender.sent[:1]  # A stops: only its row in flight went twice
    assert a_stats.sent == 0  # and A recorded nothing: those rows are B's
    assert b_stats.sent == 3 and len(b_sender.sent) == 3
    async with app.sessions() as session:
        rows = list(await session.scalars(select(OutboxMessage)))
    assert [(r.status, r.attempts) for r in rows] == [("sent", 1)] * 3


async def test_two_dispatchers_on_one_database_never_claim_the_same_row(app, clock) -> None:
    """Two processes dispatching at once (as before the clock lock on SQLite): each row once."""
    await due_reminders(app, clock, 300)
    other = await AppContext.create(app.settings, clock=clock, migrate=False)
    try:
        senders = [FakeSender(delay=0.002), FakeSender(delay=0.002)]
        results = await asyncio.gather(
            Dispatcher(app, [senders[0]], render, batch=7).run_once(),
            Dispatcher(other, [senders[1]], render, batch=7).run_once(),
        )
    finally:
        await other.close()
    per_chat = Counter(senders[0].sent + senders[1].sent)
    assert len(per_chat) == 300 and set(per_chat.values()) == {1}
    assert sum(r.sent for r in results) == 300


class OrderSender(FakeSender):
    """Notes what each chat received, and fails the test if one chat has two sends at once."""

    def __init__(self) -> None:
        super().__init__(delay=0.002, hold=1)  # the first message stays under way a while
        self.texts: dict[str, list[str]] = {}
        self.under_way: set[str] = set()

    async def send(self, chat_id: str, replies: list) -> Delivery:
        assert chat_id not in self.under_way, f"two sends at once to {chat_id}"
        self.under_way.add(chat_id)
        self.texts.setdefault(chat_id, []).append(replies[0].text)
        try:
            return await super().send(chat_id, replies)
        finally:
            self.under_way.discard(chat_id)


async def test_concurrent_senders_keep_each_chats_order_across_claims(app, clock) -> None:
    """Three deadlines due at once for 20 people, claimed one row at a time by 8 senders: a
    person's later rows wait until the earlier message is sent, then come in order."""
    await due_reminders(app, clock, 20)  # "Báo cáo sơ kết 6 tháng", due 13/3
    async with app.sessions() as session, session.begin():
        unit = (await session.scalar(select(Member.unit_id)))
        for title in ("Hạn thứ hai", "Hạn thứ ba"):
            await duties.add_deadline(session, unit_id=unit, title=title, now=clock.now(),
                                      due_on=date(2026, 3, 13), stages="0",
                                      responsible=Responsible.everyone)
    assert await planner.plan(app) == 40
    sender = OrderSender()

    async def let_go() -> None:
        # Once the others' first messages went out meanwhile, give the senders a moment in
        # which a second send to the held chat would be tried (it must not be), then let go.
        try:
            await wait_until(lambda: len(sender.sent) >= 20)
            await asyncio.sleep(0.2)
        finally:  # never leave the run waiting: a failure here fails the test, not hangs it
            sender.released.set()

    release = asyncio.create_task(let_go())
    stats = await Dispatcher(app, [sender], render, batch=1, concurrency=8).run_once()
    await release
    assert stats.sent == 60 and await statuses(app) == {"sent": 60}
    assert len(sender.texts) == 20
    for texts in sender.texts.values():
        assert len(texts) == 3
        assert "sơ kết 6 tháng" in texts[0] and "thứ hai" in texts[1] and "thứ ba" in texts[2]


async def test_a_claim_with_nothing_to_send_does_not_end_the_run(app, clock) -> None:
    """The first rows in line are all skipped (their people left): the senders claim on
    and send what comes after them in the same run, not a minute later."""
    await due_reminders(app, clock, 8)
    async with app.sessions() as session, session.begin():
        first = list(await session.scalars(select(Member).order_by(Member.id).limit(5)))
        for member in first:
            member.active = False
    sender = FakeSender()
    stats = await fast_dispatcher(app, sender, batch=2, concurrency=1).run_once()
    assert (stats.sent, stats.skipped) == (3, 5)
    assert stats.reasons == {"member removed": 5}
    assert len(sender.sent) == 3
