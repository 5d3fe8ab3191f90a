"""Shared fixtures: a real database (SQLite file; PostgreSQL too when configured), a fake clock."""

from __future__ import annotations

import contextlib
import os
import socket
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bot.config import Settings, async_database_url
from bot.context import AppContext
from bot.models import Role
from bot.services import invites, units
from scheduler.clock import FakeClock

VN = ZoneInfo("Asia/Ho_Chi_Minh")
PG_ENV = "VSTBPN_TEST_POSTGRES_URL"


def make_settings(database_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": database_url, "telegram_token": "123456:TEST-TOKEN-secret",
        "default_language": "vi", "_env_file": None,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


async def _create_pg_database(admin_url: str) -> tuple[str, str]:
    import asyncpg

    name = f"vstbpn_test_{uuid.uuid4().hex[:12]}"
    dsn = admin_url.replace("postgresql+asyncpg://", "postgresql://")
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    base, _, _db = async_database_url(admin_url).rpartition("/")
    return f"{base}/{name}", name


async def _drop_pg_database(admin_url: str, name: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(admin_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture(params=["sqlite", "postgres"])
async def database_url(request: pytest.FixtureRequest, tmp_path) -> AsyncIterator[str]:
    """An empty database: a SQLite file, and a fresh PostgreSQL database when configured."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"
        return
    admin_url = os.environ.get(PG_ENV)
    if not admin_url:
        pytest.skip(f"{PG_ENV} is not set")
    url, name = await _create_pg_database(admin_url)
    try:
        yield url
    finally:
        await _drop_pg_database(admin_url, name)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 3, 2, 9, 0, tzinfo=VN))


@pytest.fixture
async def app(database_url: str, clock: FakeClock) -> AsyncIterator[AppContext]:
    ctx = await AppContext.create(make_settings(database_url), clock=clock)
    try:
        yield ctx
    finally:
        await ctx.close()


async def add_unit(app: AppContext, name: str, parent_id: int | None = None) -> int:
    async with app.sessions() as session, session.begin():
        return (await units.add_unit(session, name, app.clock.now(), parent_id)).id


async def make_invite(
    app: AppContext, unit_id: int, role: Role = Role.member, *, uses: int = 1,
    expires_days: int = 7,
) -> str:
    async with app.sessions() as session, session.begin():
        _invite, code = await invites.create(
            session, unit_id=unit_id, role=role, now=app.clock.now(), uses=uses,
            expires_days=expires_days,
        )
        return code


async def add_tg_member(
    app: AppContext, unit_id: int, role: Role, name: str, telegram_id: int, lang: str = "vi"
) -> int:
    """A member registered on Telegram (as joining by invite would leave them)."""
    from bot.services import members

    async with app.sessions() as session, session.begin():
        member = await members.register(
            session, unit_id=unit_id, role=role, full_name=name, language=lang,
            channel="telegram", external_id=str(telegram_id), chat_id=str(telegram_id),
            now=app.clock.now(),
        )
        return member.id


class VirtualTime:
    """Monotonic time that only moves when someone sleeps: rate limits without waiting."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept = 0.0

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds
        self.slept += seconds


@pytest.fixture
async def tg_api():
    from tests.fakes.telegram_api import FakeTelegramAPI

    async with FakeTelegramAPI() as fake:
        yield fake


@pytest.fixture
async def tg_sender(tg_api):
    """A TelegramSender on a real python-telegram-bot Bot talking to the fake API."""
    from telegram import Bot
    from telegram.request import HTTPXRequest

    from bot.channels.telegram import TelegramSender

    bot = Bot(
        "123456:TEST-TOKEN-secret", base_url=tg_api.bot_api_url,
        base_file_url=tg_api.file_api_url,
        request=HTTPXRequest(read_timeout=0.5, connect_timeout=1.0),
    )
    async with bot:
        yield TelegramSender(bot)


@pytest.fixture
async def bot(database_url: str, clock: FakeClock, tg_api):
    """The bot on the fake Telegram Bot API, with a dispatcher sending through it."""
    from bot.app import start_channel
    from bot.channels.telegram import TelegramChannel
    from bot.views.reminders import render
    from scheduler.dispatcher import Dispatcher

    app = await AppContext.create(
        make_settings(database_url, telegram_base_url=tg_api.base_url), clock=clock
    )
    runner = TelegramChannel(app)
    await start_channel(app, runner)
    try:
        yield app, Dispatcher(app, [runner], render)
    finally:
        await runner.stop()
        await app.close()


async def tick(app: AppContext, dispatcher, clock: FakeClock, moment: datetime) -> int:
    """Plan and send what is due at ``moment``; how many were sent."""
    from scheduler import planner

    clock.set(moment)
    await planner.plan(app)
    return (await dispatcher.run_once()).sent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.asynccontextmanager
async def telegram_webhook_bot(
    database_url: str, clock: FakeClock, base_url: str, secret: str
) -> AsyncIterator[tuple[AppContext, object, str]]:
    """The bot in Telegram webhook mode on a free local port: (app, channel, /telegram URL)."""
    from bot.app import start_channel, web_server
    from bot.channels.telegram import TelegramChannel

    port = free_port()
    settings = make_settings(
        database_url, telegram_base_url=base_url, telegram_mode="webhook",
        webhook_listen="127.0.0.1", webhook_port=port,
        webhook_url="https://bot.example.gov.vn/telegram", webhook_secret=secret,
    )
    app = await AppContext.create(settings, clock=clock)
    web = web_server(settings)
    channel = TelegramChannel(app, web)
    await web.start()
    await start_channel(app, channel)
    try:
        yield app, channel, f"http://127.0.0.1:{port}/telegram"
    finally:
        await web.stop()
        await channel.stop()
        await app.close()
