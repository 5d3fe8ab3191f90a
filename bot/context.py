"""The application context: everything a handler or job needs, built once at start-up."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot import db
from bot.config import Settings
from scheduler.clock import Clock, SystemClock


@dataclass
class AppContext:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    clock: Clock = field(default_factory=SystemClock)
    # Learned from the platform at start (getMe); used for deep links.
    telegram_username: str | None = None

    @classmethod
    async def create(
        cls, settings: Settings, *, clock: Clock | None = None, migrate: bool = True
    ) -> AppContext:
        engine = db.make_engine(settings.database_url)
        if migrate:
            await db.upgrade(engine)
        return cls(
            settings=settings,
            engine=engine,
            sessions=db.make_sessionmaker(engine),
            clock=clock or SystemClock(),
        )

    async def close(self) -> None:
        await self.engine.dispose()
