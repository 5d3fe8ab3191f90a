"""Engine, sessions and schema migrations (Alembic, run in-process on start when needed)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import event, inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import ArgumentError, DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from bot import sqlite
from bot.config import SettingsError, default_database_path, safe_url, sqlite_path

if TYPE_CHECKING:
    from alembic.config import Config

# The newest migration in bot/migrations/versions (tests/test_migrations.py checks it). A
# start on a database already there reads its version and never loads Alembic: ~7 MB
# less for as long as the bot runs (bench/README.md, "Footprint").
SCHEMA_HEAD = "0013"
MIGRATIONS = Path(__file__).parent / "migrations"
# Several bot processes may start together on one PostgreSQL: only one migrates at a time.
_MIGRATION_LOCK_ID = 0x5653_5442  # "VSTB"


def make_engine(url: str) -> AsyncEngine:
    """The engine for ``url``. A new SQLite file is created readable by its owner only; its
    folder must exist, except the default per-user folder, which is created."""
    path = sqlite_path(url)
    if path is not None:
        _prepare_sqlite_file(path)
    # PostgreSQL plans a prepared statement for its values 5 times, then may keep a generic
    # plan made blind to them; for a report over a whole year that plan reads the table
    # instead of one index, 4 s instead of 1 s (bench/README.md, "Roll-up"). Always plan
    # with the values (PostgreSQL 12 or later).
    options: dict[str, Any] = (
        {"connect_args": {"server_settings": {"plan_cache_mode": "force_custom_plan"}}}
        if url.startswith("postgresql+asyncpg") else {})
    if path is not None:
        options["async_creator"] = sqlite.connector(path)
    try:
        # hide_parameters: an error message never carries what a member typed.
        engine = create_async_engine(
            url, pool_pre_ping=not url.startswith("sqlite"), hide_parameters=True, **options
        )
    except (ArgumentError, ImportError) as exc:
        raise SettingsError(
            f"VSTBPN_DATABASE_URL is not a database address this bot can use ({safe_url(url)}): "
            "give sqlite:///path/to/file.db or postgresql://user@host/database"
        ) from exc
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=5000")
            # Write-ahead log: readers do not wait for the writer, and a commit appends to the
            # log instead of rewriting a journal with several syncs (bench/README.md,
            # "Sending"). A crash of the process loses nothing committed; a power cut may
            # lose the last commits, never the file.
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

    return engine


def _prepare_sqlite_file(path: Path) -> None:
    if path == default_database_path():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    elif not path.parent.is_dir():
        raise SettingsError(
            f"VSTBPN_DATABASE_URL points into a folder that does not exist ({path.parent}): "
            "create the folder or choose another path"
        )
    if not path.exists():
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))


async def open_database(url: str) -> AsyncEngine:
    """The engine, migrated to the newest schema; a database that cannot be opened is a
    setting to fix, said in one line."""
    engine = make_engine(url)
    try:
        if await current_revision(engine) != SCHEMA_HEAD:
            await upgrade(engine)
    except (DBAPIError, OSError) as exc:
        await engine.dispose()
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0][:200]
        raise SettingsError(
            f"VSTBPN_DATABASE_URL: cannot open the database {safe_url(url)} ({reason}): "
            "check the address, that the server runs and that the user may connect"
        ) from exc
    return engine


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


def alembic_config() -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def _upgrade(conn: Connection, revision: str) -> None:
    from alembic import command

    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _MIGRATION_LOCK_ID})
    cfg = alembic_config()
    cfg.attributes["connection"] = conn
    command.upgrade(cfg, revision)


def _downgrade(conn: Connection, revision: str) -> None:
    from alembic import command

    cfg = alembic_config()
    cfg.attributes["connection"] = conn
    command.downgrade(cfg, revision)


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    async with engine.begin() as conn:
        await conn.run_sync(_upgrade, revision)


async def downgrade(engine: AsyncEngine, revision: str) -> None:
    async with engine.begin() as conn:
        await conn.run_sync(_downgrade, revision)


async def current_revision(engine: AsyncEngine) -> str | None:
    """The schema version Alembic wrote into the database (None: none yet)."""
    async with engine.connect() as conn:
        if not await conn.run_sync(lambda c: inspect(c).has_table("alembic_version")):
            return None
        return await conn.scalar(text("SELECT version_num FROM alembic_version"))


async def insert_ignore(
    session: AsyncSession, model: type, rows: list[dict], conflict: list[str] | None
) -> int:
    """INSERT … ON CONFLICT DO NOTHING (SQLite and PostgreSQL); returns rows inserted.
    ``conflict`` names the unique columns; None ignores a conflict on any unique index.

    One statement, compiled once and cached, executed for all rows (executemany). SQLite
    counts the rows it inserted; PostgreSQL's driver does not for executemany, so there the
    inserted rows come back through RETURNING."""
    if not rows:
        return 0
    table = model.__table__  # type: ignore[attr-defined]
    name = session.bind.dialect.name
    stmt = _dialect_insert(name)(table).on_conflict_do_nothing(index_elements=conflict)
    if name == "postgresql":
        result = await session.execute(stmt.returning(*table.primary_key.columns), rows)
        return len(result.all())
    return max((await session.execute(stmt, rows)).rowcount, 0)  # type: ignore[attr-defined]


async def insert_new(
    session: AsyncSession, model: type, rows: list[dict], conflict: list[str] | None,
    returning: list[str] | None = None,
) -> list[Any]:
    """As ``insert_ignore``, returning the primary keys of the rows it inserted (or, with
    ``returning``, those columns of them, as rows)."""
    if not rows:
        return []
    table = model.__table__  # type: ignore[attr-defined]
    stmt = _dialect_insert(session.bind.dialect.name)(table).on_conflict_do_nothing(
        index_elements=conflict)
    if returning is None:
        return list((await session.execute(
            stmt.returning(*table.primary_key.columns), rows)).scalars())
    return list(await session.execute(stmt.returning(*(table.c[c] for c in returning)), rows))


async def insert_fresh(session: AsyncSession, model: type, rows: list[dict]) -> int:
    """A plain INSERT for rows nothing can conflict with yet (they hang off rows this
    transaction created); should one conflict after all, the rows go in one by one with
    ``insert_ignore``. The plain statement is the cheapest way in: no conflict checks."""
    if not rows:
        return 0
    table = model.__table__  # type: ignore[attr-defined]
    try:
        async with session.begin_nested():
            await session.execute(table.insert(), rows)
    except IntegrityError:
        return await insert_ignore(session, model, rows, None)
    return len(rows)


def _dialect_insert(name: str) -> Callable[..., Any]:
    if name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert
