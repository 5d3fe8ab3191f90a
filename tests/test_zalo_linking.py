"""One person on both apps: /link joins a Zalo account to a Telegram member, /channel picks
where reminders go, and a blocked app hands the reminder to the other one."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.app import start_channel
from bot.channels import zalo as zalo_module
from bot.channels.telegram import TelegramChannel
from bot.channels.zalo import ZaloChannel
from bot.context import AppContext
from bot.models import (
    ChatAccount,
    Member,
    OutboxKind,
    OutboxMessage,
    OutboxStatus,
    Responsible,
    Role,
)
from bot.services import duties, invites, members
from bot.views.reminders import render
from scheduler import planner
from scheduler.dispatcher import Dispatcher
from tests.conftest import VN, VirtualTime, add_tg_member, add_unit, make_settings
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.fakes.zalo_api import FakeZaloAPI
from tests.test_dispatcher import disable_catalog
from tests.test_zalo import TOKEN, number_of

FOCAL_TG, LAN_TG = 9101, 9102
LAN_ZALO, OTHER_ZALO = "z-lan", "z-other"


@dataclass
class Both:
    app: AppContext
    tg: FakeTelegramAPI
    zalo: FakeZaloAPI
    dispatcher: Dispatcher


@pytest.fixture
async def both(database_url: str, clock, tg_api: FakeTelegramAPI,
               monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Both]:
    """Telegram and Zalo (polling) both running, and a dispatcher with both as senders."""
    monkeypatch.setattr(zalo_module, "POLL_SECONDS", 1)
    async with FakeZaloAPI(token=TOKEN) as zalo:
        app = await AppContext.create(make_settings(
            database_url, telegram_base_url=tg_api.base_url, zalo_token=TOKEN,
            zalo_base_url=zalo.base_url), clock=clock)
        channels = [TelegramChannel(app), ZaloChannel(app)]
        for channel in channels:
            await start_channel(app, channel)
        vt = VirtualTime()
        try:
            yield Both(app, tg_api, zalo, Dispatcher(app, channels, render,
                                                     monotonic=vt.monotonic, sleep=vt.sleep))
        finally:
            for channel in reversed(channels):
                await channel.stop()
            await app.close()


async def tg_say(tg: FakeTelegramAPI, user: int, text: str) -> str:
    before = len(tg.sent_messages(user))
    tg.push_message(user, text)
    return (await tg.wait_for_messages(user, before + 1))[-1].text or ""


async def zalo_say(zalo: FakeZaloAPI, user: str, text: str) -> str:
    before = len(zalo.sent_messages(user))
    zalo.push_text(user, text, display_name="Lan trên Zalo")
    return (await zalo.wait_for_messages(user, before + 1))[-1].text or ""


def code_in(text: str) -> str:
    (code,) = [line.strip() for line in text.splitlines() if invites.looks_like_code(line)]
    return code


async def accounts_of(app: AppContext, member_id: int) -> set[tuple[str, str]]:
    async with app.sessions() as session:
        found = await session.scalars(select(ChatAccount).where(
            ChatAccount.member_id == member_id))
        return {(a.channel, a.external_id) for a in found}


async def lan_rows(app: AppContext, lan: int) -> list[OutboxMessage]:
    async with app.sessions() as session:
        return list(await session.scalars(select(OutboxMessage).where(
            OutboxMessage.recipient == f"member:{lan}").order_by(OutboxMessage.send_at)))


async def test_linked_apps_share_one_member_and_reminders_fall_back_when_blocked(
    both: Both, clock
) -> None:
    app, tg, zalo, dispatcher = both.app, both.tg, both.zalo, both.dispatcher
    unit = await add_unit(app, "Sở Công Thương")
    await disable_catalog(app, unit)
    await add_tg_member(app, unit, Role.focal, "Đầu mối", FOCAL_TG)
    lan = await add_tg_member(app, unit, Role.member, "Nguyễn Lan", LAN_TG)

    # /link on Telegram gives a code; sent from Zalo, it joins that account to Lan.
    code = code_in(await tg_say(tg, LAN_TG, "/link"))
    linked = await zalo_say(zalo, LAN_ZALO, code)
    assert "Nguyễn Lan" in linked and "/channel" in linked
    async with app.sessions() as session:
        assert len(list(await session.scalars(select(Member)))) == 2  # no new member
        on_zalo = await members.active_member_for(session, "zalo", LAN_ZALO)
    assert on_zalo is not None and on_zalo.id == lan
    assert await accounts_of(app, lan) == {("telegram", str(LAN_TG)), ("zalo", LAN_ZALO)}
    # The code worked once: someone else sending it gets nothing.
    assert "đã được sử dụng" in await zalo_say(zalo, OTHER_ZALO, code)
    async with app.sessions() as session:
        assert await members.active_member_for(session, "zalo", OTHER_ZALO) is None

    # /channel from Zalo, answered by number: reminders go to Zalo.
    offer = await zalo_say(zalo, LAN_ZALO, "/channel")
    assert "Telegram" in offer
    assert "Zalo" in await zalo_say(zalo, LAN_ZALO, number_of(offer, "Zalo"))
    async with app.sessions() as session:
        member = await members.by_id(session, lan)
        assert member is not None and member.preferred_channel == "zalo"

    async with app.sessions() as session, session.begin():
        await duties.add_deadline(session, unit_id=unit, title="Báo cáo 6 tháng",
                                  due_on=date(2026, 3, 13), now=clock.now(), stages="-2,-1,0",
                                  responsible=Responsible.everyone)
    tg_before, zalo_before = len(tg.sent_messages(LAN_TG)), len(zalo.sent_messages(LAN_ZALO))

    # Wed 11/3: the reminder goes to Zalo, once, and not to Telegram.
    clock.set(datetime(2026, 3, 11, 8, 0, tzinfo=VN))
    await planner.plan(app)
    assert (await dispatcher.run_once()).sent == 2  # Lan, and the focal point on Telegram
    assert len(tg.sent_messages(LAN_TG)) == tg_before
    (first,) = zalo.sent_messages(LAN_ZALO)[zalo_before:]
    assert "Báo cáo 6 tháng" in (first.text or "")

    # Thu 12/3: Zalo says Lan blocked the bot; the same row goes to Telegram, once.
    zalo.fail_next("sendMessage", "403", chat_id=LAN_ZALO)
    clock.set(datetime(2026, 3, 12, 8, 0, tzinfo=VN))
    await planner.plan(app)
    stats = await dispatcher.run_once()
    assert (stats.retried, stats.failed) == (1, 0)
    assert len(tg.sent_messages(LAN_TG)) == tg_before
    assert (await dispatcher.run_once()).sent == 1
    (fallback,) = tg.sent_messages(LAN_TG)[tg_before:]
    assert "Báo cáo 6 tháng" in (fallback.text or "")
    assert len(zalo.sent_messages(LAN_ZALO)) == zalo_before + 1  # nothing more on Zalo
    second = (await lan_rows(app, lan))[1]
    assert (second.status, second.attempts) == (OutboxStatus.sent, 2)  # one row, two tries
    assert await dispatcher.run_once() == type(stats)()  # nothing left to send
    assert len(tg.sent_messages(LAN_TG)) == tg_before + 1
    async with app.sessions() as session:
        zalo_account = await members.find_account(session, "zalo", LAN_ZALO)
        assert zalo_account is not None and zalo_account.unreachable_since is not None
        assert list(await session.scalars(select(OutboxMessage).where(
            OutboxMessage.kind == OutboxKind.unreachable))) == []  # Telegram still reaches her
    focal_before = len(tg.sent_messages(FOCAL_TG))

    # Fri 13/3: Telegram is blocked too: no app is left, so the focal point is told.
    tg.fail_next("sendMessage", kind="403", chat_id=LAN_TG)
    clock.set(datetime(2026, 3, 13, 8, 0, tzinfo=VN))
    await planner.plan(app)
    stats = await dispatcher.run_once()
    assert stats.failed == 1
    await dispatcher.run_once()
    told = [m.text or "" for m in tg.sent_messages(FOCAL_TG)[focal_before:]]
    assert any("Nguyễn Lan" in text and "Báo cáo 6 tháng" in text for text in told), told
    third = (await lan_rows(app, lan))[2]
    assert third.status == OutboxStatus.failed
    assert len(zalo.sent_messages(LAN_ZALO)) == zalo_before + 1
    async with app.sessions() as session:
        (notice,) = await session.scalars(select(OutboxMessage).where(
            OutboxMessage.kind == OutboxKind.unreachable))
    assert notice.status == OutboxStatus.sent and notice.stage == f"m{lan}"

    # Lan writes from Zalo again: it reaches her again.
    await zalo_say(zalo, LAN_ZALO, "/whoami")
    async with app.sessions() as session:
        zalo_account = await members.find_account(session, "zalo", LAN_ZALO)
        assert zalo_account is not None and zalo_account.unreachable_since is None


async def test_a_link_code_expires_dies_with_its_member_and_takes_over_a_left_account(
    both: Both, clock
) -> None:
    app, tg, zalo = both.app, both.tg, both.zalo
    unit = await add_unit(app, "Sở Tài chính")
    lan = await add_tg_member(app, unit, Role.member, "Nguyễn Lan", LAN_TG)
    binh = await add_tg_member(app, unit, Role.member, "Trần Bình", FOCAL_TG)

    # A code is good for an hour.
    stale = code_in(await tg_say(tg, LAN_TG, "/link"))
    clock.advance(timedelta(hours=1, seconds=1))
    assert "hết hạn" in await zalo_say(zalo, LAN_ZALO, stale)

    # A code of someone removed meanwhile joins nobody.
    code = code_in(await tg_say(tg, FOCAL_TG, "/link"))
    async with app.sessions() as session, session.begin():
        member = await members.by_id(session, binh)
        assert member is not None
        await members.remove(session, member, clock.now())
    assert "không hợp lệ" in await zalo_say(zalo, LAN_ZALO, code)
    assert await accounts_of(app, binh) == {("telegram", str(FOCAL_TG))}

    # A Zalo account of someone who left is a stranger's: a code joins it to Lan.
    async with app.sessions() as session, session.begin():
        gone = await members.register(session, unit_id=unit, role=Role.member,
                                      full_name="Đã nghỉ", language="vi", channel="zalo",
                                      external_id=OTHER_ZALO, chat_id=OTHER_ZALO,
                                      now=clock.now())
        await session.refresh(gone, ["unit"])
        await members.remove(session, gone, clock.now())
    code = code_in(await tg_say(tg, LAN_TG, "/link"))
    assert "Nguyễn Lan" in await zalo_say(zalo, OTHER_ZALO, code)
    async with app.sessions() as session:
        on_zalo = await members.active_member_for(session, "zalo", OTHER_ZALO)
    assert on_zalo is not None and on_zalo.id == lan
    assert ("zalo", OTHER_ZALO) in await accounts_of(app, lan)
    assert "Nguyễn Lan" in await zalo_say(zalo, OTHER_ZALO, "/whoami")
