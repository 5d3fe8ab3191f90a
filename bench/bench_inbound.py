"""Inbound speed: python bench/bench_inbound.py [--runs R] [--pg URL] [--tiny].

Posts Telegram updates to a bot's webhook (/telegram on our Starlette/uvicorn server) the way
Telegram does (40 connections at most, each person's updates one after another), against the
fake Bot API of the tests answering every call after 0 or 100 ms. Five bots run side by side,
each in its own process, on the same web server and route:

- vstbpn: the real channel (TelegramChannel in webhook mode), the real router and database
  (a SQLite file, or a scratch database created on the PostgreSQL server of ``--pg``);
- vstbpn + gc.freeze(): the same, the objects alive after start-up frozen out of the
  collector's full scans (as `vstbpn run` does);
- vstbpn one at a time: the same, one update at a time, as before (PerPerson(1));
- PTB echo: a bare python-telegram-bot Application answering each text with itself, with
  PTB's default (one update at a time) and with concurrent_updates=64.

The people: members sending /help, strangers saying hello (told how to join), and members who
send several updates in a row whose answers depend on their order (/lang en, /whoami,
/lang vi, /whoami): the bench checks those were answered in order, and fails (exit 1) if
vstbpn answered anyone out of order or a turn failed.

Measured after a warm-up (everyone writes once), alternating the bots, R times (median and
spread):

- burst: every update posted at once; updates/s = updates ÷ (last finished − first received),
  as the bot's process saw them; CPU = the process's CPU time (all threads) ÷ updates;
- paced: 100 updates/s offered for 10 s with the API answering after 100 ms; "own time" per
  update = received → finished, less the time inside Bot API calls and less the time waiting
  for the same person's previous update to finish; p50 and p95.

``--tiny`` runs one small round (~20 s, most of it starting the five processes). The bot
processes run this same file with ``--serve KIND``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import contextvars
import gc
import json
import os
import random
import shutil
import signal
import socket
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve()
ROOT = HERE.parent.parent
sys.path.insert(0, str(ROOT))

SECRET = "bench-webhook-secret"
TOKENS = {"vstbpn": "111111:BENCH-vstbpn", "vstbpn-seq": "111112:BENCH-vstbpn-seq",
          "vstbpn-gc": "111113:BENCH-vstbpn-gc",
          "echo": "222221:BENCH-echo", "echo-seq": "222222:BENCH-echo-seq"}
NAMES = {
    "vstbpn": "vstbpn",
    "vstbpn-gc": "vstbpn + gc.freeze() after start",
    "vstbpn-seq": "vstbpn one at a time (before)",
    "echo-seq": "PTB echo, one at a time (PTB's default)",
    "echo": "PTB echo, concurrent_updates=64",
}
BURSTS = ("vstbpn", "vstbpn-seq", "echo-seq", "echo")
PACED = ("vstbpn", "vstbpn-gc", "echo")  # one at a time, 100/s would only queue up
CONNECTIONS = 40  # Telegram's default max_connections for a webhook
MEMBER0, STRANGER0 = 10_000_000, 20_000_000
ORDERED = ["/lang en", "/whoami", "/lang vi", "/whoami"]


# ----------------------------------------------------------------------------- the bots

RECEIVED: contextvars.ContextVar[float] = contextvars.ContextVar("received")
API_TIME: contextvars.ContextVar[list[float]] = contextvars.ContextVar("api_time")


class Stats:
    """What the bot's process saw of each update: received, finished, time in API calls."""

    def __init__(self) -> None:
        self.received: dict[int, float] = {}
        self.last_end: dict[int, float] = {}  # per person
        self.failed = lambda: 0  # turns that ended in an apology, so far
        self.reset()

    def reset(self) -> None:
        self.first = self.last = 0.0
        self.done = 0
        self.own: list[float] = []
        self.failed_before = self.failed()
        self.cpu_before = time.process_time()  # every thread's (aiosqlite runs in threads)

    def taken(self, update_id: int) -> None:
        self.received[update_id] = RECEIVED.get()

    async def timed(self, update: Any, person: int | None, work: Any) -> None:
        spent = [0.0]
        API_TIME.set(spent)
        try:
            await work
        finally:
            end = time.perf_counter()
            received = self.received.pop(update.update_id, end)
            start = max(received, self.last_end.get(person, 0.0)) if person else received
            if person:
                self.last_end[person] = end
            self.own.append(max(end - start - spent[0], 0.0))
            self.first = min(self.first, received) if self.done else received
            self.last = max(self.last, end)
            self.done += 1

    def as_json(self) -> dict[str, Any]:
        return {"done": self.done, "first": self.first, "last": self.last, "own": self.own,
                "errors": self.failed() - self.failed_before,
                "cpu": time.process_time() - self.cpu_before}


def _instrument_api() -> None:
    """Time spent inside Bot API calls, added to the update's own counter."""
    from telegram.request import HTTPXRequest

    call = HTTPXRequest.do_request

    async def do_request(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        try:
            return await call(self, *args, **kwargs)
        finally:
            spent = API_TIME.get(None)
            if spent is not None:
                spent[0] += time.perf_counter() - started

    HTTPXRequest.do_request = do_request  # type: ignore[method-assign]


async def serve(kind: str, port: int, api: str, database: str) -> None:
    import logging

    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from telegram import Update

    from bot.channels.web import WebServer

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    _instrument_api()
    stats = Stats()
    web = WebServer("127.0.0.1", port)

    ready = asyncio.Event()

    async def bench_stats(request: Request) -> Response:
        if not ready.is_set():
            return Response(status_code=503)
        if request.method == "POST":
            stats.reset()
        return JSONResponse(stats.as_json())

    web.add_route("/bench", bench_stats, methods=["GET", "POST"])
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    if kind.startswith("vstbpn"):
        from bot import metrics
        from bot.app import start_channel
        from bot.channels import telegram as adapter
        from bot.channels.ordering import PerPerson
        from bot.config import Settings
        from bot.context import AppContext

        settings = Settings(
            _env_file=None, database_url=database, telegram_token=TOKENS[kind],
            telegram_base_url=api, telegram_mode="webhook", webhook_listen="127.0.0.1",
            webhook_port=port, webhook_url=f"http://127.0.0.1:{port}/telegram",
            webhook_secret=SECRET, default_language="vi")
        app = await AppContext.create(settings)
        receive = adapter.TelegramChannel.receive
        process = adapter.InOrderPerPerson.do_process_update

        async def timed_receive(self, request: Request) -> Response:  # type: ignore[no-untyped-def]
            RECEIVED.set(time.perf_counter())
            return await receive(self, request)

        async def timed_process(self, update, coroutine) -> None:  # type: ignore[no-untyped-def]
            await stats.timed(update, adapter.person_of(update), process(self, update, coroutine))

        adapter.TelegramChannel.receive = timed_receive  # type: ignore[method-assign]
        adapter.InOrderPerPerson.do_process_update = timed_process  # type: ignore[method-assign]
        if kind == "vstbpn-seq":  # as before: python-telegram-bot's default, one at a time
            adapter.PerPerson = lambda: PerPerson(1)  # type: ignore[misc]
        channel = adapter.TelegramChannel(app, web)
        queue = channel.application.update_queue
        put = queue.put

        async def timed_put(update: Any) -> None:
            if isinstance(update, Update):  # not PTB's own stop signal
                stats.taken(update.update_id)
            await put(update)

        queue.put = timed_put  # type: ignore[method-assign]
        failed = metrics.UPDATES.labels("telegram", "failed")
        stats.failed = lambda: int(failed._value.get())
        stats.reset()
        await web.start()
        await start_channel(app, channel)
        if kind == "vstbpn-gc":  # as `vstbpn run` does once started
            gc.collect()
            gc.freeze()
        ready.set()
        try:
            await stop.wait()
        finally:
            await web.stop()
            await channel.stop()
            await app.close()
        return

    from telegram.ext import Application, MessageHandler, SimpleUpdateProcessor, filters

    class Timed(SimpleUpdateProcessor):
        async def do_process_update(self, update, coroutine) -> None:  # type: ignore[no-untyped-def]
            user = update.effective_user
            await stats.timed(update, None if user is None else user.id, coroutine)

    async def echo(update: Update, _context: Any) -> None:
        assert update.message is not None
        await update.message.reply_text(update.message.text or "")

    application = (Application.builder().token(TOKENS[kind]).base_url(f"{api}/bot")
                   .updater(None).concurrent_updates(Timed(1 if kind == "echo-seq" else 64))
                   .build())
    application.add_handler(MessageHandler(filters.TEXT, echo))

    async def receive(request: Request) -> Response:
        RECEIVED.set(time.perf_counter())
        if request.headers.get("X-Telegram-Bot-Api-Secret-Token") != SECRET:
            return Response(status_code=403)
        update = Update.de_json(await request.json(), application.bot)
        stats.taken(update.update_id)
        await application.update_queue.put(update)
        return Response(status_code=200)

    web.add_route("/telegram", receive, methods=["POST"])
    await application.initialize()
    await application.start()
    await web.start()
    ready.set()
    try:
        await stop.wait()
    finally:
        await web.stop()
        await application.stop()
        await application.shutdown()


# ----------------------------------------------------------------------------- the load


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Bot:
    kind: str
    port: int
    proc: asyncio.subprocess.Process
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass
class Population:
    members: int
    strangers: int
    ordered: int  # members who send ORDERED in a row
    seq: random.Random = field(default_factory=lambda: random.Random(7))

    def people(self) -> list[tuple[int, list[str]]]:
        """(user id, texts in order) for everyone, shuffled."""
        found = [(MEMBER0 + i, ["/help"]) for i in range(self.ordered, self.members)]
        found += [(STRANGER0 + i, ["xin chào"]) for i in range(self.strangers)]
        found += [(MEMBER0 + i, list(ORDERED)) for i in range(self.ordered)]
        self.seq.shuffle(found)
        return found


async def seed(url: str, n_members: int) -> None:
    from sqlalchemy import insert

    from bot.config import Settings
    from bot.context import AppContext
    from bot.models import ChatAccount, Member
    from bot.services import units

    app = await AppContext.create(Settings(database_url=url, _env_file=None))
    now = app.clock.now()
    async with app.sessions() as session, session.begin():
        per_unit = 25
        for u in range(0, n_members, per_unit):
            unit = await units.add_unit(session, f"Đơn vị {u // per_unit}", now)
            ids = (await session.execute(insert(Member).returning(Member.id), [
                {"unit_id": unit.id, "role": "member", "full_name": f"Cán bộ {i}",
                 "language": "vi", "active": True, "created_at": now}
                for i in range(u, min(u + per_unit, n_members))])).scalars().all()
            await session.execute(insert(ChatAccount), [
                {"member_id": mid, "channel": "telegram", "external_id": str(MEMBER0 + i),
                 "chat_id": str(MEMBER0 + i), "created_at": now}
                for mid, i in zip(ids, range(u, u + per_unit), strict=False)])
    await app.close()


async def start_bot(kind: str, api: str, database: str, logs: Path) -> Bot:
    import aiohttp

    port = free_port()
    log = logs / f"{kind}.log"
    with log.open("wb") as stderr:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, str(HERE), "--serve", kind, "--port", str(port),
            "--api", api, "--database", database, cwd=str(ROOT),
            stdout=asyncio.subprocess.DEVNULL, stderr=stderr,
            env={k: v for k, v in os.environ.items() if not k.startswith("VSTBPN_")})
    bot = Bot(kind, port, proc, log)
    async with aiohttp.ClientSession() as http:
        for _ in range(600):
            if proc.returncode is not None:
                raise RuntimeError(f"{kind} stopped:\n{log.read_text()[-3000:]}")
            with contextlib.suppress(aiohttp.ClientError):
                async with http.get(f"{bot.url}/bench") as response:
                    if response.status == 200:
                        return bot
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{kind} did not start")


class Replies:
    """The fake API's hook: sendMessage texts per chat, in the order they were answered."""

    def __init__(self) -> None:
        self.texts: dict[int, list[str]] = defaultdict(list)

    def __call__(self, call: Any) -> None:
        if call.method == "sendMessage":
            self.texts[int(call.params.get("chat_id"))].append(str(call.params.get("text")))

    def check_order(self, kind: str, people: list[tuple[int, list[str]]]) -> int:
        """People whose answers came in another order than they wrote (0 expected)."""
        wrong = 0
        for user, texts in people:
            got = self.texts.get(user, [])
            if kind.startswith("echo"):
                wrong += got != texts
            elif len(texts) > 1:
                wrong += not (len(got) == 4 and "English" in got[0] and "Role:" in got[1]
                              and "Vai trò:" in got[3])
        return wrong


async def stats_of(http: Any, bot: Bot, reset: bool = False) -> dict[str, Any]:
    async with http.request("POST" if reset else "GET", f"{bot.url}/bench") as response:
        return await response.json()


async def post(http: Any, bot: Bot, body: bytes) -> None:
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET, "Content-Type": "application/json"}
    async with http.post(f"{bot.url}/telegram", data=body, headers=headers) as response:
        await response.read()
        if response.status != 200:
            raise RuntimeError(f"{bot.kind}: webhook answered {response.status}")


def bodies(api: Any, people: list[tuple[int, list[str]]]) -> list[tuple[int, list[bytes]]]:
    return [(user, [json.dumps(api.make_message_update(
        user, text, first_name="Người", language_code="vi")).encode() for text in texts])
        for user, texts in people]


async def wait_done(http: Any, bot: Bot, expected: int) -> dict[str, Any]:
    while True:
        stats = await stats_of(http, bot)
        if stats["done"] >= expected:
            return stats
        if bot.proc.returncode is not None:
            raise RuntimeError(f"{bot.kind} stopped:\n{bot.log.read_text()[-3000:]}")
        await asyncio.sleep(0.05)


async def burst(http: Any, api: Any, bot: Bot, people: list[tuple[int, list[str]]],
                replies: Replies) -> dict[str, Any]:
    """Everything at once on 40 connections, each person's updates in order."""
    work = bodies(api, people)
    total = sum(len(b) for _, b in work)
    await stats_of(http, bot, reset=True)
    replies.texts.clear()
    queue = list(reversed(work))

    async def connection() -> None:
        while queue:
            _user, items = queue.pop()
            for body in items:
                await post(http, bot, body)

    await asyncio.gather(*(connection() for _ in range(CONNECTIONS)))
    stats = await wait_done(http, bot, total)
    await asyncio.sleep(0.3)  # the last replies are answered after the API's delay
    rate = stats["done"] / (stats["last"] - stats["first"])
    return {"rate": rate, "errors": stats["errors"], "cpu": stats["cpu"] / total * 1000,
            "order": replies.check_order(bot.kind, people)}


async def paced(http: Any, api: Any, bot: Bot, people: list[tuple[int, list[str]]],
                rate: float, replies: Replies) -> dict[str, Any]:
    """``rate`` updates/s offered, in a steady stream; own time per update."""
    work = [(user, body) for user, items in bodies(api, people) for body in items]
    await stats_of(http, bot, reset=True)
    replies.texts.clear()
    last: dict[int, asyncio.Task[None]] = {}

    async def after(previous: asyncio.Task[None] | None, body: bytes) -> None:
        if previous is not None:
            await previous  # a person's updates reach the bot in the order they were sent
        await post(http, bot, body)

    loop = asyncio.get_running_loop()
    start = loop.time()
    for i, (user, body) in enumerate(work):
        delay = start + i / rate - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        last[user] = asyncio.create_task(after(last.get(user), body))
    await asyncio.gather(*last.values())
    offered = len(work) / (loop.time() - start)
    stats = await wait_done(http, bot, len(work))
    own = sorted(stats["own"])
    return {"p50": statistics.median(own) * 1000,
            "p95": own[min(len(own) - 1, int(len(own) * 0.95))] * 1000,
            "offered": offered, "errors": stats["errors"]}


def spread(values: list[float], fmt: str = "{:.0f}") -> str:
    med = statistics.median(values)
    return f"{fmt.format(med)} ({fmt.format(min(values))}–{fmt.format(max(values))})"




async def main(args: argparse.Namespace) -> None:
    import aiohttp

    from tests.conftest import _create_pg_database, _drop_pg_database
    from tests.fakes.telegram_api import FakeTelegramAPI

    tiny = args.tiny
    population = Population(members=30 if tiny else 500, strangers=20 if tiny else 500,
                            ordered=5 if tiny else 100)
    paced_count = 100 if tiny else 1000  # at 100/s
    seq_count = 5 if tiny else 50  # bots taking one update at a time wait 100 ms on each
    runs = 1 if tiny else args.runs
    pg_name = None
    results: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    with tempfile.TemporaryDirectory() as tmp:
        if args.pg:
            database, pg_name = await _create_pg_database(args.pg)
        else:
            database = f"sqlite+aiosqlite:///{tmp}/bench.db"
        try:
            await seed(database, population.members)
            replies = Replies()
            async with FakeTelegramAPI(on_call=replies) as api:
                logs = Path(tempfile.mkdtemp(prefix="bench-inbound-"))  # kept on failure
                bots = list(await asyncio.gather(*(
                    start_bot(kind, api.base_url, database, logs) for kind in NAMES)))
                connector = aiohttp.TCPConnector(limit=CONNECTIONS)
                try:
                    async with aiohttp.ClientSession(connector=connector) as http:
                        await measure(http, api, bots, population, paced_count, seq_count,
                                      runs, replies, results)
                finally:
                    for bot in bots:
                        bot.proc.terminate()
                        await bot.proc.wait()
        finally:
            if pg_name is not None:
                await _drop_pg_database(args.pg, pg_name)
    report(results, runs, "PostgreSQL" if args.pg else "SQLite file")
    ours = [r for (kind, _), rs in results.items() if kind.startswith("vstbpn") for r in rs]
    if any(r["errors"] or r.get("order") for r in ours):
        sys.exit(f"vstbpn: turns failed or people answered out of order (logs: {logs})")
    shutil.rmtree(logs)


async def measure(http: Any, api: Any, bots: list[Bot], population: Population,
                  paced_count: int, seq_count: int, runs: int, replies: Replies,
                  results: dict[tuple[str, str], list[dict[str, Any]]]) -> None:
    api.answer_delay = 0
    for bot in bots:  # warm up: the first connections, statements, each person's menu
        await burst(http, api, bot, population.people(), replies)
    for run in range(runs):
        order = bots if run % 2 == 0 else bots[::-1]
        for delay in (0.0, 0.1):
            api.answer_delay = delay
            for bot in order:
                if bot.kind not in BURSTS:
                    continue
                people = population.people()
                if delay and bot.kind.endswith("-seq"):
                    people = people[:seq_count]
                found = await burst(http, api, bot, people, replies)
                results[(bot.kind, f"burst {delay * 1000:.0f}")].append(found)
                print(f"run {run + 1}: {bot.kind:10} burst, API {delay * 1000:3.0f} ms: "
                      f"{found['rate']:5.0f} updates/s, CPU {found['cpu']:.2f} ms/update, "
                      f"{found['errors']} failed, {found['order']} out of order", flush=True)
        api.answer_delay = 0.1
        for bot in order:
            if bot.kind not in PACED:
                continue
            stream = [(u, [t]) for u, ts in population.people() for t in ts][:paced_count]
            found = await paced(http, api, bot, stream, 100.0, replies)
            results[(bot.kind, "paced")].append(found)
            print(f"run {run + 1}: {bot.kind:10} 100/s offered ({found['offered']:.0f}), API "
                  f"100 ms: own time p50 {found['p50']:.1f} ms, p95 {found['p95']:.1f} ms, "
                  f"{found['errors']} failed", flush=True)


def report(results: dict[tuple[str, str], list[dict[str, Any]]], runs: int, db: str) -> None:
    def col(kind: str, case: str, key: str, fmt: str = "{:.0f}") -> str:
        found = [r[key] for r in results.get((kind, case), [])]
        return spread(found, fmt) if found else "—"

    def med(kind: str, case: str, key: str) -> float:
        return statistics.median(r[key] for r in results[(kind, case)])

    print(f"\n{db}; median (min–max) of {runs} alternated run(s)\n")
    print("| measure | " + " | ".join(NAMES.values()) + " |")
    print("|---|" + "---|" * len(NAMES))
    rows = [("updates/s, burst, API answers at once", "burst 0", "rate", "{:.0f}"),
            ("CPU ms per update, same burst", "burst 0", "cpu", "{:.2f}"),
            ("updates/s, burst, API answers after 100 ms", "burst 100", "rate", "{:.0f}"),
            ("own time p50 (ms), 100 updates/s, API 100 ms", "paced", "p50", "{:.1f}"),
            ("own time p95 (ms), 100 updates/s, API 100 ms", "paced", "p95", "{:.1f}")]
    for title, case, key, fmt in rows:
        print(f"| {title} | " + " | ".join(col(k, case, key, fmt) for k in NAMES) + " |")
    print(f"\nratios (of medians): burst at 100 ms, vstbpn ÷ before "
          f"{med('vstbpn', 'burst 100', 'rate') / med('vstbpn-seq', 'burst 100', 'rate'):.1f}; "
          f"burst at once, vstbpn ÷ PTB echo one at a time "
          f"{med('vstbpn', 'burst 0', 'rate') / med('echo-seq', 'burst 0', 'rate'):.2f}, "
          f"÷ PTB echo concurrent "
          f"{med('vstbpn', 'burst 0', 'rate') / med('echo', 'burst 0', 'rate'):.2f}; "
          f"own time p95, vstbpn ÷ PTB echo "
          f"{med('vstbpn', 'paced', 'p95') / med('echo', 'paced', 'p95'):.1f}, with gc.freeze() "
          f"{med('vstbpn-gc', 'paced', 'p95') / med('echo', 'paced', 'p95'):.1f}")
    failed = sum(r["errors"] for rs in results.values() for r in rs)
    wrong = {NAMES[k]: sum(r.get("order", 0) for r in rs)
             for (k, _case), rs in results.items() if rs and "order" in rs[0]}
    print(f"failed turns: {failed}; people answered out of order, all runs: "
          + ", ".join(f"{k} {v}" for k, v in sorted(wrong.items())))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--pg", help="PostgreSQL URL: a scratch database is created beside it")
    parser.add_argument("--tiny", action="store_true", help="a few seconds, for CI")
    parser.add_argument("--serve", choices=list(TOKENS), help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--api", help=argparse.SUPPRESS)
    parser.add_argument("--database", help=argparse.SUPPRESS)
    ns = parser.parse_args()
    if ns.serve:
        asyncio.run(serve(ns.serve, ns.port, ns.api, ns.database))
    else:
        asyncio.run(main(ns))
