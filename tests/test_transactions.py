"""Writing transactions on one SQLite file take turns in the process: SQLite's own busy
handler polls, lets newcomers overtake, and gives up after 5 s ("database is locked"), which
the dispatcher's senders met under load. PostgreSQL locks rows and needs no turn."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select, text

from bot.models import Unit
from bot.services import units


@pytest.fixture
def sqlite_app(app):
    if app.engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL locks rows: its transactions run side by side")
    return app


async def test_writing_transactions_take_turns(sqlite_app) -> None:
    app = sqlite_app
    entered: list[str] = []
    first_in, release = asyncio.Event(), asyncio.Event()

    async def first() -> None:
        async with app.transaction() as session:
            entered.append("first")
            await units.add_unit(session, "Vụ Pháp chế", app.clock.now(), None)
            first_in.set()
            await release.wait()

    async def second() -> list[str]:
        await first_in.wait()
        async with app.transaction() as session:
            entered.append("second")
            return list(await session.scalars(select(Unit.name)))

    one, two = asyncio.create_task(first()), asyncio.create_task(second())
    await first_in.wait()
    for _ in range(20):  # every chance for the second to start
        await asyncio.sleep(0)
    assert entered == ["first"]  # waiting for its turn, not in SQLite's busy handler
    release.set()
    await one
    assert await two == ["Vụ Pháp chế"]  # it began after the first had committed
    assert entered == ["first", "second"]


async def test_a_failed_transaction_gives_the_turn_back(sqlite_app) -> None:
    app = sqlite_app
    with pytest.raises(RuntimeError):
        async with app.transaction() as session:
            await units.add_unit(session, "Vụ Pháp chế", app.clock.now(), None)
            raise RuntimeError("a turn that fails")
    assert app.writer is not None and not app.writer.locked()
    async with app.transaction() as session:
        assert list(await session.scalars(select(Unit.name))) == []  # rolled back


async def test_sqlite_keeps_a_write_ahead_log(sqlite_app) -> None:
    async with sqlite_app.sessions() as session:
        assert await session.scalar(text("PRAGMA journal_mode")) == "wal"
