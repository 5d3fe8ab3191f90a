"""The composition root and the channel port: any channel plugs in the same way, and one
person's concurrent messages (two processes on one database) are each answered."""

from __future__ import annotations

import asyncio
from datetime import date, datetime

from bot.app import configured_channels, make_dispatcher, serve
from bot.context import AppContext
from bot.messages import Capabilities, Delivery, Inbound, Reply, SendLimits
from bot.models import Role
from bot.services import duties, members
from handlers.router import handle
from scheduler import planner
from tests.conftest import VN, add_tg_member, add_unit, make_settings

APOLOGY = "Xin lỗi"


class FakeChannel:
    """A channel that is not Telegram: its own name, capabilities, limits and links."""

    name = "fake"
    caps = Capabilities(buttons=False, max_text=2000)
    limits = SendLimits(per_second=1000)

    def __init__(self) -> None:
        self.events: list[str] = []
        self.sent: list[tuple[str, Reply]] = []

    def deep_link(self, code: str | None = None) -> str | None:
        return f"fake://bot?join={code}" if code else "fake://bot"

    async def start(self) -> None:
        self.events.append("start")

    async def stop(self) -> None:
        self.events.append("stop")

    async def send(self, chat_id: str, replies: list[Reply]) -> Delivery:
        self.sent += [(chat_id, r) for r in replies]
        return Delivery("ok")


async def test_channels_come_from_the_settings(database_url, clock) -> None:
    with_token = await AppContext.create(make_settings(database_url), clock=clock)
    without = await AppContext.create(
        make_settings(database_url, telegram_token=None), clock=clock, migrate=False)
    try:
        assert [c.name for c in configured_channels(with_token)] == ["telegram"]
        assert configured_channels(without) == []
    finally:
        await with_token.close()
        await without.close()


async def test_serve_starts_channels_registers_links_and_stops_them(app) -> None:
    first, second = FakeChannel(), FakeChannel()
    second.name = "other"
    stop = asyncio.Event()
    task = asyncio.create_task(serve(app, [first, second], stop))
    for _ in range(100):
        if second.events:
            break
        await asyncio.sleep(0.01)
    assert first.events == ["start"] and second.events == ["start"]
    assert app.deep_link("fake", "abc") == "fake://bot?join=abc"
    assert app.deep_link("telegram") is None  # not started: no link is made up
    stop.set()
    await asyncio.wait_for(task, 10)
    assert first.events == ["start", "stop"] and second.events == ["start", "stop"]


async def test_one_dispatcher_sends_through_each_members_own_channel(app, clock) -> None:
    unit = await add_unit(app, "Sở Y tế")
    on_fake = await add_tg_member(app, unit, Role.focal, "Lan", 501)
    async with app.sessions() as session, session.begin():
        member = await members.by_id(session, on_fake)
        assert member is not None
        # Lan also (and only there reachable by this dispatcher) uses the fake channel.
        await members.link_account(session, member, channel="fake", external_id="lan",
                                   chat_id="chat-lan", now=clock.now())
        for duty in await duties.applicable(session, unit):
            duty.enabled = False
        await duties.add_deadline(session, unit_id=unit, title="Báo cáo quý", stages="0",
                                  due_on=date(2026, 3, 13), now=clock.now())
    clock.set(datetime(2026, 3, 13, 9, 0, tzinfo=VN))
    await planner.plan(app)
    fake = FakeChannel()
    stats = await make_dispatcher(app, [fake]).run_once()
    assert stats.sent == 1
    ((chat_id, reply),) = fake.sent
    assert chat_id == "chat-lan" and "Báo cáo quý" in reply.text


async def test_concurrent_turns_of_one_person_are_all_answered(app, clock) -> None:
    """Two processes take five messages of one person at once; the conversation row is
    created insert-or-ignore and locked for each turn, so none ends in an apology."""
    unit = await add_unit(app, "Sở Tư pháp")
    await add_tg_member(app, unit, Role.member, "Hoa", 777)
    other = await AppContext.create(app.settings, clock=clock, migrate=False)
    caps = Capabilities(buttons=True, max_text=4096)
    try:
        inbound = Inbound(channel="telegram", user_id="777", chat_id="777", text="/whoami")
        answers = await asyncio.gather(*(
            handle(ctx, inbound, caps) for ctx in (app, other, app, other, app)
        ))
    finally:
        await other.close()
    for replies in answers:
        assert len(replies) == 1
        assert "Hoa" in replies[0].text and APOLOGY not in replies[0].text


async def test_duty_codes_are_unique_when_two_admins_add_at_once(app, clock) -> None:
    unit = await add_unit(app, "Sở Tài chính")
    other = await AppContext.create(app.settings, clock=clock, migrate=False)

    async def add(ctx: AppContext, title: str) -> str:
        async with ctx.sessions() as session, session.begin():
            duty = await duties.add_deadline(session, unit_id=unit, title=title,
                                             due_on=date(2026, 6, 30), now=clock.now())
            await asyncio.sleep(0.05)  # hold the transaction open while the other one runs
            return duty.code

    try:
        codes = await asyncio.gather(add(app, "A"), add(other, "B"), add(app, "C"))
    finally:
        await other.close()
    assert sorted(codes) == ["deadline-1", "deadline-2", "deadline-3"]
