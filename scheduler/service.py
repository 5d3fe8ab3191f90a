"""APScheduler as the clock: it wakes the planner and the dispatcher, nothing more.

Everything that must survive a restart lives in database rows, so jobs are in memory only.
With several bot processes on one PostgreSQL, only the holder of an advisory lock runs them.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.context import AppContext
from scheduler import planner
from scheduler.dispatcher import Dispatcher

log = logging.getLogger(__name__)

_LEADER_LOCK_ID = 0x5653_5444  # "VSTD"


class Leadership:
    """PostgreSQL: hold pg_try_advisory_lock on one open connection. SQLite: always leader."""

    def __init__(self, app: AppContext) -> None:
        self.app = app
        self._conn: AsyncConnection | None = None

    async def check(self) -> bool:
        if self.app.engine.dialect.name != "postgresql":
            return True
        if self._conn is not None:
            try:
                await self._conn.scalar(text("SELECT 1"))
                return True
            except Exception:  # the connection died, and the lock with it
                log.warning("scheduler_leader_lost")
                await self._conn.invalidate()
                self._conn = None
        conn = await self.app.engine.connect()
        got = await conn.scalar(text("SELECT pg_try_advisory_lock(:id)"), {"id": _LEADER_LOCK_ID})
        await conn.commit()
        if got:
            self._conn = conn
            log.info("scheduler_leader")
            return True
        await conn.close()
        return False

    async def release(self) -> None:
        if self._conn is not None:
            # A session-level lock outlives the pooled connection's return: unlock explicitly.
            await self._conn.scalar(text("SELECT pg_advisory_unlock(:id)"), {"id": _LEADER_LOCK_ID})
            await self._conn.commit()
            await self._conn.close()
            self._conn = None


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
        start = datetime.now(UTC)
        self.scheduler.add_job(self.plan, IntervalTrigger(seconds=plan_every.total_seconds()),
                               next_run_time=start, max_instances=1, coalesce=True)
        self.scheduler.add_job(self.dispatch,
                               IntervalTrigger(seconds=dispatch_every.total_seconds()),
                               next_run_time=start + timedelta(seconds=5), max_instances=1,
                               coalesce=True)

    async def plan(self) -> None:
        try:
            if await self.leadership.check():
                await planner.plan(self.app, self.dispatcher.cal)
        except Exception:
            log.exception("plan_failed")

    async def dispatch(self) -> None:
        try:
            if await self.leadership.check():
                stats = await self.dispatcher.run_once()
                if stats.sent or stats.failed or stats.skipped:
                    log.info("dispatched", extra={
                        "sent": stats.sent, "skipped": stats.skipped, "failed": stats.failed,
                        "retried": stats.retried, "held": stats.held,
                    })
        except Exception:
            log.exception("dispatch_failed")

    def start(self) -> None:
        self.scheduler.start()

    async def stop(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        await self.leadership.release()
