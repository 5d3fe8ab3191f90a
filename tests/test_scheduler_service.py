"""The clock wiring: APScheduler jobs call the planner and dispatcher; one leader per database."""

from __future__ import annotations

import gc
from datetime import date, datetime

from sqlalchemy import func, select

from bot.context import AppContext
from bot.models import OutboxMessage, Role
from bot.services import duties
from bot.views.reminders import render
from scheduler.dispatcher import Dispatcher
from scheduler.service import Leadership, SchedulerService
from tests.conftest import VN, add_tg_member, add_unit


async def test_only_one_process_leads(app, clock) -> None:
    other = await AppContext.create(app.settings, clock=clock, migrate=False)
    first, second = Leadership(app), Leadership(other)
    try:
        assert await first.check()
        assert await first.check()  # and keeps it
        # PostgreSQL: the advisory lock is taken; SQLite: the lock file next to the database.
        assert not await second.check()
        await first.release()
        assert await second.check()  # the next process takes over
    finally:
        await first.release()
        await second.release()
        await other.close()


async def test_jobs_plan_and_send(app, clock, tg_sender, tg_api) -> None:
    unit = await add_unit(app, "Sở Xây dựng")
    await add_tg_member(app, unit, Role.member, "Mai", 9001)
    async with app.sessions() as session, session.begin():
        await duties.add_deadline(session, unit_id=unit, title="Báo cáo", due_on=date(2026, 3, 13),
                                  now=clock.now(), stages="0")
    clock.set(datetime(2026, 3, 13, 9, 0, tzinfo=VN))
    service = SchedulerService(app, Dispatcher(app, [tg_sender], render))
    jobs = {job.name for job in service.scheduler.get_jobs()}
    assert jobs == {"SchedulerService.plan", "SchedulerService.dispatch"}

    async def outbox_rows() -> int:
        async with app.sessions() as session:
            return await session.scalar(select(func.count()).select_from(OutboxMessage)) or 0

    frozen = gc.get_freeze_count()
    try:
        await service.plan()
        # the first plan's snapshot lives on: frozen out of the collector's full scans
        after_first = gc.get_freeze_count()
        assert after_first > frozen
        planned = await outbox_rows()
        await service.plan()
        assert gc.get_freeze_count() <= after_first  # a replan freezes nothing more
    finally:
        gc.unfreeze()
    assert planned >= 1 and await outbox_rows() == planned  # planning twice adds nothing
    await service.dispatch()
    await service.stop()
    assert [m.chat_id for m in tg_api.sent_messages() if "Báo cáo" in (m.text or "")] == [9001]
