"""One clock per database: the leader's lock, its loss mid-dispatch, and the takeover."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.context import AppContext
from bot.views.reminders import render
from scheduler.dispatcher import CONCURRENCY, GROUP, LEASE, Dispatcher
from scheduler.service import RETAKE_AFTER, Leadership, SchedulerService
from tests.test_dispatcher import FakeSender, due_reminders, statuses, wait_until


def postgres_only(database_url: str) -> None:
    if "postgresql" not in database_url:
        pytest.skip("PostgreSQL advisory lock")


async def backend_gone(app: AppContext, pid: int) -> bool:
    async with app.engine.connect() as conn:
        return not await conn.scalar(
            text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid})


async def kill_backend(app: AppContext, leadership: Leadership) -> None:
    """Terminate the leader's lock connection from a third connection, as an outage would."""
    assert leadership._conn is not None
    pid = await leadership._conn.scalar(text("SELECT pg_backend_pid()"))
    async with app.engine.connect() as conn:
        assert await conn.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        await conn.commit()
    await wait_until(lambda: backend_gone(app, pid))


def lock_file_exists(app: AppContext) -> bool:
    return Path(f"{app.engine.url.database}.clock.lock").exists()  # next to the database


async def test_the_lock_connection_is_never_left_inside_a_transaction(app, database_url) -> None:
    """Servers with idle_in_transaction_session_timeout would otherwise kill it."""
    postgres_only(database_url)
    leadership = Leadership(app)
    try:
        assert await leadership.check() and await leadership.check()
        assert leadership._conn is not None
        pid = await leadership._conn.scalar(text("SELECT pg_backend_pid()"))
        async with app.engine.connect() as conn:
            state = await conn.scalar(
                text("SELECT state FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid})
        assert state == "idle"
    finally:
        await leadership.release()


async def test_a_second_process_on_one_sqlite_file_says_once_it_leaves_the_clock(
    app, clock, database_url, caplog
) -> None:
    if "sqlite" not in database_url:
        pytest.skip("SQLite lock file")
    other = await AppContext.create(app.settings, clock=clock, migrate=False)
    first, second = SchedulerService(app, Dispatcher(app, [], render)), \
        SchedulerService(other, Dispatcher(other, [], render))
    try:
        await first.plan()
        with caplog.at_level(logging.INFO, logger="scheduler.service"):
            await second.plan()
            await second.dispatch()
        assert [r.getMessage() for r in caplog.records] == ["scheduler_clock_elsewhere"]
        assert lock_file_exists(app)
    finally:
        await first.stop()
        await second.stop()
        await other.close()


async def test_a_leader_that_lost_its_lock_stops_before_the_next_send(
    app, clock, database_url
) -> None:
    postgres_only(database_url)
    await due_reminders(app, clock, 5)
    sender = FakeSender(hold=1)  # one send at a time: "the next send" is well defined
    service = SchedulerService(app, Dispatcher(app, [sender], render, concurrency=1))
    other = await AppContext.create(app.settings, clock=clock, migrate=False)
    takeover_sender = FakeSender()
    takeover = SchedulerService(other, Dispatcher(other, [takeover_sender], render))
    try:
        task = asyncio.create_task(service.dispatch())
        await wait_until(lambda: len(sender.sent) == 1)  # the first message is in flight
        await kill_backend(app, service.leadership)
        sender.released.set()
        await task
        assert len(sender.sent) == 1  # no second send after the lock was lost
        assert await statuses(app) == {"sent": 1, "pending": 4}  # the rest handed back
        await takeover.dispatch()  # no lease to wait for
        assert sorted(sender.sent + takeover_sender.sent) == [str(10_000 + i) for i in range(5)]
    finally:
        await service.stop()
        await takeover.stop()
        await other.close()


async def test_fault_injection_leader_killed_mid_dispatch(app, clock, database_url) -> None:
    """Two processes, slow sends; the leader's session is killed mid-dispatch and the other
    takes over after the old claims' leases ran out (the worst case: A's sends outlast
    them): nothing lost, nothing repeated beyond what A had sent and not yet recorded."""
    postgres_only(database_url)
    n = 120
    await due_reminders(app, clock, n)
    other = await AppContext.create(app.settings, clock=clock, migrate=False)
    a_sender, b_sender = FakeSender(delay=0.05), FakeSender(delay=0.05)
    a = SchedulerService(app, Dispatcher(app, [a_sender], render))
    b = SchedulerService(other, Dispatcher(other, [b_sender], render))
    stop = asyncio.Event()

    async def b_clock() -> None:  # B's dispatch job, ticking fast
        while not stop.is_set():
            await b.dispatch()
            await asyncio.sleep(0.01)

    try:
        assert await a.leadership.check()
        a_task = asyncio.create_task(a.dispatch())
        b_task = asyncio.create_task(b_clock())
        await wait_until(lambda: len(a_sender.sent) >= 20)
        await kill_backend(app, a.leadership)
        clock.advance(LEASE + timedelta(minutes=1))  # the worst case: A's leases ran out
        await asyncio.wait_for(a_task, timeout=30)
        await wait_until(lambda: _all_sent(app, n), within=60)
        stop.set()
        await b_task
    finally:
        stop.set()
        await a.stop()
        await b.stop()
        await other.close()
    assert len(a_sender.sent) < n and b_sender.sent  # A stopped, B took over
    per_chat = Counter(a_sender.sent + b_sender.sent)
    assert set(per_chat) == {str(10_000 + i) for i in range(n)}  # nothing lost
    # At most what was sent but not yet recorded when the leases ran out under A: each of
    # its CONCURRENCY senders records GROUP recipients together.
    assert sum(per_chat.values()) - n <= CONCURRENCY * GROUP


async def _all_sent(app: AppContext, n: int) -> bool:
    return await statuses(app) == {"sent": n}


async def test_a_process_that_lost_the_clock_leaves_it_to_another_for_a_while(
    app, database_url
) -> None:
    """The troubled process stands back, so the healthy one's next tick takes the clock."""
    postgres_only(database_url)
    now = [0.0]
    troubled = Leadership(app, monotonic=lambda: now[0])
    healthy = Leadership(app)
    try:
        assert await troubled.check()
        await kill_backend(app, troubled)
        assert not await troubled.check()  # lost, and not retaken at once though it is free
        now[0] += RETAKE_AFTER - 1
        assert not await troubled.check()
        assert await healthy.check()  # the other process takes it
        await healthy.release()
        now[0] += 1
        assert await troubled.check()  # after the wait, it may lead again
    finally:
        await troubled.release()
        await healthy.release()
