"""Alembic: empty → head → base → head, on SQLite and (when configured) PostgreSQL."""

from __future__ import annotations

from sqlalchemy import inspect

from bot import db
from bot.models import Base


async def _tables(engine) -> set[str]:
    async with engine.connect() as conn:
        return set(await conn.run_sync(lambda c: inspect(c).get_table_names()))


async def test_upgrade_from_empty_to_head_and_back(database_url: str) -> None:
    engine = db.make_engine(database_url)
    try:
        assert await db.current_revision(engine) is None
        await db.upgrade(engine)
        assert await db.current_revision(engine) == db.head_revision()
        assert set(Base.metadata.tables) <= await _tables(engine)

        await db.upgrade(engine)  # a second start migrates nothing and fails nothing
        await db.downgrade(engine, "base")
        assert await _tables(engine) <= {"alembic_version"}
        await db.upgrade(engine)
        assert await db.current_revision(engine) == db.head_revision()
    finally:
        await engine.dispose()


async def test_models_match_migrations(database_url: str) -> None:
    """A model change without a migration fails here (autogenerate finds no difference)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    engine = db.make_engine(database_url)
    try:
        await db.upgrade(engine)
        async with engine.connect() as conn:
            diff = await conn.run_sync(
                lambda c: compare_metadata(MigrationContext.configure(c), Base.metadata)
            )
        assert diff == []
    finally:
        await engine.dispose()
