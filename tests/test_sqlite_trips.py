"""SQLite in one trip per statement (bot/sqlite.py): a member's turn crosses to the database
thread once, and the database still does everything it did with four trips a statement."""

from __future__ import annotations

from collections import Counter
from datetime import date

import aiosqlite
import pytest
from sqlalchemy import func, insert, select, text
from sqlalchemy.exc import IntegrityError

from bot.channels.telegram import CAPS
from bot.messages import Inbound
from bot.models import Duty, Member, Occurrence, Role, Unit
from bot.services import units
from handlers.router import handle
from tests.conftest import add_tg_member, add_unit


@pytest.fixture
def sqlite_app(app):
    if app.engine.dialect.name != "sqlite":
        pytest.skip("aiosqlite only")
    return app


@pytest.fixture
def trips(monkeypatch) -> Counter[str]:
    """Calls run in aiosqlite's thread, by name."""
    found: Counter[str] = Counter()
    run = aiosqlite.Connection._execute

    async def counted(self, fn, *args, **kwargs):  # type: ignore[no-untyped-def]
        found[getattr(fn, "__name__", "?")] += 1
        return await run(self, fn, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
    return found


async def test_a_members_turn_is_one_trip_to_the_database_thread(sqlite_app, trips) -> None:
    app = sqlite_app
    unit = await add_unit(app, "Sở Tư pháp")
    await add_tg_member(app, unit, Role.member, "Chị Lan", 1001)
    first = Inbound("telegram", "1001", "1001", "/help")
    await handle(app, first, CAPS)  # the conversation row is made on the first turn
    trips.clear()
    replies = await handle(app, first, CAPS)
    assert "/whoami" in replies[0].text
    assert sum(trips.values()) == 1, trips  # the statement; no commit or rollback to make
    trips.clear()
    replies = await handle(app, Inbound("telegram", "1001", "1001", "/lang en"), CAPS)
    assert replies[0].text == "Language set to English."
    assert trips["commit"] == 1 and sum(trips.values()) <= 4, trips  # a write commits
    async with app.sessions() as session:
        assert await session.scalar(select(Member.language)) == "en"


async def test_statements_answer_as_before(sqlite_app) -> None:
    app = sqlite_app
    now = app.clock.now()
    async with app.transaction() as session:
        unit = await units.add_unit(session, "Sở Y tế", now, None)  # ORM insert: lastrowid
        assert unit.id == 1
        await session.flush()
        duty = await session.scalar(select(Duty.id).where(Duty.unit_id == unit.id).limit(1))
        rows = [{"duty_id": duty, "unit_id": unit.id, "key": f"2026-{m:02d}",
                 "starts_on": date(2026, m, 1), "due_on": date(2026, m, 28), "status": "open",
                 "created_at": now} for m in range(1, 13)]
        conn = await session.connection()
        result = await conn.execute(insert(Occurrence.__table__), rows)  # executemany
        assert result.rowcount == 12
        keys = (await conn.execute(  # RETURNING: rows from a write
            insert(Occurrence.__table__).returning(Occurrence.key),
            [{**rows[0], "key": "2027-01"}])).scalars().all()
        assert keys == ["2027-01"]
    async with app.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Occurrence)) == 13
        assert [u.name for u in await session.scalars(select(Unit))] == ["Sở Y tế"]


async def test_errors_and_rollbacks_are_the_databases(sqlite_app) -> None:
    app = sqlite_app
    now = app.clock.now()
    with pytest.raises(IntegrityError):
        async with app.transaction() as session:
            await units.add_unit(session, "Sở Y tế", now, None)
            await session.execute(text("INSERT INTO units (id, name, timezone, created_at)"
                                       " VALUES (1, 'again', 'Asia/Ho_Chi_Minh', '2026-01-01')"))
    async with app.transaction() as session:  # the failed transaction left nothing behind
        assert list(await session.scalars(select(Unit.name))) == []
        await units.add_unit(session, "Sở Nội vụ", now, None)
        await session.rollback()  # rolled back on request, too
    async with app.sessions() as session:
        assert list(await session.scalars(select(Unit.name))) == []
