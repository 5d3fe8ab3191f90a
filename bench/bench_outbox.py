"""Planner and dispatcher speed: python bench/bench_outbox.py [--units N] [--members M] [--pg URL].

Plans a month of the default catalog for N units of M members each, then dispatches one due
day of reminders to a local fake Bot API with the rate limiter on virtual time (so the number
shown is our own overhead; the real limit is Telegram's 30 messages/s).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, insert, select  # noqa: E402
from telegram import Bot  # noqa: E402

from bot.channels.telegram import TelegramSender  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.context import AppContext  # noqa: E402
from bot.models import ChatAccount, Member, OutboxMessage  # noqa: E402
from bot.services import units  # noqa: E402
from bot.views.reminders import render  # noqa: E402
from scheduler import planner  # noqa: E402
from scheduler.clock import FakeClock  # noqa: E402
from scheduler.dispatcher import Dispatcher  # noqa: E402
from tests.conftest import VirtualTime  # noqa: E402
from tests.fakes.telegram_api import FakeTelegramAPI  # noqa: E402

VN = ZoneInfo("Asia/Ho_Chi_Minh")


async def main(n_units: int, n_members: int, url: str) -> None:
    clock = FakeClock(datetime(2026, 2, 1, 0, 0, tzinfo=VN))
    app = await AppContext.create(Settings(database_url=url, _env_file=None), clock=clock)
    async with app.sessions() as session, session.begin():
        for u in range(n_units):
            unit = await units.add_unit(session, f"Đơn vị {u}", clock.now())
            ids = (await session.execute(insert(Member).returning(Member.id), [
                {"unit_id": unit.id, "role": "member", "full_name": f"CB {u}-{i}",
                 "language": "vi", "active": True, "created_at": clock.now()}
                for i in range(n_members)])).scalars().all()
            await session.execute(insert(ChatAccount), [
                {"member_id": mid, "channel": "telegram", "external_id": str(mid),
                 "chat_id": str(mid), "created_at": clock.now()} for mid in ids])
    clock.set(datetime(2026, 2, 20, 0, 0, tzinfo=VN))
    t0 = time.perf_counter()
    await planner.plan(app)
    plan_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    await planner.plan(app)  # a rerun: everything already planned
    replan_s = time.perf_counter() - t0
    async with app.sessions() as session:
        rows = await session.scalar(select(func.count()).select_from(OutboxMessage))

    clock.set(datetime(2026, 2, 25, 8, 0, tzinfo=VN))  # the monthly article's "-2" day
    await planner.plan(app)
    async with FakeTelegramAPI() as tg:
        async with Bot("1:bench", base_url=tg.bot_api_url) as bot:
            vt = VirtualTime()
            dispatcher = Dispatcher(app, [TelegramSender(bot)], render,
                                    monotonic=vt.monotonic, sleep=vt.sleep)
            t0 = time.perf_counter()
            stats = await dispatcher.run_once()
            send_s = time.perf_counter() - t0
    await app.close()
    print(f"database: {app.engine.dialect.name}; {n_units} units × {n_members} members")
    print(f"plan (first run): {plan_s:.2f}s, {rows} outbox rows; rerun: {replan_s:.2f}s")
    print(f"dispatch: {stats.sent} sent, {stats.skipped} skipped in {send_s:.2f}s "
          f"= {stats.sent / send_s:.0f} messages/s (limiter on virtual time: "
          f"{vt.slept:.1f}s of Telegram pacing)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--units", type=int, default=50)
    parser.add_argument("--members", type=int, default=10)
    parser.add_argument("--pg", help="PostgreSQL URL instead of a temporary SQLite file")
    args = parser.parse_args()
    url = args.pg or f"sqlite+aiosqlite:///{tempfile.mkdtemp()}/bench.db"
    asyncio.run(main(args.units, args.members, url))
