"""Telegram through python-telegram-bot: polling or webhook, any Bot API server."""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import os
import re
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from functools import partial
from typing import Any, TypeVar

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeChat,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    Update,
)
from telegram.constants import ChatMemberStatus, ChatType
from telegram.error import (
    BadRequest,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.ext import Application, BaseUpdateProcessor, ContextTypes, TypeHandler
from telegram.request import BaseRequest, HTTPXRequest, RequestData

from bot.channels.ordering import PerPerson
from bot.channels.web import BodyTooLarge, WebServer, read_body, refuse
from bot.config import LANGUAGES, Settings, SettingsError
from bot.context import AppContext
from bot.i18n import Translator
from bot.messages import (
    Capabilities,
    Delivery,
    Inbound,
    Reply,
    SendLimits,
    clean,
    split_text,
)
from bot.models import Role
from bot.services import members
from bot.services.members import role_allows
from handlers.registry import COMMANDS
from handlers.router import handle

# Time periods as python-telegram-bot's next major version gives them (timedelta), opted in
# early: otherwise every 429 it parses writes a deprecation warning to stderr, outside the log.
os.environ.setdefault("PTB_TIMEDELTA", "1")

log = logging.getLogger(__name__)
T = TypeVar("T")

CHANNEL = "telegram"
CAPS = Capabilities(buttons=True, max_text=4096, files=True, groups=True)
CAPTION_MAX = 1024
# Telegram's published limits: ~30 messages/s overall, 1/s per chat, 20/min per group.
LIMITS = SendLimits(per_second=30, chat_interval=1.0, group_per_minute=20)

WEBHOOK_PATH = "/telegram"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_UPDATE_BYTES = 1024 * 1024  # updates are a few KB; anything this big is not from Telegram
# A reply confirms a change already committed, so a transient failure is worth a few tries;
# a longer 429 wait than this is not sat out while other people's updates queue up behind it.
REPLY_ATTEMPTS = 3
RETRY_BACKOFF = 0.5  # seconds, doubled after each failure
MAX_RETRY_AFTER = 10.0
# Updates taken from python-telegram-bot's queue at once, running or waiting for the same
# person's earlier update (the number running is PerPerson's own, smaller bound).
MAX_TAKEN = 4096
# Control characters (C0 but newline and tab, DEL, C1) and lone surrogates: PostgreSQL refuses
# NUL and invalid UTF-8 in text, and none of them belongs in a name or a message.
_ADDRESSED = re.compile(r"/\w+@(\w+)")


def deep_link(bot_username: str, code: str | None = None) -> str:
    """The t.me link that opens a private chat with the bot (and joins, given a code)."""
    return f"https://t.me/{bot_username}" + (f"?start={code}" if code else "")


async def bot_username(settings: Settings) -> str | None:
    """The bot's @username without running it: from the settings, else asked from Telegram."""
    if settings.telegram_bot_username:
        return settings.telegram_bot_username.lstrip("@")
    if settings.telegram_token is None:
        return None
    bot = Bot(settings.require_token(), base_url=f"{settings.telegram_base_url}/bot")
    try:
        async with bot:
            return bot.username
    except (TelegramError, OSError):
        return None


def addressed_to_us(text: str, username: str | None) -> str | None:
    """'/help@ThisBot x' → '/help x'; None for a command to another bot ('/help@OtherBot'),
    which in a group is meant for that bot, not for us."""
    match = _ADDRESSED.match(text)
    if match is None or username is None:
        return text
    if match.group(1).lower() != username.lower():
        return None
    return text[: match.start(1) - 1] + text[match.end(1):]


def to_inbound(update: Update, username: str | None) -> Inbound | None:
    """The neutral form of an update, or None for updates the bot ignores."""
    origin = None
    if update.callback_query is not None:
        query = update.callback_query
        user = query.from_user
        chat = query.message.chat if query.message is not None else None
        chat_id, chat_type = (chat.id, chat.type) if chat else (user.id, ChatType.PRIVATE)
        title = chat.title if chat else None
        text, choice = "", clean(query.data)
        if query.message is not None:
            origin = str(query.message.message_id)
    elif (joined := update.my_chat_member) is not None:
        if joined.chat.type == ChatType.PRIVATE or joined.new_chat_member.status not in (
                ChatMemberStatus.MEMBER, ChatMemberStatus.ADMINISTRATOR):
            return None
        return Inbound(channel=CHANNEL, user_id=str(joined.from_user.id),
                       chat_id=str(joined.chat.id), chat_type="group", event="added_to_group",
                       display_name=clean(joined.from_user.full_name),
                       language_hint=joined.from_user.language_code,
                       chat_title=clean(joined.chat.title))
    elif update.message is not None and update.message.text and update.message.from_user:
        user = update.message.from_user
        chat_id, chat_type = update.message.chat.id, update.message.chat.type
        title = update.message.chat.title
        text, choice = addressed_to_us(clean(update.message.text), username), None
        if text is None:
            return None
    else:
        return None
    return Inbound(
        channel=CHANNEL,
        user_id=str(user.id),
        chat_id=str(chat_id),
        text=text,
        choice=choice,
        chat_type="private" if chat_type == ChatType.PRIVATE else "group",
        display_name=clean(user.full_name),
        language_hint=user.language_code,
        chat_title=clean(title),
        origin_message_id=origin,
    )


def parse_update(data: object, bot: Bot) -> Update | None:
    """The update in a webhook body, or None when it is not one."""
    if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
        return None
    try:
        return Update.de_json(data, bot)
    except (TypeError, ValueError, KeyError, AttributeError):  # the shape of a field is wrong
        return None


def keyboard(reply: Reply) -> InlineKeyboardMarkup | None:
    if not reply.choices:
        return None
    rows: list[list[InlineKeyboardButton]] = []
    for i, c in enumerate(reply.choices):
        button = InlineKeyboardButton(c.label, url=c.url) if c.url \
            else InlineKeyboardButton(c.label, callback_data=c.value)
        if c.row is not None and i > 0 and reply.choices[i - 1].row == c.row:
            rows[-1].append(button)  # one row per duty in a combined reminder
        else:
            rows.append([button])
    return InlineKeyboardMarkup(rows)


def _retry_after(exc: RetryAfter) -> float:
    wait = exc.retry_after
    return wait.total_seconds() if isinstance(wait, timedelta) else float(wait)


async def retrying(
    call: Callable[[], Awaitable[T]], *, attempts: int = REPLY_ATTEMPTS,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> T:
    """One Bot API call, tried again after 5xx, timeouts, network errors and short 429s.

    400 and 403 are answers, not accidents: they are never retried.
    """
    attempt = 1
    while True:
        try:
            return await call()
        except RetryAfter as exc:
            wait, error = _retry_after(exc), "429"
            if attempt >= attempts or wait > MAX_RETRY_AFTER:
                raise
        except BadRequest:  # a NetworkError subclass, but retrying cannot help
            raise
        except (TimedOut, NetworkError) as exc:
            wait, error = RETRY_BACKOFF * 2 ** (attempt - 1), type(exc).__name__
            if attempt >= attempts:
                raise
        log.warning("telegram_call_retried", extra={"attempt": attempt, "error": error})
        await sleep(wait)
        attempt += 1


async def send_replies(
    bot: Bot, chat_id: int | str, replies: list[Reply], *,
    origin_message_id: str | None = None, attempts: int = 1,
) -> None:
    """Send replies in order; one replacing the pressed message edits it when it can."""
    for reply in replies:
        if (reply.replaces_origin and origin_message_id is not None and reply.file is None
                and await _replace(bot, chat_id, int(origin_message_id), reply, attempts)):
            continue
        if reply.file is not None:
            # A caption holds 1024 characters: a longer text goes first, as its own message.
            caption = reply.text if len(reply.text) <= CAPTION_MAX else None
            if caption is None:
                for part in split_text(reply.text, CAPS.max_text):
                    await retrying(partial(bot.send_message, chat_id, part), attempts=attempts)
            upload = InputFile(reply.file.content, filename=reply.file.filename)
            send = (partial(bot.send_photo, chat_id, upload) if reply.file.mime == "image/png"
                    else partial(bot.send_document, chat_id, upload))
            await retrying(partial(send, caption=caption or None, reply_markup=keyboard(reply)),
                           attempts=attempts)
            continue
        parts = split_text(reply.text, CAPS.max_text)
        for i, part in enumerate(parts):
            markup = keyboard(reply) if i == len(parts) - 1 else None
            await retrying(partial(bot.send_message, chat_id, part, reply_markup=markup),
                           attempts=attempts)


async def _replace(bot: Bot, chat_id: int | str, message_id: int, reply: Reply,
                   attempts: int) -> bool:
    """Edit the pressed message into ``reply`` (its buttons go, or become the reply's).

    False when Telegram refuses (too old, not modified, deleted): the caller sends it anew.
    """
    if not reply.text or len(reply.text) > CAPS.max_text:
        return False
    try:
        await retrying(partial(
            bot.edit_message_text, reply.text, chat_id=chat_id, message_id=message_id,
            reply_markup=keyboard(reply),
        ), attempts=attempts)
    except BadRequest as exc:
        log.info("telegram_edit_refused", extra={"error": exc.message})
        return False
    return True


async def answer_press(query: CallbackQuery) -> None:
    """Stop the button's spinner. Telegram refuses answers to presses older than a few
    seconds (all those queued while the bot was down): the press is handled all the same."""
    try:
        await query.answer()
    except TelegramError as exc:
        error = exc.message if isinstance(exc, BadRequest) else type(exc).__name__
        log.warning("telegram_press_not_answered", extra={"error": error})


def person_of(update: object) -> int | None:
    """Whose turn an update is: its sender (a press's presser, who added the bot), else its
    chat; None for updates from nobody in particular."""
    if not isinstance(update, Update):
        return None
    user = update.effective_user
    if user is not None:
        return user.id
    chat = update.effective_chat
    return chat.id if chat is not None else None


class InOrderPerPerson(BaseUpdateProcessor):
    """python-telegram-bot's updates handled concurrently, each person's in the order sent.

    Telegram answers a reply in ~100 ms: handled one at a time, the bot would wait on the
    network most of the time. The conversation row lock (handlers.router) still orders two
    processes behind one webhook proxy; this keeps one process's turns of a person in order.
    """

    def __init__(self, turns: PerPerson | None = None) -> None:
        super().__init__(MAX_TAKEN)
        self.turns = turns or PerPerson()

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        await self.turns.run(person_of(update), coroutine)

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass


class PooledRequests(BaseRequest):
    """Bot API calls over several small connection pools, each call on the least busy one.

    httpcore's pool looks at each of its open connections whenever a call starts or ends,
    so with n calls under way each call costs O(n): with 64 replies waiting on Telegram one
    pool spent 4–10 ms of CPU per call, against ~1 ms for 8 pools of at most 16 connections
    (bench/bench_inbound.py). Each pool keeps all its connections alive (httpx keeps 20).
    """

    def __init__(self, pools: int = 8, size: int = 16) -> None:
        self._pools = [HTTPXRequest(connection_pool_size=size) for _ in range(pools)]
        self._busy = [0] * pools

    @property
    def read_timeout(self) -> float | None:
        return self._pools[0].read_timeout

    async def initialize(self) -> None:
        for pool in self._pools:
            await pool.initialize()

    async def shutdown(self) -> None:
        for pool in self._pools:
            await pool.shutdown()

    async def do_request(
        self, url: str, method: str, request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        i = self._busy.index(min(self._busy))
        self._busy[i] += 1
        try:
            return await self._pools[i].do_request(
                url, method, request_data, read_timeout=read_timeout,
                write_timeout=write_timeout, connect_timeout=connect_timeout,
                pool_timeout=pool_timeout)
        finally:
            self._busy[i] -= 1


def build_application(app: AppContext, *, polling: bool = True,
                      turns: PerPerson | None = None) -> Application:
    root = app.settings.telegram_base_url
    builder = (
        Application.builder()
        .token(app.settings.require_token())
        .base_url(f"{root}/bot")
        .base_file_url(f"{root}/file/bot")
        .concurrent_updates(InOrderPerPerson(turns))
        .request(PooledRequests())
    )
    if not polling:  # webhook updates come through the bot's own web server
        builder = builder.updater(None)
    application = builder.build()

    async def on_update(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        inbound = to_inbound(update, application.bot.username)
        if inbound is None:
            return
        if update.callback_query is not None:
            await answer_press(update.callback_query)
        replies = await handle(app, inbound, CAPS)
        await send_replies(application.bot, inbound.chat_id, replies,
                           origin_message_id=inbound.origin_message_id, attempts=REPLY_ATTEMPTS)
        await menus.refresh(inbound)

    async def on_error(_update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        log.error("telegram_update_failed", exc_info=context.error)

    menus = RoleMenus(app, application.bot)
    application.add_handler(TypeHandler(Update, on_update))
    application.add_error_handler(on_error)
    return application


def menu_for(role: Role, lang: str) -> list[BotCommand]:
    """The commands a role may use, as Telegram's menu beside the text box shows them."""
    t = Translator(lang)
    return [BotCommand(c.name, t.gettext(c.help)[:256]) for c in COMMANDS.values()
            if c.help and role_allows(role, c.role)]


class RoleMenus:
    """Focal points and admins see their own commands in the menu of their private chat;
    members see the bot-wide menu. A person's role is looked up at most every few minutes."""

    RECHECK = 600.0  # seconds

    def __init__(self, app: AppContext, bot: Bot) -> None:
        self.app, self.bot = app, bot
        self._shown: dict[str, tuple[tuple[str, str] | None, float]] = {}

    async def refresh(self, inbound: Inbound) -> None:
        if inbound.chat_type != "private":
            return
        now = time.monotonic()
        known = self._shown.get(inbound.user_id)
        joining = inbound.text.startswith("/start") or bool(inbound.choice)
        if known is not None and now - known[1] < self.RECHECK and not joining:
            return
        async with self.app.sessions() as session:
            member = await members.active_member_for(session, CHANNEL, inbound.user_id)
        shown = (member.role, member.language) if member is not None else None
        self._shown[inbound.user_id] = (shown, now)
        if known is not None and known[0] == shown:
            return
        scope = BotCommandScopeChat(int(inbound.chat_id))
        try:
            if shown is None or shown[0] == Role.member:
                if known is not None and known[0] is not None:
                    await self.bot.delete_my_commands(scope=scope)  # back to the bot-wide menu
                return
            await self.bot.set_my_commands(menu_for(Role(shown[0]), shown[1]), scope=scope)
        except TelegramError:
            log.warning("telegram_menu_not_set")


class TelegramChannel:
    """Telegram as a channel: polling, or webhook on the bot's web server; Bot API calls out."""

    name = CHANNEL
    caps = CAPS
    limits = LIMITS

    def __init__(self, app: AppContext, web: WebServer | None = None) -> None:
        self.app = app
        settings = app.settings
        self.webhook = settings.telegram_mode == "webhook"
        self.turns = PerPerson()  # updates under way, each person's in order
        self.application = build_application(app, polling=not self.webhook, turns=self.turns)
        self.username: str | None = None  # learned from getMe at start
        self._sender = TelegramSender(self.application.bot)
        # Telegram sends this header with every update; requests without it are refused.
        self._secret = settings.telegram_secret or ""  # set: the channel has a token
        if self.webhook:
            if web is None:
                raise ValueError("webhook mode needs the web server")
            web.add_route(WEBHOOK_PATH, self.receive, methods=["POST"])

    def deep_link(self, code: str | None = None) -> str | None:
        return deep_link(self.username, code) if self.username else None

    async def send(self, chat_id: str, replies: list[Reply]) -> Delivery:
        return await self._sender.send(chat_id, replies)

    async def start(self) -> None:
        settings = self.app.settings
        try:
            await self.application.initialize()  # calls getMe
        except InvalidToken:  # its message holds the token: never shown
            raise SettingsError(
                "VSTBPN_TELEGRAM_TOKEN was refused by the Bot API server: "
                "check the token from @BotFather"
            ) from None
        except NetworkError:  # timeouts, refused connections, 5xx
            raise SettingsError(
                f"The Bot API server at VSTBPN_TELEGRAM_BASE_URL={settings.telegram_base_url} "
                "cannot be reached: check the address and the network"
            ) from None
        try:
            self.username = self.application.bot.username
            await self._publish_commands()
            await self.application.start()
            if self.webhook:
                await self._set_webhook()
            else:
                assert self.application.updater is not None
                await self.application.updater.start_polling(
                    poll_interval=0.0, timeout=30, drop_pending_updates=False)
        except BaseException:
            await self.stop()
            raise
        log.info("telegram_started", extra={
            "mode": settings.telegram_mode, "bot": self.username,
        })

    async def _set_webhook(self) -> None:
        url = self.app.settings.webhook_url
        assert url is not None  # the settings refuse webhook mode without it
        try:
            await retrying(partial(self.application.bot.set_webhook, url,
                                   secret_token=self._secret))
        except BadRequest as exc:
            raise SettingsError(
                f"VSTBPN_WEBHOOK_URL={url} was refused by Telegram ({exc.message}): "
                "give the public https address that leads to this bot's /telegram"
            ) from None

    async def receive(self, request: Request) -> Response:
        """POST /telegram: one update from Telegram, handed to python-telegram-bot."""
        # The secret first, so a stranger's request is refused before its body is read.
        given = request.headers.get(SECRET_HEADER, "").encode("latin-1")
        if not hmac.compare_digest(given, self._secret.encode()):
            return refuse(403)
        if not self.application.running:  # starting or stopping: Telegram will try again
            return refuse(503)
        try:
            data = json.loads(await read_body(request, MAX_UPDATE_BYTES))
        except BodyTooLarge:
            return refuse(413)
        except (ValueError, ClientDisconnect):  # not JSON (or not UTF-8), or nobody left
            return refuse(400)
        update = parse_update(data, self.application.bot)
        if update is None:
            return refuse(400)
        await self.application.update_queue.put(update)
        return Response(status_code=200)

    async def _publish_commands(self) -> None:
        """The command menu Telegram shows beside the text box, in each language."""
        for lang in LANGUAGES:
            commands = menu_for(Role.member, lang)
            default = lang == self.app.settings.default_language
            try:
                await self.application.bot.set_my_commands(
                    commands, language_code=None if default else lang
                )
            except TelegramError:
                log.warning("telegram_commands_not_set", extra={"lang": lang})

    async def stop(self) -> None:
        updater = self.application.updater
        if updater is not None and updater.running:
            await updater.stop()
        if self.application.running:
            await self.application.stop()
        await self.application.shutdown()
        log.info("telegram_stopped")


class TelegramSender:
    """Sends through the Bot API and classifies failures for the dispatcher."""

    name = CHANNEL
    caps = CAPS
    limits = LIMITS

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    async def send(self, chat_id: str, replies: list[Reply]) -> Delivery:
        # One attempt: the dispatcher retries failed reminders from the outbox itself.
        try:
            await send_replies(self.bot, chat_id, replies)
        except RetryAfter as exc:
            return Delivery("retry", retry_after=_retry_after(exc), error="429 retry after")
        except Forbidden as exc:
            return Delivery("blocked", error=str(exc))
        except BadRequest as exc:  # a subclass of NetworkError, but retrying cannot help
            return Delivery("failed", error=str(exc))
        except (TimedOut, NetworkError) as exc:
            return Delivery("retry", error=f"{type(exc).__name__}: {exc}")
        return Delivery("ok")


async def diagnose(settings: Settings) -> list[tuple[bool, str]]:
    """`vstbpn doctor`: is the token taken, and is the webhook where the settings say?"""
    bot = Bot(settings.require_token(), base_url=f"{settings.telegram_base_url}/bot")
    try:
        async with bot:
            found = [(True, f"Telegram: the token works (@{bot.username})")]
            info = await bot.get_webhook_info()
    except InvalidToken:
        return [(False, "Telegram: VSTBPN_TELEGRAM_TOKEN is refused: check the token from "
                        "@BotFather")]
    except (TelegramError, OSError):
        return [(False, f"Telegram: the Bot API server at VSTBPN_TELEGRAM_BASE_URL="
                        f"{settings.telegram_base_url} cannot be reached")]
    if settings.telegram_mode == "webhook" and info.url != settings.webhook_url:
        found.append((False, f"Telegram: the webhook is {info.url or 'not set'}; the bot sets "
                             "VSTBPN_WEBHOOK_URL when it starts"))
    elif settings.telegram_mode == "polling" and info.url:
        found.append((False, "Telegram: a webhook is set, so polling gets nothing until the "
                             "bot starts (it removes it) — or set VSTBPN_TELEGRAM_MODE=webhook"))
    else:
        found.append((True, f"Telegram: {settings.telegram_mode}"
                            + (f" ({info.pending_update_count} updates waiting)"
                               if info.pending_update_count else "")))
    if info.last_error_message:
        found.append((False, f"Telegram: the last webhook delivery failed: "
                             f"{info.last_error_message}"))
    return found
