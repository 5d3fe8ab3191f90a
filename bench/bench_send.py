"""Sending reminders: python bench/bench_send.py [--n N] [--runs R] [--pg URL] [--tiny].

N members each have one reminder due. Against the fake Bot API of the tests, with a real
python-telegram-bot client, the dispatcher sends them all, in two settings:

- network: every answer takes 100 ms (a round trip to Telegram from Vietnam) and the fake
  enforces Telegram's limits, 30 messages a second overall and one a second per chat, by
  answering 429 past them. Goal: ≥ 28.5 messages/s and no 429.
- ceiling: answers at once, limits off: our own cost per message. Goal: ≥ 500 messages/s and
  ≥ 0.5 × a bare python-telegram-bot loop sending the same messages (text and buttons, as
  the first run sent them) with the same concurrency.

Each is run beside its baseline (the bare loop), alternated R times; median and spread.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import sys
import tempfile
import time
from collections import deque
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import update  # noqa: E402
from telegram import Bot  # noqa: E402
from telegram.error import RetryAfter  # noqa: E402

from bench.bench_plan import reset_pg  # noqa: E402
from bot.channels.telegram import TelegramSender, keyboard  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.context import AppContext  # noqa: E402
from bot.messages import Delivery, Reply  # noqa: E402
from bot.models import OutboxMessage  # noqa: E402
from bot.views.reminders import render  # noqa: E402
from scheduler.clock import FakeClock  # noqa: E402
from scheduler.dispatcher import CONCURRENCY, Dispatcher  # noqa: E402
from scheduler.ratelimit import RateLimiter  # noqa: E402
from tests.fakes.telegram_api import Call, FakeTelegramAPI  # noqa: E402
from tests.test_dispatcher import due_reminders  # noqa: E402

VN = ZoneInfo("Asia/Ho_Chi_Minh")


class TelegramLimits:
    """The fake's on_call hook: 429 past 30 messages a second or one a second per chat."""

    def __init__(self) -> None:
        self.recent: deque[float] = deque()
        self.last: dict[object, float] = {}
        self.refused = 0

    def __call__(self, call: Call) -> dict[str, object] | None:
        if call.method != "sendMessage":
            return None
        now = time.monotonic()
        while self.recent and now - self.recent[0] >= 1.0:
            self.recent.popleft()
        chat = call.chat_id
        if len(self.recent) >= 30 or now - self.last.get(chat, -9.0) < 1.0:
            self.refused += 1
            return {"ok": False, "error_code": 429, "description": "Too Many Requests",
                    "parameters": {"retry_after": 1}}
        self.recent.append(now)
        self.last[chat] = now
        return None


async def prepared(url: str, n: int) -> AppContext:
    clock = FakeClock(datetime(2026, 3, 13, 8, 0, tzinfo=VN))
    app = await AppContext.create(Settings(database_url=url, _env_file=None), clock=clock)
    await due_reminders(app, clock, n)
    return app


async def reset(app: AppContext) -> None:
    async with app.sessions() as session, session.begin():
        await session.execute(update(OutboxMessage).values(
            status="pending", attempts=0, claimed_until=None, claim_token=None, sent_at=None,
            next_attempt_at=app.clock.now()))


class Recording(TelegramSender):
    """Keeps the last message sent to each chat, for the bare loop to send the same."""

    def __init__(self, bot: Bot, into: dict[str, Reply]) -> None:
        super().__init__(bot)
        self.into = into

    async def send(self, chat_id: str, replies: list[Reply]) -> Delivery:
        self.into[chat_id] = replies[-1]
        return await super().send(chat_id, replies)


async def ours(app: AppContext, tg: RemoteFake, limits: bool, sent: dict[str, Reply]) -> float:
    await reset(app)
    async with Bot("1:bench", base_url=tg.bot_api_url) as bot:
        dispatcher = Dispatcher(app, [Recording(bot, sent)], render)
        if not limits:
            dispatcher.limiters = {name: RateLimiter() for name in dispatcher.limiters}
        t0 = time.perf_counter()
        stats = await dispatcher.run_once()
        seconds = time.perf_counter() - t0
    assert stats.sent + stats.retried >= 1
    return stats.sent / seconds


async def bare(tg: RemoteFake, sent: dict[str, Reply], limits: bool) -> float:
    """python-telegram-bot alone: the same messages (their buttons built beforehand),
    CONCURRENCY at a time, one shared limiter."""
    limiter = RateLimiter(per_second=30, chat_interval=1.0) if limits else RateLimiter()
    messages = deque((chat, reply.text, keyboard(reply)) for chat, reply in sent.items())
    n = len(messages)
    async with Bot("1:bench", base_url=tg.bot_api_url) as bot:

        async def worker() -> None:
            while messages:
                chat, text, markup = message = messages.popleft()
                await limiter.wait(chat)
                try:
                    await bot.send_message(chat, text, reply_markup=markup)
                except RetryAfter:  # counted by the fake; sent again after the wait
                    await asyncio.sleep(1)
                    messages.append(message)

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        return n / (time.perf_counter() - t0)


class RemoteFake:
    """The fake Bot API in a process of its own, as Telegram is: its clock and its 429s do
    not wait on our event loop."""

    def __init__(self, delay: float, limits: bool) -> None:
        self.args = ["--serve", str(delay), "1" if limits else "0"]
        self.refused = 0

    async def __aenter__(self) -> RemoteFake:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, __file__, *self.args, stdout=asyncio.subprocess.PIPE,
            stdin=asyncio.subprocess.PIPE)
        assert self.proc.stdout is not None
        self.bot_api_url = (await self.proc.stdout.readline()).decode().strip()
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.close()  # the server stops and says how many it refused
        self.refused = int((await self.proc.stdout.readline()).decode().strip() or 0)
        await self.proc.wait()


async def serve(delay: float, limits: bool) -> None:
    # The fake stamps a message's arrival when it gets to it: a pause of its own (a full
    # collection of what it imported) would bunch arrivals up and fake a burst of ours.
    gc.collect()
    gc.freeze()
    hook = TelegramLimits() if limits else None
    async with FakeTelegramAPI(answer_delay=delay, on_call=hook) as tg:
        print(tg.bot_api_url, flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    print(hook.refused if hook else 0, flush=True)


async def main(n: int, runs: int, pg: str | None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        urls = {"SQLite": f"sqlite+aiosqlite:///{tmp}/send.db"}
        if pg:
            urls["PostgreSQL"] = pg
        apps = {}
        for name, url in urls.items():
            if name == "PostgreSQL":
                await reset_pg(url)
            apps[name] = await prepared(url, n)
        # As `vstbpn run` does once started: what start-up made is out of the collector's
        # sight. Without it a full collection pauses the process 60–150 ms, and messages the
        # limiter let go before the pause leave with the next ones: 429s of our own making.
        gc.collect()
        gc.freeze()
        results: dict[str, list[float]] = {}
        refused: dict[str, int] = {}
        sent: dict[str, Reply] = {}  # what ours sent to each chat, for the bare loop
        try:
            for _ in range(runs):
                for name, app in [*apps.items(), ("bare loop", None)]:
                    async with RemoteFake(0.1, True) as tg:
                        results.setdefault(f"network, {name}", []).append(
                            await ours(app, tg, True, sent) if app
                            else await bare(tg, sent, True))
                    refused[name] = refused.get(name, 0) + tg.refused
                async with RemoteFake(0.0, False) as tg:
                    for name, app in apps.items():
                        results.setdefault(f"ceiling, {name}", []).append(
                            await ours(app, tg, False, sent))
                    results.setdefault("ceiling, bare loop", []).append(
                        await bare(tg, sent, False))
        finally:
            for app in apps.values():
                await app.close()
    print(f"{n} reminders, {runs} run(s), concurrency {CONCURRENCY}; 429 answers in the "
          f"network runs: " + ", ".join(f"{k} {v}" for k, v in refused.items()))
    bare_ceiling = statistics.median(results["ceiling, bare loop"])
    for name, found in results.items():
        ratio = (f"  × bare {statistics.median(found) / bare_ceiling:.2f}"
                 if name.startswith("ceiling") else "")
        print(f"  {name:28} {statistics.median(found):7.1f} msg/s "
              f"(min {min(found):.1f}, max {max(found):.1f}){ratio}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=3000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--pg", help="an empty scratch PostgreSQL database (it is reset)")
    parser.add_argument("--tiny", action="store_true", help="a few messages, for CI")
    parser.add_argument("--serve", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        asyncio.run(serve(float(args.serve[0]), args.serve[1] == "1"))
        sys.exit()
    if args.tiny:
        args.n, args.runs = 40, 1
    asyncio.run(main(args.n, args.runs, args.pg))
