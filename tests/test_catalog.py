"""The default catalog against the seeds: report dates are estimates until a letter sets them,
and the focal point is asked to set them; titles carry their year."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from bot.models import Duty, OutboxMessage, Role
from bot.services import duties
from bot.views.reminders import render
from scheduler import planner
from scheduler.dispatcher import Dispatcher
from tests.conftest import VN, VirtualTime, add_tg_member, add_unit
from tests.test_composition import FakeChannel


async def _only(app, unit: int, code: str) -> None:
    async with app.sessions() as session, session.begin():
        for duty in await duties.applicable(session, unit):
            duty.enabled = duty.code == code


async def test_the_focal_point_is_asked_to_set_an_estimated_report_date(
    app, clock, tg_api, tg_sender
) -> None:
    unit = await add_unit(app, "Sở Nội vụ")
    await _only(app, unit, "annual_report")
    await add_tg_member(app, unit, Role.focal, "Hoa", 6001)
    vt = VirtualTime()
    dispatcher = Dispatcher(app, [tg_sender], render, monotonic=vt.monotonic, sleep=vt.sleep)
    # 30 days before the estimated 15/12/2026 is Sunday 15/11 → Friday 13/11.
    clock.set(datetime(2026, 11, 13, 8, 0, tzinfo=VN))
    await planner.plan(app)
    await dispatcher.run_once()
    (asked,) = tg_api.sent_messages(6001)
    text = asked.text or ""
    assert "hạn dự kiến" in text and "công văn hướng dẫn" in text
    assert "Báo cáo kết quả công tác bình đẳng giới và vì sự tiến bộ của phụ nữ năm 2026" in text
    assert "thứ Ba, ngày 15/12/2026" in text


async def test_setting_the_date_confirms_it_and_drops_the_question(app, clock) -> None:
    unit = await add_unit(app, "Sở Tư pháp")
    await _only(app, unit, "half_year_report")
    await add_tg_member(app, unit, Role.focal, "Hoa", 6002)
    clock.set(datetime(2026, 5, 21, 8, 0, tzinfo=VN))  # 30 days before the estimated 20/6
    await planner.plan(app)
    async with app.sessions() as session, session.begin():
        duty = await session.scalar(select(Duty).where(
            Duty.unit_id == unit, Duty.code == "half_year_report"))
        assert duty is not None and not duty.date_confirmed
        duties.update(duty, day=25)  # the letter says 25/6
        assert duty.date_confirmed
    channel = FakeChannel()
    channel.name = "telegram"
    stats = await Dispatcher(app, [channel], render).run_once()
    assert channel.sent == [] and stats.reasons == {"date confirmed": 1}
    async with app.sessions() as session:
        (row,) = list(await session.scalars(select(OutboxMessage)))
        assert row.kind == "confirm" and row.status == "skipped"
