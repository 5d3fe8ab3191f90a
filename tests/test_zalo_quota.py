"""The Zalo plan's monthly quota: messages counted, the top admins told at 80 % and 100 %,
and past it reminders go by Zalo only to people who have no other app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, datetime

import pytest
from sqlalchemy import select

from bot.channels.zalo import ZaloClient, ZaloSender
from bot.context import AppContext
from bot.messages import Capabilities
from bot.models import ChannelUsage, Member, OutboxKind, OutboxMessage, Responsible, Role
from bot.services import duties, members
from bot.views.reminders import render
from scheduler import planner
from scheduler.dispatcher import Dispatcher
from tests.conftest import VN, VirtualTime, add_tg_member, add_unit, make_settings
from tests.fakes.zalo_api import FakeZaloAPI
from tests.test_dispatcher import disable_catalog

TOKEN = "12345:secret"
ONLY_ZALO, BOTH, TOP_ADMIN = "z-only", "z-both", 9401


@pytest.fixture
async def bot(database_url: str, clock) -> AsyncIterator[tuple[AppContext, FakeZaloAPI]]:
    async with FakeZaloAPI(token=TOKEN) as zalo:
        app = await AppContext.create(make_settings(
            database_url, zalo_token=TOKEN, zalo_base_url=zalo.base_url,
            zalo_monthly_limit=5), clock=clock)
        try:
            yield app, zalo
        finally:
            await app.close()


async def _zalo_member(app: AppContext, unit: int, name: str, zalo_id: str) -> int:
    async with app.sessions() as session, session.begin():
        member = await members.register(
            session, unit_id=unit, role=Role.member, full_name=name, language="vi",
            channel="zalo", external_id=zalo_id, chat_id=zalo_id, now=app.clock.now())
        return member.id


async def test_past_the_quota_zalo_carries_only_what_reaches_nobody_else(
    bot, clock, tg_api, tg_sender
) -> None:
    app, zalo = bot
    clock.set(datetime(2026, 3, 2, 7, tzinfo=VN))
    unit = await add_unit(app, "Sở Nội vụ")
    await disable_catalog(app, unit)
    await add_tg_member(app, unit, Role.admin, "Quản trị", TOP_ADMIN)
    await _zalo_member(app, unit, "Chỉ có Zalo", ONLY_ZALO)
    both = await _zalo_member(app, unit, "Có cả hai", BOTH)
    async with app.sessions() as session, session.begin():
        member = await session.get(Member, both)
        assert member is not None
        await members.link_account(session, member, channel="telegram", external_id="9402",
                                   chat_id="9402", now=clock.now())
        member.preferred_channel = "zalo"
        for i, due in enumerate((date(2026, 3, 4), date(2026, 3, 5), date(2026, 3, 6))):
            await duties.add_deadline(session, unit_id=unit, title=f"Việc {i + 1}", stages="0",
                                      due_on=due, now=clock.now(),
                                      responsible=Responsible.everyone)
    caps = Capabilities(buttons=False, max_text=2000, files=False)
    sender = ZaloSender(app, ZaloClient(zalo.base_url, TOKEN), caps)
    vt = VirtualTime()
    dispatcher = Dispatcher(app, [sender, tg_sender], render, monotonic=vt.monotonic,
                            sleep=vt.sleep)

    async def day(d: int) -> None:
        clock.set(datetime(2026, 3, d, 8, tzinfo=VN))
        await planner.plan(app)
        await dispatcher.run_once()

    await day(4)  # 2 on Zalo: 40 %
    await day(5)  # 4 on Zalo: 80 % — the top admin is told
    async with app.sessions() as session:
        used = await session.scalar(select(ChannelUsage.sent))
        warned = list(await session.scalars(select(OutboxMessage.stage).where(
            OutboxMessage.kind == OutboxKind.quota)))
    assert used == 4 and warned == ["quota-zalo-2026-03-80"]
    await dispatcher.run_once()
    (warning,) = [m for m in tg_api.sent_messages(TOP_ADMIN) if "Zalo" in (m.text or "")]
    assert "4/5" in (warning.text or "") and "80%" in (warning.text or "")
    # 6/3: the one with only Zalo gets the 5th message, the limit; after it, the member
    # who also has Telegram is reached there, and the other still on Zalo.
    await day(6)
    async with app.sessions() as session, session.begin():
        await duties.add_deadline(session, unit_id=unit, title="Việc 4", stages="0",
                                  due_on=date(2026, 3, 9), now=clock.now(),
                                  responsible=Responsible.everyone)
    await day(9)

    def got(texts: list[str], title: str) -> int:
        return sum(f"«{title}»" in t for t in texts)

    on_zalo = {chat: [m.text or "" for m in zalo.sent_messages(chat)] for chat in (ONLY_ZALO, BOTH)}
    on_telegram = [m.text or "" for m in tg_api.sent_messages(9402)]
    assert [got(on_zalo[ONLY_ZALO], f"Việc {i}") for i in (1, 2, 3, 4)] == [1, 1, 1, 1]
    assert [got(on_zalo[BOTH], f"Việc {i}") for i in (1, 2, 3, 4)] == [1, 1, 0, 0]
    assert [got(on_telegram, f"Việc {i}") for i in (1, 2, 3, 4)] == [0, 0, 1, 1]
    async with app.sessions() as session:
        stages = set(await session.scalars(select(OutboxMessage.stage).where(
            OutboxMessage.kind == OutboxKind.quota)))
        used = await session.scalar(select(ChannelUsage.sent))
    assert stages == {"quota-zalo-2026-03-80", "quota-zalo-2026-03-100"}
    assert used == 6  # past the limit only for someone no other app reaches
