"""The Telegram adapter under faults, over HTTP against the fake Bot API: button presses whose
answer fails, replies that fail once, the webhook endpoint, commands for other bots, control
characters, start-up errors, and editing the message whose button was pressed."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
from collections.abc import AsyncIterator

import aiohttp
import pytest
from telegram.error import BadRequest, Forbidden, NetworkError, TimedOut

from bot.app import start_channel
from bot.channels import telegram as adapter
from bot.channels.telegram import TelegramChannel
from bot.config import SettingsError, load_settings
from bot.context import AppContext
from bot.messages import Choice, Inbound, Reply
from bot.models import Member, Role
from tests.conftest import (
    add_tg_member,
    add_unit,
    free_port,
    make_invite,
    make_settings,
    telegram_webhook_bot,
)
from tests.fakes.telegram_api import FakeTelegramAPI

TOKEN = "123456:TEST-TOKEN-secret"
MEMBER, STRANGER = 2001, 2002
SECRET = "s3cret-Header_value"


@pytest.fixture
async def bot(database_url: str, clock, tg_api: FakeTelegramAPI) -> AsyncIterator[AppContext]:
    app = await AppContext.create(
        make_settings(database_url, telegram_base_url=tg_api.base_url), clock=clock
    )
    channel = TelegramChannel(app)
    await start_channel(app, channel)
    try:
        yield app
    finally:
        await channel.stop()
        await app.close()


async def answer_to(tg: FakeTelegramAPI, user: int, text: str, **kw) -> str:
    before = len(tg.sent_messages(user))
    tg.push_message(user, text, **kw)
    return (await tg.wait_for_messages(user, before + 1))[-1].text or ""


async def lang_prompt(app: AppContext, tg: FakeTelegramAPI):
    """A member asks /lang and gets the language buttons."""
    unit = await add_unit(app, "Sở Nội vụ")
    await add_tg_member(app, unit, Role.member, "Lan", MEMBER)
    before = len(tg.sent_messages(MEMBER))
    tg.push_message(MEMBER, "/lang")
    prompt = (await tg.wait_for_messages(MEMBER, before + 1))[-1]
    assert prompt.callback_data == ["lang:vi", "lang:en"]
    return prompt


# --- 1. a press is handled whatever answering it does -------------------------------------

@pytest.mark.parametrize("kind", ["400", "500"])
async def test_a_press_is_handled_when_answering_it_fails(
    bot: AppContext, tg_api: FakeTelegramAPI, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    prompt = await lang_prompt(bot, tg_api)
    # A press queued while the bot was down: Telegram refuses the late answer (or fails).
    tg_api.fail_next("answerCallbackQuery", kind=kind, description=(
        "Bad Request: query is too old and response timeout expired or query ID is invalid"
        if kind == "400" else None))
    before = len(tg_api.sent_messages(MEMBER))
    with caplog.at_level(logging.WARNING):
        tg_api.push_callback(MEMBER, "lang:en", message_id=prompt.message_id)
        sent = await tg_api.wait_for_messages(MEMBER, before + 1)
    assert sent[-1].text == "Language set to English."
    assert [c.failed for c in tg_api.calls("answerCallbackQuery")] == [kind]
    warned = [r for r in caplog.records if r.getMessage() == "telegram_press_not_answered"]
    assert warned and warned[0].levelno == logging.WARNING
    assert TOKEN not in caplog.text


# --- 2. replies are retried on transient failures, never on refusals ----------------------

@pytest.mark.parametrize("kind", ["500", "502", "429"])
async def test_a_reply_that_fails_once_is_sent_again(
    bot: AppContext, tg_api: FakeTelegramAPI, kind: str
) -> None:
    tg_api.fail_next("sendMessage", chat_id=STRANGER, kind=kind, retry_after=1)
    assert "Để tham gia" in await answer_to(tg_api, STRANGER, "xin chào")
    assert [c.failed for c in tg_api.calls("sendMessage")] == [kind, None]


@pytest.mark.parametrize("kind", ["400", "403"])
async def test_a_refused_reply_is_not_sent_again(
    bot: AppContext, tg_api: FakeTelegramAPI, kind: str
) -> None:
    tg_api.fail_next("sendMessage", chat_id=STRANGER, kind=kind)
    tg_api.push_message(STRANGER, "xin chào")
    # A person's updates are handled one after another: once the next one is answered, the
    # first is done.
    assert "Để tham gia" in await answer_to(tg_api, STRANGER, "xin chào lần nữa")
    assert [c.failed for c in tg_api.calls("sendMessage")] == [kind, None]


async def test_retrying_covers_timeouts_and_network_errors_only() -> None:
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    def flaky(*errors: Exception):
        left = list(errors)

        async def call() -> str:
            if left:
                raise left.pop(0)
            return "sent"
        return call

    assert await adapter.retrying(flaky(TimedOut(), NetworkError("reset")), sleep=sleep) == "sent"
    assert len(slept) == 2 and all(0 < s <= 2 for s in slept)
    with pytest.raises(TimedOut):  # three attempts, then the failure is the caller's
        await adapter.retrying(flaky(TimedOut(), TimedOut(), TimedOut()), sleep=sleep)
    for refusal in (BadRequest("Bad Request: chat not found"), Forbidden("blocked")):
        slept.clear()
        with pytest.raises(type(refusal)):
            await adapter.retrying(flaky(refusal), sleep=sleep)
        assert slept == []


# --- 3. the webhook endpoint ---------------------------------------------------------------

@pytest.fixture
async def webhook(database_url: str, clock, tg_api: FakeTelegramAPI) -> AsyncIterator[str]:
    """The bot in webhook mode; yields the local URL of its /telegram endpoint."""
    async with telegram_webhook_bot(database_url, clock, tg_api.base_url, SECRET) as (
            _app, _channel, url):
        yield url


async def raw_status(url: str, head: str, body: bytes = b"") -> int:
    """Send a request's head and (part of) a body, and read the status line without waiting
    for the rest of the body to be sent."""
    host, port = url.split("//", 1)[1].split("/", 1)[0].split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(head.replace("\n", "\r\n").encode() + b"\r\n" + body)
        await writer.drain()
        line = await asyncio.wait_for(reader.readline(), timeout=5)
        return int(line.split()[1])
    finally:
        writer.close()


def _head(extra: str) -> str:
    return f"POST /telegram HTTP/1.1\nHost: localhost\nContent-Type: application/json\n{extra}"


async def test_webhook_refuses_a_wrong_secret_before_reading_the_body(webhook: str) -> None:
    # 95 MB announced, 64 KB sent: the answer must not wait for (or buffer) the rest.
    head = _head("Content-Length: 95000000\n")
    assert await raw_status(webhook, head, b"x" * 65536) == 403
    head = _head(f"X-Telegram-Bot-Api-Secret-Token: {SECRET}x\nContent-Length: 95000000\n")
    assert await raw_status(webhook, head, b"x" * 65536) == 403


async def test_webhook_refuses_bodies_over_one_megabyte(webhook: str) -> None:
    secret = f"X-Telegram-Bot-Api-Secret-Token: {SECRET}\n"
    assert await raw_status(webhook, _head(secret + "Content-Length: 2000000\n")) == 413
    # A chunked stream has no length: reading stops once it passes the cap.
    chunk = b"%x\r\n%s\r\n" % (65536, b"x" * 65536)
    status = await raw_status(webhook, _head(secret + "Transfer-Encoding: chunked\n"), chunk * 20)
    assert status == 413


async def test_webhook_answers_what_is_not_an_update_with_400(
    webhook: str, tg_api: FakeTelegramAPI
) -> None:
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET, "Content-Type": "application/json"}
    async with aiohttp.ClientSession() as http:
        for body in (b"{not json", b"[1, 2]", b'{"hello": 1}', b'"text"', b"\xff\xfe"):
            async with http.post(webhook, data=body, headers=headers) as response:
                assert response.status == 400, body
    update = tg_api.make_message_update(STRANGER, "xin chào")
    assert await tg_api.post_webhook(webhook, update, secret_token=SECRET) == 200
    (answer,) = await tg_api.wait_for_messages(STRANGER, 1)
    assert "Để tham gia" in (answer.text or "")


# --- 4. commands for other bots ------------------------------------------------------------

async def test_commands_for_other_bots_are_ignored(
    bot: AppContext, tg_api: FakeTelegramAPI
) -> None:
    unit = await add_unit(bot, "Sở Y tế")
    await add_tg_member(bot, unit, Role.member, "Lan", MEMBER)
    tg_api.push_message(MEMBER, "/help@OtherBot")
    tg_api.push_message(MEMBER, "/lang@SomeoneElse_bot en")
    tg_api.push_message(STRANGER, "/start@OtherBot")
    # Our own name, in any case, is answered (and handled like the bare command). A person's
    # updates are handled in order, and one that is ignored ends before any other turn waits
    # on anything, so once this is answered the others were seen.
    tg_api.push_message(MEMBER, "/whoami@VSTBPN_Test_Bot")
    (answer,) = await tg_api.wait_for_messages(MEMBER, 1)
    assert "Vai trò" in (answer.text or "")
    assert tg_api.sent_messages(STRANGER) == []
    assert len(tg_api.sent_messages()) == 1


async def test_own_name_is_stripped_from_commands(
    bot: AppContext, tg_api: FakeTelegramAPI
) -> None:
    unit = await add_unit(bot, "Sở Y tế")
    code = await make_invite(bot, unit)
    answer = await answer_to(tg_api, STRANGER, f"/start@vstbpn_test_bot {code}", first_name="Hoa")
    assert "Chào mừng Hoa" in answer


# --- 5. control characters -----------------------------------------------------------------

async def test_control_characters_never_reach_the_database(
    bot: AppContext, tg_api: FakeTelegramAPI
) -> None:
    unit = await add_unit(bot, "Sở Tư pháp")
    code = await make_invite(bot, unit)
    answer = await answer_to(tg_api, STRANGER, f"/start {code}\x00\x07",
                             first_name="Lan\x00\x1b", last_name="Nguyễn\u0085\x7f")
    assert "Chào mừng Lan Nguyễn" in answer
    async with bot.sessions() as session:
        from sqlalchemy import select
        (name,) = (await session.execute(select(Member.full_name))).scalars().all()
    assert name == "Lan Nguyễn"


def test_to_inbound_keeps_newlines_and_tabs(tg_api: FakeTelegramAPI) -> None:
    from telegram import Update

    data = tg_api.make_message_update(STRANGER, "a\tb\nc\x00d\x1f\u009fe\r", first_name="X\x00Y")
    inbound = adapter.to_inbound(Update.de_json(data, None), "vstbpn_test_bot")
    assert inbound is not None
    assert (inbound.text, inbound.display_name) == ("a\tb\ncde", "XY")


# --- 6. start-up errors are one line -------------------------------------------------------

def test_webhook_mode_without_url_is_refused_by_the_settings(monkeypatch) -> None:
    monkeypatch.setenv("VSTBPN_TELEGRAM_MODE", "webhook")
    monkeypatch.delenv("VSTBPN_WEBHOOK_URL", raising=False)
    with pytest.raises(SettingsError, match="VSTBPN_WEBHOOK_URL is required when "
                                            "VSTBPN_TELEGRAM_MODE=webhook: "):
        load_settings(_env_file=None)


async def run_until_exit(tmp_path, **env: str) -> tuple[int, list[str], str]:
    """`vstbpn run` as a real process; returns its exit code, plain lines and whole stderr."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("VSTBPN_")} | {
        "VSTBPN_TELEGRAM_TOKEN": TOKEN, "VSTBPN_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}",
        **env,
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", "from bot.cli import main; main()", "run",
        cwd=tmp_path, env=environ, stderr=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    output = out.decode() + err.decode()
    lines = output.splitlines()
    logs = [json.loads(line) for line in lines if line.startswith("{")]
    assert all(entry["level"] == "info" for entry in logs), output  # no error logged besides
    plain = [line for line in lines if not line.startswith("{")]
    assert proc.returncode is not None
    return proc.returncode, plain, output


async def test_a_refused_token_is_one_line(tmp_path, tg_api: FakeTelegramAPI) -> None:
    for kind in ("401", "404"):
        tg_api.fail_next("getMe", kind=kind, description="Unauthorized")
        code, plain, output = await run_until_exit(
            tmp_path, VSTBPN_TELEGRAM_BASE_URL=tg_api.base_url)
        assert code == 2, output
        assert len(plain) == 1 and "VSTBPN_TELEGRAM_TOKEN" in plain[0], output
        assert "@BotFather" in plain[0]
        assert TOKEN not in output and "TEST-TOKEN" not in output


async def test_an_unreachable_bot_api_server_is_one_line(tmp_path) -> None:
    base = f"http://127.0.0.1:{free_port()}"  # nobody listens there
    code, plain, output = await run_until_exit(tmp_path, VSTBPN_TELEGRAM_BASE_URL=base)
    assert code == 2, output
    assert len(plain) == 1, output
    assert f"VSTBPN_TELEGRAM_BASE_URL={base}" in plain[0] and "cannot be reached" in plain[0]
    assert TOKEN not in output


async def test_webhook_mode_without_url_is_one_line_before_contacting_telegram(
    tmp_path, tg_api: FakeTelegramAPI
) -> None:
    code, plain, output = await run_until_exit(
        tmp_path, VSTBPN_TELEGRAM_BASE_URL=tg_api.base_url, VSTBPN_TELEGRAM_MODE="webhook")
    assert code == 2, output
    assert len(plain) == 1 and plain[0].startswith("VSTBPN_WEBHOOK_URL is required"), output
    assert tg_api.calls() == []


# --- 7. the pressed message is edited ------------------------------------------------------

def replace_with(monkeypatch, reply: Reply) -> list[Inbound]:
    """Make every turn answer ``reply`` (as a handler that sets replaces_origin would)."""
    seen: list[Inbound] = []

    async def handle(_app, inbound: Inbound, _caps) -> list[Reply]:
        seen.append(inbound)
        return [reply]

    monkeypatch.setattr(adapter, "handle", handle)
    return seen


async def test_a_reply_replacing_the_pressed_message_edits_it(
    bot: AppContext, tg_api: FakeTelegramAPI, monkeypatch
) -> None:
    prompt = await lang_prompt(bot, tg_api)
    seen = replace_with(monkeypatch, Reply("Đã chọn: English", replaces_origin=True))
    before = len(tg_api.sent_messages(MEMBER))
    tg_api.push_callback(MEMBER, "lang:en", message_id=prompt.message_id)
    (edit,) = (await tg_api.wait_for_messages(MEMBER, before + 1))[before:]
    assert seen[0].origin_message_id == str(prompt.message_id)
    assert (edit.method, edit.message_id, edit.text) == (
        "editMessageText", prompt.message_id, "Đã chọn: English")
    message = tg_api.get_message(prompt.message_id)
    assert message["text"] == "Đã chọn: English" and "reply_markup" not in message
    assert len(tg_api.calls("sendMessage")) == before

    # With choices, they become the edited message's buttons.
    seen = replace_with(monkeypatch, Reply("Tiếp?", choices=(Choice("Có", "yes:1"),),
                                           replaces_origin=True))
    tg_api.push_callback(MEMBER, "lang:en", message_id=prompt.message_id)
    await tg_api.wait_for_messages(MEMBER, before + 2)
    assert tg_api.get_message(prompt.message_id)["reply_markup"] == {
        "inline_keyboard": [[{"text": "Có", "callback_data": "yes:1"}]]}


async def test_a_reply_whose_edit_fails_is_sent_as_a_new_message(
    bot: AppContext, tg_api: FakeTelegramAPI, monkeypatch
) -> None:
    prompt = await lang_prompt(bot, tg_api)
    replace_with(monkeypatch, Reply("Đã chọn: English", replaces_origin=True))
    tg_api.fail_next("editMessageText", kind="400",
                     description="Bad Request: message can't be edited")
    before = len(tg_api.sent_messages(MEMBER))
    tg_api.push_callback(MEMBER, "lang:en", message_id=prompt.message_id)
    (sent,) = (await tg_api.wait_for_messages(MEMBER, before + 1))[before:]
    assert (sent.method, sent.text) == ("sendMessage", "Đã chọn: English")
    assert [c.failed for c in tg_api.calls("editMessageText")] == ["400"]
    # A typed message has no origin: the reply is a new message even if it asks to replace.
    before += 1
    tg_api.push_message(MEMBER, "ok")
    (sent,) = (await tg_api.wait_for_messages(MEMBER, before + 1))[before:]
    assert sent.method == "sendMessage"


# --- a newcomer's first hour: the bot added to a group says what it does there --------------


async def test_added_to_a_group_the_bot_says_how_to_turn_it_on(
    bot: AppContext, tg_api: FakeTelegramAPI
) -> None:
    group = -100555
    me = {"id": 123456, "is_bot": True, "first_name": "VSTBPN", "username": "vstbpn_test_bot"}
    adder = {"id": STRANGER, "is_bot": False, "first_name": "Lan", "language_code": "vi"}
    tg_api.push_update({"my_chat_member": {
        "chat": {"id": group, "type": "supergroup", "title": "Ban VSTBPN Sở"},
        "from": adder, "date": 1767225600,
        "old_chat_member": {"user": me, "status": "left"},
        "new_chat_member": {"user": me, "status": "member"},
    }})
    (hello,) = await tg_api.wait_for_messages(group, 1)
    assert "/group" in (hello.text or "") and "cán bộ đầu mối" in (hello.text or "")
    assert hello.buttons[0]["url"] == "https://t.me/vstbpn_test_bot"
