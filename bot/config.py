"""Settings from environment variables (prefix VSTBPN_) and an optional .env file."""

from __future__ import annotations

import hashlib
import hmac
from datetime import time
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from platformdirs import user_data_path
from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

Language = Literal["vi", "en"]
LANGUAGES: tuple[Language, ...] = ("vi", "en")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="VSTBPN_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    telegram_token: SecretStr | None = None
    # Root of the Bot API server; a self-hosted server or a test fake goes here.
    telegram_base_url: str = "https://api.telegram.org"
    # Only for invite links printed by the command line; the running bot asks Telegram.
    telegram_bot_username: str | None = None
    telegram_mode: Literal["polling", "webhook"] = "polling"
    webhook_url: str | None = None
    webhook_listen: str = "0.0.0.0"
    webhook_port: int = Field(default=8443, ge=1, le=65535)
    webhook_secret: SecretStr | None = None
    zalo_token: SecretStr | None = None
    zalo_base_url: str = "https://bot-api.zaloplatforms.com"
    zalo_mode: Literal["polling", "webhook"] = "polling"
    zalo_webhook_secret: SecretStr | None = None
    # Messages a month the Zalo plan allows (unset: no limit); past it, Zalo carries only
    # what reaches people who have no other app.
    zalo_monthly_limit: int | None = Field(default=None, ge=1)
    # The https address where this bot's web server is reachable from outside: Zalo's
    # webhook (<url>/zalo) and download links (<url>/files/…) are built on it.
    public_url: str | None = None
    # One fixed place per user, so every command finds the same database wherever it runs.
    database_url: str = Field(default_factory=lambda: default_database_url())
    default_language: Language = "vi"
    timezone: str = "Asia/Ho_Chi_Minh"
    # Reminders go out only inside this daily window, on Vietnamese working days.
    send_window: str = "08:00-17:00"
    # A half-finished dialogue left this long is forgotten, with a note at the next message.
    dialogue_timeout_hours: float = Field(default=24, gt=0)
    # Old conversations, wrong-code records and sent reminders are deleted after this many
    # days (at least 30: the planner looks back a week, and a report month back a month).
    retention_days: int = Field(default=400, ge=30)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["json", "text"] = "json"

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip().rstrip("/")
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with https://")
        return value

    @field_validator("zalo_base_url")
    @classmethod
    def _zalo_base_url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value

    @field_validator("telegram_base_url")
    @classmethod
    def _strip_base_url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        # Accept the PTB-style ".../bot" form too.
        return value.removesuffix("/bot")

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        return async_database_url(value)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown timezone {value!r}") from exc
        return value

    @field_validator("send_window")
    @classmethod
    def _window(cls, value: str) -> str:
        _parse_window(value)
        return value

    @model_validator(mode="after")
    def _webhook_needs_url(self) -> Settings:
        # Checked before anything is contacted. SettingsError (not ValueError) passes through
        # pydantic unwrapped, so `vstbpn run` prints this one line as it is.
        if self.telegram_mode == "webhook" and not self.webhook_url:
            raise SettingsError(
                "VSTBPN_WEBHOOK_URL is required when VSTBPN_TELEGRAM_MODE=webhook: set it to "
                "the public https address Telegram posts to (it leads to this bot's /telegram), "
                "or use VSTBPN_TELEGRAM_MODE=polling"
            )
        if self.zalo_mode == "webhook" and not self.public_url:
            raise SettingsError(
                "VSTBPN_PUBLIC_URL is required when VSTBPN_ZALO_MODE=webhook: set it to the "
                "public https address of this bot's web server (Zalo posts to <it>/zalo), "
                "or use VSTBPN_ZALO_MODE=polling"
            )
        if self.zalo_mode == "webhook" and self.zalo_webhook_secret is not None and not (
                8 <= len(self.zalo_webhook_secret.get_secret_value()) <= 256):
            raise SettingsError("VSTBPN_ZALO_WEBHOOK_SECRET must be 8 to 256 characters long")
        return self

    @property
    def telegram_secret(self) -> str | None:
        """The webhook secret Telegram sends back: the one set, else one derived from the
        token, so every process of a deployment expects the same one."""
        return _secret_for(self.webhook_secret, self.telegram_token, "telegram webhook")

    @property
    def zalo_secret(self) -> str | None:
        return _secret_for(self.zalo_webhook_secret, self.zalo_token, "zalo webhook")

    @property
    def window_times(self) -> tuple[time, time]:
        return _parse_window(self.send_window)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def require_token(self) -> str:
        if self.telegram_token is None or not self.telegram_token.get_secret_value():
            raise SettingsError(
                "VSTBPN_TELEGRAM_TOKEN is not set: give the bot token from @BotFather, "
                "e.g. export VSTBPN_TELEGRAM_TOKEN=123456:ABC..."
            )
        return self.telegram_token.get_secret_value()

    def require_channel(self) -> None:
        """At least one channel's token: without one the bot has nobody to serve."""
        if not any(token is not None and token.get_secret_value()
                   for token in (self.telegram_token, self.zalo_token)):
            raise SettingsError(
                "VSTBPN_TELEGRAM_TOKEN is not set: give the bot token from @BotFather, "
                "e.g. export VSTBPN_TELEGRAM_TOKEN=123456:ABC... (or VSTBPN_ZALO_TOKEN for a "
                "Zalo bot)"
            )


def _parse_window(value: str) -> tuple[time, time]:
    try:
        start, end = (time.fromisoformat(p.strip()) for p in value.split("-"))
    except ValueError as exc:
        raise ValueError("must look like 08:00-17:00") from exc
    if start >= end:
        raise ValueError("the window must start before it ends")
    return start, end


def async_database_url(url: str) -> str:
    """Pick the async driver for plain URLs (sqlite:///x, postgresql://...)."""
    url = url.strip()
    for plain, driver in (
        ("sqlite://", "sqlite+aiosqlite://"),
        ("postgresql://", "postgresql+asyncpg://"),
        ("postgres://", "postgresql+asyncpg://"),
    ):
        if url.startswith(plain):
            return driver + url.removeprefix(plain)
    return url


class SettingsError(Exception):
    """A setting is missing or invalid; the message says which and how to fix it."""


def load_settings(**overrides: object) -> Settings:
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        # One line per setting, naming it; pydantic's "Value error, " prefix says nothing.
        lines = []
        for err in exc.errors():
            name = "VSTBPN_" + "_".join(str(p) for p in err["loc"]).upper()
            lines.append(f"{name} is not valid: {err['msg'].removeprefix('Value error, ')}")
        raise SettingsError("\n".join(lines)) from None


def default_database_path() -> Path:
    """The per-user data folder (XDG on Linux: ~/.local/share/vstbpn/vstbpn.db)."""
    return user_data_path("vstbpn") / "vstbpn.db"


def default_database_url() -> str:
    return f"sqlite+aiosqlite:///{default_database_path()}"


def safe_url(url: str) -> str:
    """The database URL as it may be printed: without its password."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(unreadable URL)"


def sqlite_path(url: str) -> Path | None:
    prefix = "sqlite+aiosqlite:///"
    if url.startswith(prefix) and ":memory:" not in url:
        return Path(url.removeprefix(prefix))
    return None


def _secret_for(chosen: SecretStr | None, token: SecretStr | None, purpose: str) -> str | None:
    if chosen is not None:
        return chosen.get_secret_value()
    if token is None:
        return None
    key = token.get_secret_value().encode()
    return hmac.new(key, purpose.encode(), hashlib.sha256).hexdigest()
