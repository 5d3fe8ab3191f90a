"""Helpers shared by the command-line modules."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import typer

if TYPE_CHECKING:
    from bot.context import AppContext
    from bot.models import Unit

# The command modules import only typer and light things at module level, and the rest in
# the commands that need it: `vstbpn --help` should not wait for SQLAlchemy, Alembic or
# pydantic (typer reads every command's annotations, so those must stay cheap to import).

T = TypeVar("T")

JsonOpt = Annotated[bool, typer.Option("--json", help="One JSON object per line.")]


def fail(message: str) -> NoReturn:
    typer.echo(message, err=True)
    raise typer.Exit(2)


def with_app(work: Callable[[AppContext], Awaitable[T]]) -> T:
    """Run one async piece of work with a fresh application context (schema migrated)."""
    import asyncio

    from bot.config import SettingsError, load_settings
    from bot.context import AppContext
    from bot.logs import setup_logging

    try:
        settings = load_settings()
    except SettingsError as exc:
        fail(str(exc))
    setup_logging("WARNING", "text")

    async def main() -> T:
        ctx = await AppContext.create(settings)
        try:
            return await work(ctx)
        finally:
            await ctx.close()

    try:
        return asyncio.run(main())
    except SettingsError as exc:  # e.g. the database cannot be opened: one line, not a trace
        fail(str(exc))


def local_time(moment: datetime, unit: Unit) -> str:
    """A stored moment as the unit reads it: its own time zone, to the minute."""
    return moment.astimezone(unit.tz).strftime("%Y-%m-%d %H:%M")


def emit(rows: list[dict[str, Any]], as_json: bool, columns: list[str]) -> None:
    if as_json:
        for row in rows:
            typer.echo(json.dumps(row, ensure_ascii=False, default=str))
        return
    if not rows:
        typer.echo("(none)")
        return
    widths = {c: max(len(c), *(len(str(r[c])) for r in rows)) for c in columns}
    typer.echo("  ".join(c.ljust(widths[c]) for c in columns))
    for row in rows:
        typer.echo("  ".join(str(row[c]).ljust(widths[c]) for c in columns))


