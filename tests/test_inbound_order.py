"""Inbound updates are handled concurrently, each person's in the order sent.

No test here measures time: concurrency shows as replies held by the fake API until several
people's are under way at once (handled one at a time, the first would wait forever), order
as answers that only make sense in the order sent (/start before /whoami)."""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import pytest

from bot.app import start_channel
from bot.channels import zalo as zalo_module
from bot.channels.ordering import PerPerson
from bot.channels.telegram import TelegramChannel
from bot.channels.zalo import ZaloChannel
from bot.context import AppContext
from bot.messages import Inbound, Reply
from tests.conftest import add_unit, make_invite, make_settings, telegram_webhook_bot
from tests.fakes.telegram_api import Call, FakeTelegramAPI
from tests.fakes.zalo_api import FakeZaloAPI

SECRET = "inbound-order-secret"
PEOPLE = [3001 + i for i in range(6)]


async def settle(condition: Callable[[], bool], rounds: int = 2000) -> None:
    """Let the loop run until ``condition`` holds (a bounded number of turns, not a time)."""
    for _ in range(rounds):
        if condition():
            return
        await asyncio.sleep(0.001)
    raise AssertionError("condition never held")


# --- the ordering itself -------------------------------------------------------------------


async def test_one_persons_jobs_run_one_at_a_time_in_order_others_side_by_side() -> None:
    turns = PerPerson(limit=3)
    gates = {key: asyncio.Event() for key in "abcd"}
    log: list[str] = []

    async def job(key: str, n: int) -> str:
        log.append(f"{key}{n} start")
        await gates[key].wait()
        log.append(f"{key}{n} end")
        return f"{key}{n}"

    tasks = [asyncio.create_task(turns.run(key, job(key, n)))
             for n in (1, 2, 3) for key in "abcd"]
    await settle(lambda: turns.running == 3)
    # Three people at once (the bound); d waits for a slot, everyone's second for their first.
    assert sorted(log) == ["a1 start", "b1 start", "c1 start"]
    assert turns.people == 4
    gates["b"].set()  # b's first ends; the slot goes to d's first, which came before b's second
    await settle(lambda: "d1 start" in log)
    assert [e for e in log if e.startswith("b")] == ["b1 start", "b1 end"]
    assert turns.running == 3
    for gate in gates.values():
        gate.set()
    results = await asyncio.gather(*tasks)
    assert results == [f"{key}{n}" for n in (1, 2, 3) for key in "abcd"]
    for key in "abcd":
        starts = [e for e in log if e.startswith(key) and e.endswith("start")]
        assert starts == [f"{key}1 start", f"{key}2 start", f"{key}3 start"]
    assert turns.most_running == 3 and turns.running == 0
    assert turns.people == 0  # nobody waiting: no entry kept


async def test_a_cancelled_waiting_job_keeps_the_order_of_the_others() -> None:
    turns = PerPerson(limit=4)
    gate = asyncio.Event()
    done: list[int] = []

    async def job(n: int) -> None:
        await gate.wait()
        done.append(n)

    first = asyncio.create_task(turns.run("a", job(1)))
    second = asyncio.create_task(turns.run("a", job(2)))
    third = asyncio.create_task(turns.run("a", job(3)))
    await settle(lambda: turns.running == 1)
    second.cancel()  # waiting for its turn: it never runs, its coroutine is closed
    with pytest.raises(asyncio.CancelledError):
        await second
    gate.set()
    await asyncio.gather(first, third)
    assert done == [1, 3] and turns.people == 0


async def test_jobs_without_a_key_only_respect_the_bound() -> None:
    turns = PerPerson(limit=2)
    gate = asyncio.Event()

    async def job() -> None:
        await gate.wait()

    tasks = [asyncio.create_task(turns.run(None, job())) for _ in range(5)]
    await settle(lambda: turns.running == 2)
    gate.set()
    await asyncio.gather(*tasks)
    assert turns.most_running == 2 and turns.people == 0


# --- Telegram, through the webhook, the real router and the fake Bot API -------------------


class HeldReplies:
    """The fake Bot API's hook: each sendMessage is held until ``wave`` are under way at once
    (then all go), counting how many were under way, in all and per chat."""

    def __init__(self, wave: int) -> None:
        self.wave = wave
        self.gate = asyncio.Event()
        self.in_flight = 0
        self.most = 0
        self.per_chat: Counter[object] = Counter()
        self.most_per_chat = 0

    async def __call__(self, call: Call) -> None:
        if call.method != "sendMessage":
            return None
        chat = call.chat_id
        self.in_flight += 1
        self.per_chat[chat] += 1
        self.most = max(self.most, self.in_flight)
        self.most_per_chat = max(self.most_per_chat, self.per_chat[chat])
        if self.in_flight >= self.wave:
            self.gate.set()
        try:
            await self.gate.wait()
        finally:
            self.in_flight -= 1
            self.per_chat[chat] -= 1
        return None


@dataclass
class Webhook:
    app: AppContext
    channel: TelegramChannel
    url: str


@pytest.fixture
async def webhook(database_url: str, clock, tg_api: FakeTelegramAPI) -> AsyncIterator[Webhook]:
    async with telegram_webhook_bot(database_url, clock, tg_api.base_url, SECRET) as (
            app, channel, url):
        yield Webhook(app, channel, url)  # type: ignore[arg-type]


async def post_in_order(tg: FakeTelegramAPI, url: str, user: int, texts: list[str]) -> None:
    """One person's messages, each delivered once the previous one was taken (as Telegram
    delivers a chat's updates)."""
    for text in texts:
        update = tg.make_message_update(user, text, first_name=f"Người{user}")
        assert await tg.post_webhook(url, update, secret_token=SECRET) == 200


async def test_people_are_answered_side_by_side_each_in_the_order_they_wrote(
    webhook: Webhook, tg_api: FakeTelegramAPI
) -> None:
    code = await make_invite(webhook.app, await add_unit(webhook.app, "Sở Nội vụ"),
                             uses=len(PEOPLE))
    held = HeldReplies(wave=10_000)  # replies wait until the test lets them go
    tg_api.on_call = held
    said = ["/start " + code, "/whoami", "/lang en", "/whoami"]
    await asyncio.gather(*(post_in_order(tg_api, webhook.url, user, said) for user in PEOPLE))
    # All taken: every newcomer's welcome is under way at once, and nothing else (each
    # person's next message waits for their welcome to be answered).
    await tg_api.wait_for(lambda: held.in_flight >= len(PEOPLE))
    assert held.in_flight == len(PEOPLE) and sorted(held.per_chat.elements()) == PEOPLE
    turns = webhook.channel.turns
    assert turns.running == len(PEOPLE) and turns.people == len(PEOPLE)
    held.gate.set()
    for user in PEOPLE:
        answers = [m.text or "" for m in await tg_api.wait_for_messages(user, 4)]
        assert len(answers) == 4, answers
        # Each answer needs the one before: joined, then a member; English, then in English.
        assert answers[0].startswith("Chào mừng Người")
        assert "Vai trò:" in answers[1]
        assert answers[2] == "Language set to English."
        assert "Role:" in answers[3]
    assert held.most_per_chat == 1  # never two replies of one person under way
    await settle(lambda: turns.people == 0)  # no one waiting: nothing kept


async def test_stopping_finishes_the_updates_already_taken(
    webhook: Webhook, tg_api: FakeTelegramAPI
) -> None:
    held = HeldReplies(wave=10_000)  # held until the test lets them go
    tg_api.on_call = held
    first, second, third = PEOPLE[:3]
    await post_in_order(tg_api, webhook.url, first, ["xin chào", "chào lần nữa"])
    await post_in_order(tg_api, webhook.url, second, ["xin chào"])
    await post_in_order(tg_api, webhook.url, third, ["xin chào"])
    await tg_api.wait_for(lambda: held.in_flight == 3)  # first's second update waits its turn
    stopping = asyncio.create_task(webhook.channel.stop())
    await settle(lambda: not webhook.channel.application.running)
    late = tg_api.make_message_update(PEOPLE[3], "xin chào")
    assert await tg_api.post_webhook(webhook.url, late, secret_token=SECRET) == 503
    assert not stopping.done()
    held.gate.set()
    await stopping
    assert [len(tg_api.sent_messages(user)) for user in (first, second, third)] == [2, 1, 1]
    assert tg_api.sent_messages(PEOPLE[3]) == []


# --- Zalo: the adapter's own worker keeps the same order ----------------------------------


@pytest.fixture
async def zalo_bot(database_url: str, clock, monkeypatch) -> AsyncIterator[
        tuple[ZaloChannel, FakeZaloAPI]]:
    monkeypatch.setattr(zalo_module, "POLL_SECONDS", 1)
    async with FakeZaloAPI(token="12345:secret") as zalo:
        settings = make_settings(database_url, telegram_token=None, zalo_token="12345:secret",
                                 zalo_base_url=zalo.base_url)
        app = await AppContext.create(settings, clock=clock)
        channel = ZaloChannel(app)
        await start_channel(app, channel)
        try:
            yield channel, zalo
        finally:
            await channel.stop()
            await app.close()


def held_turns(monkeypatch, wave: int) -> tuple[asyncio.Event, dict[str, list[str]], Counter[str]]:
    """Replace the router: each turn waits until ``wave`` turns are under way at once."""
    gate = asyncio.Event()
    seen: dict[str, list[str]] = defaultdict(list)
    stats: Counter[str] = Counter()
    running: Counter[str] = Counter()

    async def handle(_app: AppContext, inbound: Inbound, _caps: object) -> list[Reply]:
        running[inbound.user_id] += 1
        stats["most_per_person"] = max(stats["most_per_person"], running[inbound.user_id])
        stats["under_way"] += 1
        stats["most"] = max(stats["most"], stats["under_way"])
        if stats["under_way"] >= wave:
            gate.set()
        try:
            await gate.wait()
            seen[inbound.user_id].append(inbound.text)
            return [Reply(f"ok {inbound.text}")]
        finally:
            stats["under_way"] -= 1
            running[inbound.user_id] -= 1

    monkeypatch.setattr(zalo_module, "handle", handle)
    return gate, seen, stats


async def test_zalo_people_are_answered_side_by_side_each_in_order(
    zalo_bot: tuple[ZaloChannel, FakeZaloAPI], monkeypatch
) -> None:
    channel, zalo = zalo_bot
    people = [f"z-{n}" for n in range(4)]
    _gate, seen, stats = held_turns(monkeypatch, wave=len(people))
    for n in ("1", "2", "3"):
        for person in people:
            zalo.push_text(person, n)
    for person in people:
        answers = [m.text for m in await zalo.wait_for_messages(person, 3)]
        assert answers == ["ok 1", "ok 2", "ok 3"]
        assert seen[person] == ["1", "2", "3"]
    assert stats["most"] >= len(people) and stats["most_per_person"] == 1
    await settle(lambda: channel.turns.people == 0)


async def test_zalo_stop_finishes_the_updates_taken(
    zalo_bot: tuple[ZaloChannel, FakeZaloAPI], monkeypatch
) -> None:
    channel, zalo = zalo_bot
    gate, seen, stats = held_turns(monkeypatch, wave=10_000)
    zalo.push_text("z-a", "1")
    zalo.push_text("z-a", "2")
    zalo.push_text("z-b", "1")
    await settle(lambda: stats["under_way"] == 2 and channel.queue.empty()
                 and not zalo.updates_pending())
    stopping: Awaitable[None] = asyncio.create_task(channel.stop())
    await settle(lambda: not channel.running)
    gate.set()
    await stopping
    assert seen == {"z-a": ["1", "2"], "z-b": ["1"]}
