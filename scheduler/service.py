"""APScheduler as the clock: it wakes the planner and the dispatcher, nothing more.

Everything that must survive a restart lives in database rows, so jobs are in memory only.
One process per database runs them (Leadership); the others only answer chats.
"""

from __future__ import annotations

import asyncio
import fcntl
import gc
import logging
import os
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from bot import metrics
from bot.context import AppContext
from bot.services import retention
from scheduler import planner
from scheduler.dispatcher import Dispatcher

log = logging.getLogger(__name__)

PURGE_EVERY = timedelta(days=1)
STOP_WAIT = 8.0  # seconds a stopping process gives the job in flight (SIGTERM: 10 s in all)

_LEADER_LOCK_ID = 0x5653_5444  # "VSTD"
# A process that lost the clock waits this long before trying for it again, so a healthy
# process (whose dispatch job asks every 20 s) takes it over rather than the troubled one.
RETAKE_AFTER = 30.0


class Leadership:
    """Who runs the clock: one process per database.

    PostgreSQL: a session-level pg_try_advisory_lock, held on one connection in AUTOCOMMIT
    mode (a connection left idle in a transaction would be killed by servers with
    idle_in_transaction_session_timeout, and the lock with it). SQLite: an exclusive flock on
    ``<database>.clock.lock``, held while the process runs (an in-memory database has only
    one process). Either is released when the process dies.
    """

    def __init__(
        self, app: AppContext, *, confirm_timeout: float = 5.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.app = app
        self.confirm_timeout = confirm_timeout
        self.monotonic = monotonic
        self._lost_at: float | None = None
        # How many times this process took the clock: another process may have led (and
        # read the planner's change marks) in between, so each new term plans in full.
        self.terms = 0
        self._confirming = asyncio.Lock()
        self._conn: AsyncConnection | None = None  # PostgreSQL: the lock's session
        self._fd: int | None = None  # SQLite: the locked file
        self._said_elsewhere = False

    @property
    def _postgres(self) -> bool:
        return self.app.engine.dialect.name == "postgresql"

    def _lock_path(self) -> str | None:
        database = self.app.engine.url.database
        return None if not database or database == ":memory:" else f"{database}.clock.lock"

    async def check(self) -> bool:
        """Keep or take the clock; False while another process has it."""
        if await self.confirm():
            return True
        if self._lost_at is not None and self.monotonic() - self._lost_at < RETAKE_AFTER:
            return False
        got = await self._lock_postgres() if self._postgres else self._lock_file()
        if got:
            self.terms += 1
            self._said_elsewhere = False
            log.info("scheduler_leader")
        elif not self._said_elsewhere:  # one line, not one per tick
            self._said_elsewhere = True
            log.log(logging.INFO if self._postgres else logging.WARNING,
                    "scheduler_clock_elsewhere", extra={
                        "detail": "another process runs the reminder clock on this database; "
                                  "this one answers chats but plans and sends no reminders",
                        "lock": self._lock_path() if not self._postgres else _LEADER_LOCK_ID,
                    })
        return got

    async def confirm(self) -> bool:
        """Whether we still hold the clock; cheap (one round trip), for before each send."""
        if not self._postgres:
            return self._fd is not None or self._lock_path() is None
        async with self._confirming:  # concurrent senders ask at once; one connection answers
            if self._conn is None:
                return False
            try:
                # A session-level lock lasts exactly as long as its session: alive means held.
                await asyncio.wait_for(self._conn.scalar(text("SELECT 1")), self.confirm_timeout)
                return True
            except Exception:  # the connection died (or hangs), and the lock with it
                log.warning("scheduler_leader_lost")
                self._lost_at = self.monotonic()
                await self._drop()
                return False

    async def _lock_postgres(self) -> bool:
        conn = await self.app.engine.connect()
        try:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            got = await conn.scalar(
                text("SELECT pg_try_advisory_lock(:id)"), {"id": _LEADER_LOCK_ID})
        except BaseException:
            await conn.close()
            raise
        if got:
            self._conn = conn
            return True
        await conn.close()
        return False

    def _lock_file(self) -> bool:
        path = self._lock_path()
        if path is None:
            return True
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    async def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                await conn.invalidate()
            except Exception:
                log.debug("scheduler_lock_connection_invalidate_failed", exc_info=True)

    async def release(self) -> None:
        if self._conn is not None:
            try:
                # A session-level lock outlives the pooled connection's return: unlock.
                await self._conn.scalar(
                    text("SELECT pg_advisory_unlock(:id)"), {"id": _LEADER_LOCK_ID})
                await self._conn.close()
                self._conn = None
            except Exception:  # the session is gone already, and the lock with it
                await self._drop()
        if self._fd is not None:
            os.close(self._fd)  # closing the file releases its flock
            self._fd = None


class SchedulerService:
    def __init__(
        self, app: AppContext, dispatcher: Dispatcher, *,
        plan_every: timedelta = timedelta(minutes=5),
        dispatch_every: timedelta = timedelta(seconds=20),
    ) -> None:
        self.app = app
        self.dispatcher = dispatcher
        self.leadership = Leadership(app)
        self.scheduler = AsyncIOScheduler(timezone=UTC)
        self._running: set[asyncio.Task[None]] = set()
        self._stopping = False
        self._purged_at: datetime | None = None
        self.planner = planner.Planner(app, dispatcher.cal)
        self._planned_term = 0
        start = datetime.now(UTC)
        self.scheduler.add_job(self.plan, IntervalTrigger(seconds=plan_every.total_seconds()),
                               next_run_time=start, max_instances=1, coalesce=True)
        self.scheduler.add_job(self.dispatch,
                               IntervalTrigger(seconds=dispatch_every.total_seconds()),
                               next_run_time=start + timedelta(seconds=5), max_instances=1,
                               coalesce=True)

    async def _lead(self) -> bool:
        leading = await self.leadership.check()
        metrics.LEADER.set(1 if leading else 0)
        return leading

    async def _still_leading(self) -> bool:
        """Asked before every send: no more once the lock is lost (said at once on /healthz,
        not at the next tick) or the process is stopping (its unsent claims go back, for the
        next leader to send at once rather than after their lease)."""
        leading = not self._stopping and await self.leadership.confirm()
        if not leading:
            metrics.LEADER.set(0)
        return leading

    async def plan(self) -> None:
        await self._tracked(self._plan)

    async def dispatch(self) -> None:
        await self._tracked(self._dispatch)

    async def _tracked(self, work: Callable[[], Awaitable[None]]) -> None:
        """Run a job, known to ``stop``, which lets it finish before the lock is released
        (and before the database is closed under it)."""
        if self._stopping:
            return
        task = asyncio.current_task()
        assert task is not None
        self._running.add(task)
        try:
            await work()
        finally:
            self._running.discard(task)

    async def _plan(self) -> None:
        try:
            if await self._lead():
                if self._planned_term != self.leadership.terms:
                    self.planner = planner.Planner(self.app, self.dispatcher.cal)
                    self._planned_term = self.leadership.terms
                full_runs = self.planner.full_runs
                added = await self.planner.run()
                if self.planner.full_runs != full_runs:
                    freeze_survivors()
                metrics.REMINDERS.labels("planned", "").inc(added)
                await self._purge()
        except Exception:
            log.exception("plan_failed")

    async def _purge(self) -> None:
        """Once a day (and once after each start), what the retention setting lets go."""
        now = self.app.clock.now()
        if self._purged_at is not None and now - self._purged_at < PURGE_EVERY:
            return
        async with self.app.transaction() as session:
            deleted = await retention.purge(session, now, self.app.settings.retention_days)
        self._purged_at = now
        if any(deleted.values()):
            log.info("retention_purged", extra=deleted)

    async def _dispatch(self) -> None:
        try:
            if await self._lead():
                # Confirmed before every send: a process that lost the clock stops at once.
                stats = await self.dispatcher.run_once(self._still_leading)
                metrics.REMINDERS.labels("sent", "").inc(stats.sent)
                metrics.REMINDERS.labels("failed", "").inc(stats.failed)
                for reason, n in stats.reasons.items():
                    metrics.REMINDERS.labels("skipped", reason).inc(n)
                if stats.sent or stats.failed or stats.skipped or stats.lost:
                    log.info("dispatched", extra={
                        "sent": stats.sent, "skipped": stats.skipped, "failed": stats.failed,
                        "retried": stats.retried, "held": stats.held, "lost": stats.lost,
                    })
        except Exception:
            log.exception("dispatch_failed")

    def start(self) -> None:
        self.scheduler.start()

    async def stop(self) -> None:
        self._stopping = True  # the sends under way stop before the next message
        if self.scheduler.running:
            # Paused, not shut down yet: APScheduler's shutdown cancels the jobs under way at
            # once, which left a dispatch's claims to wait out their lease.
            self.scheduler.pause()
        if self._running:  # a plan or the send in flight finish; what is stuck is cancelled
            _done, stuck = await asyncio.wait(set(self._running), timeout=STOP_WAIT)
            for task in stuck:
                task.cancel()
            await asyncio.gather(*stuck, return_exceptions=True)
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        await self.leadership.release()
        metrics.LEADER.set(0)


def freeze_survivors() -> None:
    """Collect, then move what is still alive out of the cyclic collector's sight: done once
    started and after each full plan. A full plan keeps a nation's snapshot (~400,000 objects
    for 10,000 units) until the next one; scanned, it held the loop for ~50 ms per full
    collection, more than the send limiter's margin. The snapshot holds no reference cycles
    (dicts, lists, tuples, rows): what a later run replaces is still freed, by reference
    counting."""
    gc.collect()
    gc.freeze()
