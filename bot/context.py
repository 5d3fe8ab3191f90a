"""The application context: everything a handler or job needs, built once at start-up."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot import db
from bot.config import Settings
from scheduler.clock import Clock, SystemClock
from scheduler.workdays import Calendar, shared_calendar

# A channel's link that opens a private chat with the bot, optionally carrying an invite code.
DeepLink = Callable[[str | None], str | None]


@dataclass
class AppContext:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    clock: Clock = field(default_factory=SystemClock)
    # Filled in by the channels once started (bot.app), by channel name.
    deep_links: dict[str, DeepLink] = field(default_factory=dict)
    # A SQLite file takes one writer at a time. Transactions run side by side (turns, the
    # dispatcher's senders, the planner) would wait for each other in SQLite's busy handler,
    # which polls, lets a newcomer overtake, and gives up after 5 s ("database is locked");
    # on SQLite they take turns here instead, first come, first served. PostgreSQL locks rows.
    writer: asyncio.Lock | None = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.writer = asyncio.Lock() if self.engine.dialect.name == "sqlite" else None

    @classmethod
    async def create(
        cls, settings: Settings, *, clock: Clock | None = None, migrate: bool = True
    ) -> AppContext:
        if migrate:
            engine = await db.open_database(settings.database_url)
        else:
            engine = db.make_engine(settings.database_url)
        return cls(
            settings=settings,
            engine=engine,
            sessions=db.make_sessionmaker(engine),
            clock=clock or SystemClock(),
        )

    def one_writer(self) -> contextlib.AbstractAsyncContextManager[object]:
        """Held around any transaction that may write: the writer's turn on SQLite. Not
        re-entrant: a transaction opens no other inside it."""
        return self.writer or contextlib.nullcontext()

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session in a transaction that commits at the end (rolls back on an error),
        in the writer's turn."""
        async with self.one_writer(), self.sessions() as session, session.begin():
            yield session

    @property
    def calendar(self) -> Calendar:
        """Working days and the send window."""
        return shared_calendar(*self.settings.window_times)

    def deep_link(self, channel: str, code: str | None = None) -> str | None:
        """The link to a private chat with the bot on ``channel``, if that channel has links."""
        make = self.deep_links.get(channel)
        return make(code) if make else None

    def any_deep_link(self, code: str | None = None) -> list[str]:
        """Links on every channel that has them (for invites, which work on any channel)."""
        return [link for make in self.deep_links.values() if (link := make(code))]

    async def close(self) -> None:
        await self.engine.dispose()
