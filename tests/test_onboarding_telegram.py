"""End to end over HTTP: the real bot (python-telegram-bot) against a fake Bot API server."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import pytest

from bot.app import start_channel, web_server
from bot.channels.telegram import TelegramChannel
from bot.context import AppContext
from bot.models import Role
from tests.conftest import add_unit, make_invite, make_settings
from tests.fakes.telegram_api import FakeTelegramAPI

ADMIN, MEMBER, STRANGER = 1001, 1002, 1003


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegramAPI]:
    async with FakeTelegramAPI() as fake:
        yield fake


@pytest.fixture
async def bot(database_url: str, clock, tg: FakeTelegramAPI) -> AsyncIterator[AppContext]:
    settings = make_settings(database_url, telegram_base_url=tg.base_url)
    app = await AppContext.create(settings, clock=clock)
    runner = TelegramChannel(app)
    await start_channel(app, runner)
    try:
        yield app
    finally:
        await runner.stop()
        await app.close()


async def ask(tg: FakeTelegramAPI, user_id: int, text: str, **kw) -> str:
    """Send a message as a user and return the bot's (single) answer."""
    before = len(tg.sent_messages(user_id))
    tg.push_message(user_id, text, **kw)
    sent = await tg.wait_for_messages(user_id, before + 1)
    return sent[-1].text or ""


async def test_onboarding_over_the_bot_api(bot: AppContext, tg: FakeTelegramAPI) -> None:
    assert bot.deep_link("telegram") == "https://t.me/vstbpn_test_bot"  # learned from getMe
    menus = {c.params.get("language_code"): c.params["commands"]
             for c in tg.calls("setMyCommands")}
    assert set(menus) == {None, "en"}
    assert "help" in str(menus[None]) and "invite" not in str(menus[None])
    unit = await add_unit(bot, "Sở Lao động")

    # A stranger gets only how to join.
    answer = await ask(tg, STRANGER, "Xin chào, cho tôi xem báo cáo")
    assert "Để tham gia" in answer
    assert "/help" not in answer

    # An admin is invited and joins with /start <code> (the deep link's payload).
    code = await make_invite(bot, unit, Role.admin)
    answer = await ask(tg, ADMIN, f"/start {code}", first_name="Lan", last_name="Nguyễn")
    assert "Chào mừng Lan Nguyễn" in answer and "quản trị" in answer
    # Their private chat's menu now shows the admin's commands too.
    (admin_menu,) = await tg.wait_for(
        lambda: [c for c in tg.calls("setMyCommands") if c.params.get("scope")])
    assert str(ADMIN) in str(admin_menu.params["scope"])
    assert "invite" in str(admin_menu.params["commands"])
    assert "duty" in str(admin_menu.params["commands"])

    # The admin invites a member in chat; the reply carries the t.me deep link.
    answer = await ask(tg, ADMIN, "/invite member")
    assert "https://t.me/vstbpn_test_bot?start=" in answer
    member_code = answer.split("?start=", 1)[1].split()[0]

    # A bad code is refused; the real one works; an English Telegram user is greeted in English.
    assert "not valid" in await ask(tg, MEMBER, "/start zzzzzzzzzzzz", language_code="en")
    answer = await ask(tg, MEMBER, f"/start {member_code}", first_name="Nam", language_code="en")
    assert answer.startswith("Welcome, Nam!") and "as member" in answer

    # /help differs by role.
    admin_help = await ask(tg, ADMIN, "/help")
    member_help = await ask(tg, MEMBER, "/help")
    assert "/members" in admin_help and "/invite" in admin_help
    assert "/members" not in member_help and "/invite" not in member_help

    # /lang offers buttons; pressing one switches the language.
    before = len(tg.sent_messages(ADMIN))
    tg.push_message(ADMIN, "/lang")
    (prompt,) = (await tg.wait_for_messages(ADMIN, before + 1))[-1:]
    assert prompt.button_texts == ["Tiếng Việt", "English"]
    tg.push_callback(ADMIN, "lang:en", message_id=prompt.message_id)
    sent = await tg.wait_for_messages(ADMIN, before + 2)
    assert sent[-1].text == "Language set to English."
    assert await tg.wait_for(lambda: tg.calls("answerCallbackQuery"))

    # /lang vi as a command argument switches back.
    assert await ask(tg, ADMIN, "/lang vi") == "Đã chuyển sang tiếng Việt."
    assert "Vai trò: quản trị" in await ask(tg, ADMIN, "/whoami")


async def test_strangers_in_groups_are_ignored(bot: AppContext, tg: FakeTelegramAPI) -> None:
    tg.push_message(STRANGER, "hello everyone", chat_id=-100500, chat_title="Ban VSTBPN Sở")
    tg.push_message(STRANGER, "hello bot")  # processed after the group message
    await tg.wait_for_messages(STRANGER, 1)
    assert tg.sent_messages(-100500) == []


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_webhook_checks_telegram_secret_header(
    database_url: str, clock, tg: FakeTelegramAPI
) -> None:
    port = _free_port()
    settings = make_settings(
        database_url, telegram_base_url=tg.base_url, telegram_mode="webhook",
        webhook_listen="127.0.0.1", webhook_port=port,
        webhook_url="https://bot.example.gov.vn/telegram", webhook_secret="s3cret-Header_value",
    )
    app = await AppContext.create(settings, clock=clock)
    web = web_server(settings)
    runner = TelegramChannel(app, web)
    await web.start()
    await start_channel(app, runner)
    try:
        # The bot registered its webhook with the secret Telegram must echo back.
        assert tg.webhook_url == "https://bot.example.gov.vn/telegram"
        assert tg.webhook_secret_token == "s3cret-Header_value"
        local = f"http://127.0.0.1:{port}/telegram"
        update = tg.make_message_update(STRANGER, "hello")
        assert await tg.post_webhook(local, update, secret_token="wrong") == 403
        assert await tg.post_webhook(local, update) == 403
        await asyncio.sleep(0)
        assert tg.sent_messages(STRANGER) == []
        assert await tg.post_webhook(local, update, secret_token="s3cret-Header_value") == 200
        (answer,) = await tg.wait_for_messages(STRANGER, 1)
        assert "Để tham gia" in (answer.text or "")
    finally:
        await web.stop()
        await runner.stop()
        await app.close()
