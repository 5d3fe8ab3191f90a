"""Alembic: empty → head → base → head, on SQLite and (when configured) PostgreSQL."""

from __future__ import annotations

import subprocess
import sys

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
        assert await db.current_revision(engine) == db.SCHEMA_HEAD
        assert set(Base.metadata.tables) <= await _tables(engine)

        await db.upgrade(engine)  # a second start migrates nothing and fails nothing
        await db.downgrade(engine, "base")
        assert await _tables(engine) <= {"alembic_version"}
        await db.upgrade(engine)
        assert await db.current_revision(engine) == db.SCHEMA_HEAD
    finally:
        await engine.dispose()


def test_a_start_on_an_up_to_date_database_does_not_load_alembic(tmp_path) -> None:
    """Alembic's ~7 MB are loaded to migrate, not for every start."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    script = (
        "import asyncio, sys\n"
        "from bot.config import Settings\n"
        "from bot.context import AppContext\n"
        "async def main():\n"
        "    app = await AppContext.create(Settings(database_url=sys.argv[1], _env_file=None))\n"
        "    await app.close()\n"
        "asyncio.run(main())\n"
        "print('alembic' in sys.modules)\n")
    runs = [subprocess.run([sys.executable, "-c", script, url], capture_output=True,
                           text=True, timeout=60) for _ in range(2)]
    assert [r.stdout.strip() for r in runs] == ["True", "False"], [r.stderr for r in runs]


def test_the_schema_head_is_the_newest_migration() -> None:
    """Starting on an up-to-date database trusts db.SCHEMA_HEAD instead of loading Alembic:
    a new migration must move it."""
    from alembic.script import ScriptDirectory

    assert ScriptDirectory.from_config(db.alembic_config()).get_current_head() == db.SCHEMA_HEAD


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


async def test_catalog_migration_keeps_what_admins_changed(database_url: str) -> None:
    """Units made before 0004 get the corrected catalog; an admin's own settings stay."""
    from datetime import UTC, datetime

    from sqlalchemy import text

    engine = db.make_engine(database_url)
    try:
        await db.upgrade(engine, "0003")
        now = datetime(2026, 1, 5, tzinfo=UTC)
        async with engine.begin() as conn:
            await conn.execute(text(
                "INSERT INTO units (id, name, timezone, created_at) VALUES (1, 'A', "
                "'Asia/Ho_Chi_Minh', :now), (2, 'B', 'Asia/Ho_Chi_Minh', :now)"), {"now": now})
            rows = [  # unit 1 as installed; unit 2 with its admin's changes
                (1, "annual_plan", '{"kind": "yearly", "month": 1, "day": 31}', "-14,-3,0,+2"),
                (2, "annual_plan", '{"kind": "yearly", "month": 2, "day": 28}', "-14,-3,0,+2"),
                (1, "monthly_article", '{"kind": "monthly", "day": -1}', "-7,-2,0,+2"),
                (2, "monthly_article", '{"kind": "monthly", "day": -1}', "-10,0"),
                (1, "annual_report", '{"kind": "yearly", "month": 12, "day": 15}', "-14,0"),
                (2, "annual_report", '{"kind": "yearly", "month": 12, "day": 10}', "-14,0"),
                (2, "annual_communication", '{"kind": "yearly", "month": 12, "day": 15}', "-30,0"),
            ]
            for unit, code, recurrence, stages in rows:
                await conn.execute(text(
                    "INSERT INTO duties (unit_id, code, kind, title_vi, title_en, recurrence, "
                    "stages, send_time, shift, scope, enabled, created_at) VALUES (:u, :c, "
                    "'catalog', 'x', 'x', :r, :s, '09:00', 'previous', 'unit', :e, :now)"),
                    {"u": unit, "c": code, "r": recurrence, "s": stages, "now": now,
                     "e": code != "annual_communication"})
        await db.upgrade(engine)
        async with engine.connect() as conn:
            found = {
                (r.unit_id, r.code): r for r in await conn.execute(text(
                    "SELECT unit_id, code, recurrence, stages, send_time, enabled, responsible, "
                    "organisation, date_confirmed, title_vi FROM duties"))
            }
    finally:
        await engine.dispose()

    def recurrence(key: tuple[int, str]) -> dict:
        import json

        value = found[key].recurrence
        return json.loads(value) if isinstance(value, str) else value

    assert recurrence((1, "annual_plan")) == {"kind": "yearly", "month": 3, "day": 31}
    assert recurrence((2, "annual_plan")) == {"kind": "yearly", "month": 2, "day": 28}
    assert found[(1, "monthly_article")].stages == "-7,0,+2"
    assert found[(2, "monthly_article")].stages == "-10,0"
    assert found[(1, "monthly_article")].responsible == "focal"
    assert found[(1, "annual_plan")].responsible == "focal_admins"
    assert not found[(1, "annual_report")].date_confirmed  # the default: to be confirmed
    assert found[(2, "annual_report")].date_confirmed  # the admin set it
    assert "năm" not in found[(1, "annual_report")].title_vi  # the year is added when shown
    # One communication tick became three, each with the admin's settings.
    assert (2, "annual_communication") not in found
    for code, org in (("communication_ban", "ban"), ("communication_union", "cong_doan"),
                      ("communication_youth", "doan_tn")):
        tick = found[(2, code)]
        assert tick.organisation == org and tick.stages == "-30,0" and tick.send_time == "09:00"
        assert not tick.enabled
