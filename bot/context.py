"""The application context: everything a handler or job needs, built once at start-up."""

from __future__ import annotations

from collections.abc import Callable
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
