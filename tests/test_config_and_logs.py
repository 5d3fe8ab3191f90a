"""Settings errors are clear; logs are one JSON line per event and never show the token."""

from __future__ import annotations

import io
import json
import logging

import pytest

from bot.config import SettingsError, load_settings
from bot.logs import setup_logging


def test_defaults_need_nothing_but_a_token(monkeypatch) -> None:
    for name in ("VSTBPN_DATABASE_URL", "VSTBPN_TELEGRAM_BASE_URL", "VSTBPN_DEFAULT_LANGUAGE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("VSTBPN_TELEGRAM_TOKEN", "1:abc")
    settings = load_settings(_env_file=None)
    # One fixed per-user place, not the current directory.
    assert settings.database_url.endswith("/vstbpn/vstbpn.db")
    assert settings.database_url.startswith("sqlite+aiosqlite:////")
    assert settings.telegram_base_url == "https://api.telegram.org"
    assert settings.default_language == "vi"
    assert settings.require_token() == "1:abc"


def test_plain_urls_get_async_drivers(monkeypatch) -> None:
    monkeypatch.setenv("VSTBPN_DATABASE_URL", "postgresql://u@db/x")
    monkeypatch.setenv("VSTBPN_TELEGRAM_BASE_URL", "http://localhost:8081/bot/")
    settings = load_settings(_env_file=None)
    assert settings.database_url == "postgresql+asyncpg://u@db/x"
    assert settings.telegram_base_url == "http://localhost:8081"


def test_invalid_settings_name_the_variable(monkeypatch) -> None:
    monkeypatch.setenv("VSTBPN_DEFAULT_LANGUAGE", "fr")
    monkeypatch.setenv("VSTBPN_TIMEZONE", "Mars/Olympus")
    with pytest.raises(SettingsError) as err:
        load_settings(_env_file=None)
    lines = str(err.value).splitlines()  # one line per setting, naming it
    assert lines == ["VSTBPN_DEFAULT_LANGUAGE is not valid: Input should be 'vi' or 'en'",
                     "VSTBPN_TIMEZONE is not valid: unknown timezone 'Mars/Olympus'"]


def test_missing_token_says_how_to_fix(monkeypatch) -> None:
    monkeypatch.delenv("VSTBPN_TELEGRAM_TOKEN", raising=False)
    with pytest.raises(SettingsError, match="VSTBPN_TELEGRAM_TOKEN"):
        load_settings(_env_file=None).require_token()


def test_logs_are_json_lines_and_mask_secrets(monkeypatch) -> None:
    stream = io.StringIO()
    monkeypatch.setattr("sys.stderr", stream)
    token = "987654:SECRET-token-value"
    setup_logging("DEBUG", "json", [token])
    try:
        logging.getLogger("vstbpn.test").info("member_joined", extra={"member_id": 7})
        logging.getLogger("httpx").warning("POST https://api.telegram.org/bot%s/getMe", token)
        logging.getLogger("alembic.runtime.plugins").info("setup plugin alembic.autogenerate")
    finally:
        logging.getLogger().handlers.clear()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    first = json.loads(lines[0])
    assert first["event"] == "member_joined" and first["member_id"] == 7
    assert token not in stream.getvalue() and "bot***/getMe" in lines[1]


def test_database_problems_are_one_line_naming_the_setting(tmp_path, monkeypatch) -> None:
    from typer.testing import CliRunner

    from bot.cli import app as cli

    runner = CliRunner()
    monkeypatch.setenv("VSTBPN_DATABASE_URL", f"sqlite:///{tmp_path}/missing/dir/x.db")
    result = runner.invoke(cli, ["unit", "list"])
    assert result.exit_code == 2
    assert result.output.strip().count("\n") == 0, result.output
    assert "VSTBPN_DATABASE_URL" in result.output and "does not exist" in result.output
    assert not (tmp_path / "missing").exists()  # no folder is silently created

    # Nothing listens on port 9 (discard): the server cannot be reached.
    monkeypatch.setenv("VSTBPN_DATABASE_URL", "postgresql://someone:pa55word@127.0.0.1:9/x")
    result = runner.invoke(cli, ["unit", "list"])
    assert result.exit_code == 2
    assert result.output.strip().count("\n") == 0, result.output
    assert "VSTBPN_DATABASE_URL" in result.output and "pa55word" not in result.output

    monkeypatch.setenv("VSTBPN_DATABASE_URL", "mysql+nothing://x")
    result = runner.invoke(cli, ["unit", "list"])
    assert result.exit_code == 2 and "VSTBPN_DATABASE_URL" in result.output


def test_new_sqlite_file_is_private_and_default_folder_is_made(tmp_path, monkeypatch) -> None:
    from typer.testing import CliRunner

    from bot.cli import app as cli

    monkeypatch.delenv("VSTBPN_DATABASE_URL", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["db", "current"])
    assert result.exit_code == 0, result.output
    database = tmp_path / "xdg" / "vstbpn" / "vstbpn.db"
    assert str(database) in result.output
    assert database.stat().st_mode & 0o777 == 0o600
    assert not (tmp_path / "vstbpn.db").exists()


async def test_a_database_error_logs_no_member_text(app, monkeypatch) -> None:
    from sqlalchemy import text

    from bot.channels.console import CAPS
    from bot.messages import Inbound
    from bot.services import conversations
    from handlers.router import handle

    secret = "bí mật 0912345678"

    async def broken(session, channel: str, external_id: str, now):
        await session.execute(text("SELECT * FROM no_such_table WHERE x = :v"), {"v": secret})

    monkeypatch.setattr(conversations, "load_for_turn", broken)
    stream = io.StringIO()
    monkeypatch.setattr("sys.stderr", stream)
    setup_logging("DEBUG", "json", [])
    try:
        replies = await handle(app, Inbound("console", "u1", "u1", text=secret), CAPS)
    finally:
        logging.getLogger().handlers.clear()
    assert "Xin lỗi" in replies[0].text  # a polite apology, not a traceback
    log = stream.getvalue()
    assert "handler_failed" in log and "no_such_table" in log
    assert secret not in log and "0912345678" not in log


def test_every_process_of_a_deployment_expects_the_same_webhook_secret(monkeypatch) -> None:
    """Several processes behind one proxy: Telegram keeps the secret of the last setWebhook,
    so a random secret per process would make the others refuse its updates."""
    from bot.app import secrets_of

    monkeypatch.delenv("VSTBPN_WEBHOOK_SECRET", raising=False)
    monkeypatch.setenv("VSTBPN_TELEGRAM_TOKEN", "111:AAA")
    first, second = load_settings(_env_file=None), load_settings(_env_file=None)
    assert first.telegram_secret == second.telegram_secret
    assert first.telegram_secret and "111:AAA" not in first.telegram_secret
    assert first.telegram_secret in secrets_of(first)  # masked in logs like the token
    monkeypatch.setenv("VSTBPN_TELEGRAM_TOKEN", "222:BBB")
    assert load_settings(_env_file=None).telegram_secret != first.telegram_secret
    monkeypatch.setenv("VSTBPN_WEBHOOK_SECRET", "chosen-secret")
    assert load_settings(_env_file=None).telegram_secret == "chosen-secret"
