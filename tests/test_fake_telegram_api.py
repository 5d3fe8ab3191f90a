"""Self-tests for the fake Telegram Bot API used by end-to-end tests.

They drive the fake with a real python-telegram-bot ``Bot``/``Application`` so that response
shapes are validated by the library that the production code uses.
"""

from __future__ import annotations

import asyncio
import datetime as dtm
import socket
from collections.abc import AsyncIterator

import aiohttp
import pytest
import pytest_asyncio
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import (
    BadRequest,
    Conflict,
    EndPointNotFound,
    Forbidden,
    NetworkError,
    RetryAfter,
    TimedOut,
)
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from tests.fakes.telegram_api import FakeTelegramAPI

pytestmark = pytest.mark.asyncio

TOKEN = "123:ABC"
USER = 4242
KEYBOARD = InlineKeyboardMarkup(
    [
        [
            InlineKeyboardButton("Có", callback_data="yes"),
            InlineKeyboardButton("Không", callback_data="no"),
        ]
    ]
)


@pytest_asyncio.fixture
async def tg() -> AsyncIterator[FakeTelegramAPI]:
    async with FakeTelegramAPI() as fake:
        yield fake


@pytest_asyncio.fixture
async def bot(tg: FakeTelegramAPI) -> AsyncIterator[Bot]:
    async with Bot(token=TOKEN, base_url=tg.bot_api_url, base_file_url=tg.file_api_url) as b:
        yield b


def build_app(tg: FakeTelegramAPI) -> Application:
    return (
        Application.builder()
        .token(TOKEN)
        .base_url(f"{tg.base_url}/bot")
        .base_file_url(f"{tg.base_url}/file/bot")
        .build()
    )


async def start_polling(app: Application) -> None:
    await app.initialize()
    await app.start()
    assert app.updater is not None
    await app.updater.start_polling(poll_interval=0, timeout=1)


async def stop_polling(app: Application) -> None:
    assert app.updater is not None
    await app.updater.stop()
    await app.stop()
    await app.shutdown()


async def test_get_me_returns_configured_username(tg: FakeTelegramAPI, bot: Bot) -> None:
    me = await bot.get_me()
    assert me.username == "vstbpn_test_bot"
    assert me.id == 123  # numeric prefix of the token, like Telegram
    assert bot.username == "vstbpn_test_bot"
    assert {c.token for c in tg.calls("getMe")} == {TOKEN}


async def test_send_message_with_inline_keyboard_is_recorded(tg: FakeTelegramAPI, bot: Bot) -> None:
    msg = await bot.send_message(USER, "<b>Xin chào</b>", parse_mode="HTML", reply_markup=KEYBOARD)

    # python-telegram-bot parsed the fake's response into a full Message.
    assert msg.chat.id == USER
    assert msg.from_user is not None and msg.from_user.is_bot
    assert msg.text == "Xin chào"  # Telegram returns the text without markup
    assert msg.reply_markup == KEYBOARD

    [sent] = tg.sent_messages(USER)
    assert sent.chat_id == USER
    assert sent.message_id == msg.message_id
    assert sent.text == "<b>Xin chào</b>"
    assert sent.parse_mode == "HTML"
    assert sent.reply_markup == {
        "inline_keyboard": [
            [{"text": "Có", "callback_data": "yes"}, {"text": "Không", "callback_data": "no"}]
        ]
    }
    assert sent.callback_data == ["yes", "no"]
    assert tg.sent_messages(USER + 1) == []


async def test_send_document_records_filename_and_bytes(tg: FakeTelegramAPI, bot: Bot) -> None:
    msg = await bot.send_document(USER, b"a,b\n1,2\n", filename="report.csv", caption="Báo cáo")

    [sent] = tg.sent_messages(USER)
    assert sent.method == "sendDocument"
    assert (sent.filename, sent.content, sent.text) == ("report.csv", b"a,b\n1,2\n", "Báo cáo")
    assert msg.document is not None and msg.document.file_name == "report.csv"

    # The uploaded file can be downloaded again through base_file_url.
    file = await bot.get_file(msg.document.file_id)
    assert await file.download_as_bytearray() == bytearray(b"a,b\n1,2\n")


async def test_send_photo_is_recorded(tg: FakeTelegramAPI, bot: Bot) -> None:
    msg = await bot.send_photo(USER, b"\x89PNG fake", filename="chart.png")
    assert msg.photo
    [sent] = tg.sent_messages(USER)
    assert (sent.method, sent.filename, sent.content) == ("sendPhoto", "chart.png", b"\x89PNG fake")


async def test_get_updates_long_poll_wakes_on_push_and_offset_confirms(
    tg: FakeTelegramAPI, bot: Bot
) -> None:
    # A 30 s long-poll must return as soon as an update is pushed.
    poll = asyncio.create_task(bot.get_updates(timeout=30))
    await tg.wait_for(lambda: tg.calls("getUpdates"))
    assert not poll.done()
    update_id = tg.push_message(USER, "hello", username="lan")
    updates = await asyncio.wait_for(poll, timeout=5)

    [update] = updates
    assert update.update_id == update_id
    assert update.message is not None and update.message.text == "hello"
    assert update.effective_user is not None and update.effective_user.username == "lan"
    assert update.effective_chat is not None and update.effective_chat.type == "private"
    assert tg.updates_pending() == 1  # fetched but not confirmed yet

    assert await bot.get_updates(offset=update_id + 1, timeout=0) == ()
    assert tg.updates_pending() == 0
    await tg.wait_until_consumed()


async def test_get_updates_limit_and_negative_offset(tg: FakeTelegramAPI, bot: Bot) -> None:
    ids = [tg.push_message(USER, f"m{i}") for i in range(5)]
    assert [u.update_id for u in await bot.get_updates(limit=2)] == ids[:2]
    assert [u.update_id for u in await bot.get_updates(offset=-1)] == ids[-1:]
    assert tg.updates_pending() == 1


async def test_newer_get_updates_terminates_older_long_poll(bot: Bot, tg: FakeTelegramAPI) -> None:
    # Two bot instances polling at once: Telegram terminates the older long-poll with 409.
    older = asyncio.create_task(bot.get_updates(timeout=30))
    await tg.wait_for(lambda: tg.calls("getUpdates"))
    async with Bot(token=TOKEN, base_url=tg.bot_api_url) as second_instance:
        assert await second_instance.get_updates(timeout=0) == ()
    with pytest.raises(Conflict, match="terminated by other getUpdates"):
        await asyncio.wait_for(older, timeout=5)


async def test_application_polling_replies_to_pushed_message(tg: FakeTelegramAPI) -> None:
    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None
        await update.message.reply_text(f"echo: {update.message.text}")

    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None
        await update.message.reply_text("welcome")

    app = build_app(tg)
    app.add_handler(CommandHandler("start", start))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    await start_polling(app)
    try:
        tg.push_message(USER, "/start")
        tg.push_message(USER, "chào bot")
        first, second = await tg.wait_for_messages(USER, 2)
        assert first.text == "welcome"
        assert second.text == "echo: chào bot"
        await tg.wait_until_consumed()
    finally:
        await stop_polling(app)


async def test_callback_query_with_application(tg: FakeTelegramAPI) -> None:
    async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None
        await query.answer("OK")
        await query.edit_message_text(f"Bạn chọn: {query.data}")

    app = build_app(tg)
    app.add_handler(CallbackQueryHandler(on_button))
    await start_polling(app)
    try:
        msg = await app.bot.send_message(USER, "Tham gia?", reply_markup=KEYBOARD)
        tg.push_callback(USER, "yes", message_id=msg.message_id)

        _, edit = await tg.wait_for_messages(USER, 2)
        assert edit.method == "editMessageText"
        assert edit.message_id == msg.message_id
        assert edit.text == "Bạn chọn: yes"
        [answer] = tg.calls("answerCallbackQuery")
        assert answer.params["text"] == "OK" and not answer.failed
        # Editing without reply_markup removed the keyboard, as on Telegram.
        assert "reply_markup" not in tg.get_message(msg.message_id)
    finally:
        await stop_polling(app)


# PTB 22 warns that RetryAfter.retry_after will become a timedelta; irrelevant here.
@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_fail_next_429_raises_retry_after(tg: FakeTelegramAPI, bot: Bot) -> None:
    tg.fail_next("sendMessage", kind="429", retry_after=7)
    with pytest.raises(RetryAfter) as exc_info:
        await bot.send_message(USER, "hi")
    assert exc_info.value.retry_after in (7, dtm.timedelta(seconds=7))

    [failed] = tg.calls("sendMessage")
    assert (failed.failed, failed.status) == ("429", 429)
    assert tg.sent_messages() == []

    await bot.send_message(USER, "hi again")  # the rule was used up
    assert [m.text for m in tg.sent_messages(USER)] == ["hi again"]


async def test_fail_next_403_and_500(tg: FakeTelegramAPI, bot: Bot) -> None:
    tg.fail_next("sendMessage", kind="403", chat_id=USER)
    await bot.send_message(USER + 1, "other chat is unaffected")
    with pytest.raises(Forbidden, match="(?i)blocked"):
        await bot.send_message(USER, "hi")

    tg.fail_next("SENDMESSAGE", kind="500", times=2)
    for _ in range(2):
        with pytest.raises(NetworkError) as exc_info:
            await bot.send_message(USER, "hi")
        assert type(exc_info.value) is NetworkError
    await bot.send_message(USER, "delivered")

    assert [c.failed for c in tg.calls("sendMessage")] == [None, "403", "500", "500", None]
    assert [m.text for m in tg.sent_messages()] == ["other chat is unaffected", "delivered"]


async def test_fail_next_timeout(tg: FakeTelegramAPI, bot: Bot) -> None:
    tg.fail_next("sendMessage", kind="timeout")  # server answers after 30 s
    with pytest.raises(TimedOut):
        await bot.send_message(USER, "slow", read_timeout=0.2)
    [call] = tg.calls("sendMessage")
    assert call.failed == "timeout"
    assert tg.sent_messages() == []
    # stop() (fixture teardown) wakes the sleeping handler instead of waiting 30 s.


async def test_unknown_method_is_404(tg: FakeTelegramAPI, bot: Bot) -> None:
    with pytest.raises(EndPointNotFound):
        await bot.do_api_request("definitelyNotAMethod")
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{tg.base_url}/bot{TOKEN}/nope", json={}) as resp,
    ):
        assert resp.status == 404
        assert await resp.json() == {
            "ok": False,
            "error_code": 404,
            "description": "Not Found: method not found",
        }


async def test_json_and_form_bodies_and_case_insensitive_methods(tg: FakeTelegramAPI) -> None:
    async with aiohttp.ClientSession() as session:
        url = f"{tg.base_url}/botOTHER:TOKEN/SendMessage"
        async with session.post(url, json={"chat_id": 7, "text": "json"}) as resp:
            body = await resp.json()
            assert body["ok"] and body["result"]["text"] == "json"
        async with session.post(url, data={"chat_id": "7", "text": "123"}) as resp:
            assert (await resp.json())["result"]["text"] == "123"
    assert [(m.chat_id, m.text) for m in tg.sent_messages(7)] == [(7, "json"), (7, "123")]
    assert tg.calls("sendmessage")[0].token == "OTHER:TOKEN"


async def test_strict_validation_catches_common_bot_bugs(tg: FakeTelegramAPI, bot: Bot) -> None:
    with pytest.raises(BadRequest, match="(?i)unsupported start tag"):
        await bot.send_message(USER, "line<br>line", parse_mode="HTML")
    with pytest.raises(BadRequest, match="(?i)button_data_invalid"):
        too_long = InlineKeyboardButton("x", callback_data="x" * 65)
        await bot.send_message(USER, "hi", reply_markup=InlineKeyboardMarkup([[too_long]]))
    msg = await bot.send_message(USER, "same")
    with pytest.raises(BadRequest, match="(?i)not modified"):
        await bot.edit_message_text("same", chat_id=USER, message_id=msg.message_id)
    assert [m.text for m in tg.sent_messages()] == ["same"]
    assert [c.failed for c in tg.calls()[-4:]] == ["400", "400", None, "400"]


async def test_on_call_hook_overrides_response(tg: FakeTelegramAPI, bot: Bot) -> None:
    async def hook(call):  # type: ignore[no-untyped-def]
        if call.method == "sendChatAction":
            return {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"}
        return None

    tg.on_call = hook
    with pytest.raises(BadRequest, match="(?i)chat not found"):
        await bot.send_chat_action(USER, "typing")
    await bot.send_message(USER, "still works")
    assert tg.calls("sendChatAction")[0].failed == "400"


async def test_commands_and_webhook_info(tg: FakeTelegramAPI, bot: Bot) -> None:
    await bot.set_my_commands([("start", "Bắt đầu"), ("help", "Trợ giúp")])
    assert [c.command for c in await bot.get_my_commands()] == ["start", "help"]
    assert await bot.get_my_commands(language_code="en") == ()
    await bot.delete_my_commands()
    assert await bot.get_my_commands() == ()

    tg.push_message(USER, "queued")
    await bot.set_webhook("https://example.invalid/hook", secret_token="s3cret")
    info = await bot.get_webhook_info()
    assert (info.url, info.pending_update_count) == ("https://example.invalid/hook", 1)
    assert tg.webhook_secret_token == "s3cret"
    with pytest.raises(Conflict):
        await bot.get_updates()
    await bot.delete_webhook(drop_pending_updates=True)
    assert (await bot.get_webhook_info()).url == ""
    assert tg.updates_pending() == 0
    assert await bot.close() is True and await bot.log_out() is True


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_post_webhook_to_application(tg: FakeTelegramAPI) -> None:
    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None
        await update.message.reply_text(f"webhook: {update.message.text}")

    app = build_app(tg)
    app.add_handler(MessageHandler(filters.TEXT, echo))
    port = _free_port()
    await app.initialize()
    await app.start()
    assert app.updater is not None
    await app.updater.start_webhook(
        listen="127.0.0.1",
        port=port,
        url_path="hook",
        webhook_url="https://bot.example/hook",
        secret_token="s3cret",
    )
    try:
        assert tg.webhook_url == "https://bot.example/hook"
        url = f"http://127.0.0.1:{port}/hook"
        update = tg.make_message_update(USER, "xin chào")
        assert await tg.post_webhook(url, update, "wrong") == 403
        assert await tg.post_webhook(url, update, tg.webhook_secret_token) == 200
        [reply] = await tg.wait_for_messages(USER, 1)
        assert reply.text == "webhook: xin chào"
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()


async def test_wait_for_timeout_raises_helpful_assertion(tg: FakeTelegramAPI, bot: Bot) -> None:
    await bot.send_message(USER, "only one")
    with pytest.raises(AssertionError, match=r"(?s)expected 2 message\(s\).*only one"):
        await tg.wait_for_messages(USER, 2, timeout=0.05)
