"""Operating the bot: `vstbpn doctor` (is everything in order?) and `vstbpn backup FILE`."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from bot.cli_common import fail

if TYPE_CHECKING:
    from bot.config import Settings

# The database and the settings (pydantic) are imported in the functions that use them:
# `vstbpn --help` should not load them (see bot/cli_common.py).

SKEW_WARNING = 5.0  # seconds between this machine's clock and the database's


async def _database(settings: Settings) -> list[tuple[bool, str]]:
    from sqlalchemy import text

    from bot import db
    from bot.config import SettingsError, safe_url

    try:
        engine = db.make_engine(settings.database_url)
    except SettingsError as exc:
        return [(False, f"Database: {exc}")]
    try:
        pg = engine.dialect.name == "postgresql"
        async with engine.connect() as conn:
            db_now = await conn.scalar(text("SELECT now()" if pg else "SELECT CURRENT_TIMESTAMP"))
        found = [(True, f"Database: {safe_url(settings.database_url)} answers")]
        current, head = await db.current_revision(engine), db.SCHEMA_HEAD
        found.append((current == head, f"Migrations: at {current or 'none'}"
                      + ("" if current == head else f", the newest is {head}: run "
                                                    "`vstbpn db upgrade` (the bot also does "
                                                    "it when it starts)")))
        if isinstance(db_now, str):
            db_now = datetime.fromisoformat(db_now).replace(tzinfo=UTC)
        if isinstance(db_now, datetime):
            moment = db_now if db_now.tzinfo else db_now.replace(tzinfo=UTC)
            skew = abs((datetime.now(UTC) - moment).total_seconds())
            found.append((skew < SKEW_WARNING, f"Clock: {skew:.1f} s from the database's"
                          + ("" if skew < SKEW_WARNING else ": set this machine's clock (NTP); "
                                                           "reminders are timed by it")))
        return found
    except Exception as exc:  # noqa: BLE001 — the doctor reports any failure as a line
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0][:200]
        return [(False, f"Database: {safe_url(settings.database_url)} cannot be opened "
                        f"({reason}): check VSTBPN_DATABASE_URL and that the server runs")]
    finally:
        await engine.dispose()


async def _checks(settings: Settings) -> list[tuple[bool, str]]:
    found = [(True, f"Settings: read; time zone {settings.timezone}, reminders "
                    f"{settings.send_window} on working days")]
    found += await _database(settings)
    if settings.telegram_token is None and settings.zalo_token is None:
        found.append((False, "Channels: no token set: give VSTBPN_TELEGRAM_TOKEN or "
                             "VSTBPN_ZALO_TOKEN"))
    if settings.telegram_token is not None:
        from bot.channels.telegram import diagnose as telegram

        found += await telegram(settings)
    if settings.zalo_token is not None:
        from bot.channels.zalo import diagnose as zalo

        found += await zalo(settings)
    return found


def doctor() -> None:
    """Check the settings, the database, the migrations, each channel and the clock."""
    import asyncio

    from bot.config import SettingsError, load_settings

    try:
        settings = load_settings()
    except SettingsError as exc:
        typer.echo(f"FAIL  {exc}")
        raise typer.Exit(1) from None
    results = asyncio.run(_checks(settings))
    for ok, line in results:
        typer.echo(f"{'OK  ' if ok else 'FAIL'}  {line}")
    if not all(ok for ok, _ in results):
        raise typer.Exit(1)


def backup(
    file: Annotated[Path, typer.Argument(help="Where to write the copy (a new file).")],
) -> None:
    """A consistent copy of the SQLite database, taken while the bot runs; for PostgreSQL,
    how to take one."""
    from bot.config import SettingsError, load_settings, safe_url, sqlite_path

    try:
        settings = load_settings()
    except SettingsError as exc:
        fail(str(exc))
    source = sqlite_path(settings.database_url)
    if source is None:
        typer.echo("The database is PostgreSQL: back it up with its own tool, e.g.\n"
                   f"  pg_dump --format=custom --file={file} "
                   f"'{safe_url(settings.database_url).replace('+asyncpg', '')}'"
                   "\n(restore with pg_restore; see README, Deploying).")
        return
    if file.exists():
        fail(f"{file} exists already: give a new file name")
    if not source.exists():
        fail(f"there is no database at {source} yet")
    # SQLite's online backup: a consistent snapshot even while the bot writes.
    with sqlite3.connect(f"file:{source}?mode=ro", uri=True) as src, \
            sqlite3.connect(file) as dst:
        src.backup(dst)
    file.chmod(0o600)
    typer.echo(f"backed up {source} to {file}")


def register(app: typer.Typer) -> None:
    app.command("doctor")(doctor)
    app.command("backup")(backup)
