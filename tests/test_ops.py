"""`vstbpn doctor` and `vstbpn backup`: each check a line, OK or what to do."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot import db
from bot.cli import app as cli
from bot.cli_ops import _checks
from tests.conftest import make_settings

runner = CliRunner()


async def test_doctor_says_ok_for_each_part_in_order(database_url: str, tg_api) -> None:
    engine = await db.open_database(database_url)  # migrated, as after a first start
    await engine.dispose()
    settings = make_settings(database_url, telegram_token="123456:TEST-TOKEN-secret",
                             telegram_base_url=tg_api.base_url)
    results = await _checks(settings)
    assert all(ok for ok, _ in results), results
    lines = [line for _, line in results]
    assert lines[0].startswith("Settings: read")
    assert any(line.startswith("Database:") for line in lines)
    assert any(line.startswith("Migrations: at 00") for line in lines)
    assert any(line.startswith("Clock:") for line in lines)
    assert any(line.startswith("Telegram: the token works (@") for line in lines)
    assert "TEST-TOKEN" not in "\n".join(lines)  # the token is never shown


async def test_doctor_names_what_to_fix(tmp_path: Path, tg_api) -> None:
    fresh = f"sqlite+aiosqlite:///{tmp_path / 'new.db'}"  # never migrated
    settings = make_settings(fresh, telegram_token="123456:TEST-TOKEN-secret",
                             telegram_base_url="http://127.0.0.1:9")
    failed = [line for ok, line in await _checks(settings) if not ok]
    assert any("vstbpn db upgrade" in line for line in failed)
    assert any("VSTBPN_TELEGRAM_BASE_URL" in line for line in failed)
    missing = make_settings(f"sqlite+aiosqlite:///{tmp_path / 'nowhere' / 'x.db'}",
                            telegram_token=None)
    failed = [line for ok, line in await _checks(missing) if not ok]
    assert any(line.startswith("Database:") and "VSTBPN_DATABASE_URL" in line for line in failed)
    assert any("VSTBPN_TELEGRAM_TOKEN or VSTBPN_ZALO_TOKEN" in line for line in failed)


def test_backup_copies_sqlite_and_explains_postgresql(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    source = tmp_path / "bot.db"
    monkeypatch.setenv("VSTBPN_DATABASE_URL", f"sqlite:///{source}")
    monkeypatch.chdir(tmp_path)
    assert runner.invoke(cli, ["unit", "add", "Sở Nội vụ"]).exit_code == 0
    result = runner.invoke(cli, ["backup", str(tmp_path / "copy.db")])
    assert result.exit_code == 0, result.output
    with sqlite3.connect(tmp_path / "copy.db") as copy:
        assert copy.execute("SELECT name FROM units").fetchall() == [("Sở Nội vụ",)]
    assert (tmp_path / "copy.db").stat().st_mode & 0o077 == 0  # the owner's only
    again = runner.invoke(cli, ["backup", str(tmp_path / "copy.db")])
    assert again.exit_code == 2 and "exists already" in again.output
    monkeypatch.setenv("VSTBPN_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/vstbpn")
    pg = runner.invoke(cli, ["backup", "x.dump"])
    assert pg.exit_code == 0 and "pg_dump --format=custom --file=x.dump" in pg.output
    assert "postgresql://postgres@127.0.0.1:5432/vstbpn" in pg.output
