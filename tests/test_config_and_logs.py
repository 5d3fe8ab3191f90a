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
    assert settings.database_url == "sqlite+aiosqlite:///vstbpn.db"
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
    assert "VSTBPN_DEFAULT_LANGUAGE" in str(err.value)
    assert "VSTBPN_TIMEZONE" in str(err.value)


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
    finally:
        logging.getLogger().handlers.clear()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    first = json.loads(lines[0])
    assert first["event"] == "member_joined" and first["member_id"] == 7
    assert token not in stream.getvalue() and "bot***/getMe" in lines[1]
