"""Last month's summary reaches each admin on the month's first working day at 08:00, once,
with its chart — through the outbox like any reminder."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from bot.models import OutboxKind, OutboxMessage, Role
from bot.services import activities, checkins, duties
from bot.views.reminders import render
from scheduler import planner
from scheduler.dispatcher import Dispatcher
from tests.conftest import VN, VirtualTime, add_tg_member, add_unit

ADMIN, SECOND_ADMIN, FOCAL = 8101, 8102, 8103


async def _quiet(app, unit: int) -> None:
    """No duty reminders: only the summary is planned."""
    async with app.sessions() as session, session.begin():
        for duty in await duties.applicable(session, unit, enabled_only=False):
            duty.enabled = False


async def test_the_summary_goes_out_on_the_first_working_day_once(app, clock, tg_api,
                                                                 tg_sender) -> None:
    unit = await add_unit(app, "Sở Y tế")
    await _quiet(app, unit)
    admin = await add_tg_member(app, unit, Role.admin, "Quản trị", ADMIN)
    await add_tg_member(app, unit, Role.admin, "Phó ban", SECOND_ADMIN)
    await add_tg_member(app, unit, Role.focal, "Đầu mối", FOCAL)
    kind = activities.get("article")
    assert kind is not None
    clock.set(datetime(2025, 12, 20, 9, tzinfo=VN))
    async with app.sessions() as session, session.begin():
        await checkins.create(session, unit_id=unit, member_id=admin, channel="telegram",
                              now=clock.now(), values=checkins.Values(kind, {
                                  "date": "2025-12-10", "title": "Bài tháng 12",
                                  "channel": "bulletin", "url": None}))
    vt = VirtualTime()

    def dispatcher() -> Dispatcher:  # a fresh one: as after a restart
        return Dispatcher(app, [tg_sender], render, monotonic=vt.monotonic, sleep=vt.sleep)

    # 1/1/2026 is a holiday (a Thursday): the summary waits for Friday 2/1 at 08:00.
    for moment in (datetime(2025, 12, 31, 16, tzinfo=VN), datetime(2026, 1, 1, 10, tzinfo=VN),
                   datetime(2026, 1, 2, 7, 59, tzinfo=VN)):
        clock.set(moment)
        await planner.plan(app)
        assert (await dispatcher().run_once()).sent == 0
    async with app.sessions() as session:
        rows = list(await session.scalars(select(OutboxMessage).where(
            OutboxMessage.kind == OutboxKind.summary)))
    assert len(rows) == 2  # one per admin, planned once however often the planner ran
    assert {r.send_at for r in rows} == {datetime(2026, 1, 2, 8, tzinfo=VN)}
    assert {r.stage for r in rows} == {"summary-2025-12"}

    clock.set(datetime(2026, 1, 2, 8, 0, tzinfo=VN))
    await planner.plan(app)
    assert (await dispatcher().run_once()).sent == 2
    for later in (datetime(2026, 1, 2, 9, tzinfo=VN), datetime(2026, 1, 5, 8, tzinfo=VN)):
        clock.set(later)
        await planner.plan(app)
        assert (await dispatcher().run_once()).sent == 0  # never twice, across restarts

    for person in (ADMIN, SECOND_ADMIN):
        sent = tg_api.sent_messages(person)
        text = "\n".join(m.text or "" for m in sent)
        assert "Tổng hợp tháng" in text and "Sở Y tế" in text
        assert "tháng 12/2025" in text
        assert "Tin, bài viết về bình đẳng giới: 1" in text
        assert any(m.method == "sendPhoto" for m in sent)  # the chart
    assert tg_api.sent_messages(FOCAL) == []  # admins only
