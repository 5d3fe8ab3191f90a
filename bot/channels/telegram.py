"""Telegram through python-telegram-bot: polling or webhook, any Bot API server."""

from __future__ import annotations

import logging
import secrets
import warnings

from telegram import (
    Bot,
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    Update,
)
from telegram.constants import ChatType
from telegram.error import (
    BadRequest,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.ext import Application, ContextTypes, TypeHandler

from bot.config import LANGUAGES, Settings
from bot.context import AppContext
from bot.i18n import Translator
from bot.messages import Capabilities, Delivery, Inbound, Reply, SendLimits, split_text
from bot.models import Role
from handlers.registry import COMMANDS
from handlers.router import handle

log = logging.getLogger(__name__)

CHANNEL = "telegram"
CAPS = Capabilities(buttons=True, max_text=4096, files=True, groups=True, edits=True)
# Telegram's published limits: ~30 messages/s overall, 1/s per chat, 20/min per group.
LIMITS = SendLimits(per_second=30, chat_interval=1.0, group_per_minute=20)


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


def to_inbound(update: Update) -> Inbound | None:
    """The neutral form of an update, or None for updates the bot ignores."""
    if update.callback_query is not None:
        query = update.callback_query
        user = query.from_user
        chat = query.message.chat if query.message is not None else None
        chat_id, chat_type = (chat.id, chat.type) if chat else (user.id, ChatType.PRIVATE)
        title = chat.title if chat else None
        text, choice = "", query.data or ""
    elif update.message is not None and update.message.text and update.message.from_user:
        user = update.message.from_user
        chat_id, chat_type = update.message.chat.id, update.message.chat.type
        title = update.message.chat.title
        text, choice = update.message.text, None
    else:
        return None
    return Inbound(
        channel=CHANNEL,
        user_id=str(user.id),
        chat_id=str(chat_id),
        text=text,
        choice=choice,
        chat_type="private" if chat_type == ChatType.PRIVATE else "group",
        display_name=user.full_name,
        language_hint=user.language_code,
        chat_title=title or "",
    )


def keyboard(reply: Reply) -> InlineKeyboardMarkup | None:
    if not reply.choices:
        return None
    rows = [
        [InlineKeyboardButton(c.label, url=c.url) if c.url
         else InlineKeyboardButton(c.label, callback_data=c.value)]
        for c in reply.choices
    ]
    return InlineKeyboardMarkup(rows)


async def send_replies(bot: Bot, chat_id: int | str, replies: list[Reply]) -> None:
    for reply in replies:
        if reply.file is not None:
            await bot.send_document(
                chat_id,
                InputFile(reply.file.content, filename=reply.file.filename),
                caption=reply.text[:1024] or None,
                reply_markup=keyboard(reply),
            )
            continue
        parts = split_text(reply.text, CAPS.max_text)
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            await bot.send_message(chat_id, part, reply_markup=keyboard(reply) if last else None)


def build_application(app: AppContext) -> Application:
    root = app.settings.telegram_base_url
    application = (
        Application.builder()
        .token(app.settings.require_token())
        .base_url(f"{root}/bot")
        .base_file_url(f"{root}/file/bot")
        .build()
    )

    async def on_update(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        inbound = to_inbound(update)
        if inbound is None:
            return
        if update.callback_query is not None:
            await update.callback_query.answer()
        replies = await handle(app, inbound, CAPS)
        await send_replies(application.bot, inbound.chat_id, replies)

    async def on_error(_update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        log.error("telegram_update_failed", exc_info=context.error)

    application.add_handler(TypeHandler(Update, on_update))
    application.add_error_handler(on_error)
    return application


class TelegramChannel:
    """Telegram as a channel: polling or webhook in, Bot API calls out."""

    name = CHANNEL
    caps = CAPS
    limits = LIMITS

    def __init__(self, app: AppContext) -> None:
        self.app = app
        self.application = build_application(app)
        self.username: str | None = None  # learned from getMe at start
        self._sender = TelegramSender(self.application.bot)

    def deep_link(self, code: str | None = None) -> str | None:
        return deep_link(self.username, code) if self.username else None

    async def send(self, chat_id: str, replies: list[Reply]) -> Delivery:
        return await self._sender.send(chat_id, replies)

    async def start(self) -> None:
        settings = self.app.settings
        await self.application.initialize()  # calls getMe: a bad token fails here
        self.username = self.application.bot.username
        await self._publish_commands()
        await self.application.start()
        updater = self.application.updater
        assert updater is not None
        if settings.telegram_mode == "webhook":
            if not settings.webhook_url:
                raise RuntimeError("VSTBPN_WEBHOOK_URL is required in webhook mode")
            # Telegram sends this header with every update; PTB refuses requests without it.
            secret = (
                settings.webhook_secret.get_secret_value()
                if settings.webhook_secret else secrets.token_urlsafe(32)
            )
            await updater.start_webhook(
                listen=settings.webhook_listen,
                port=settings.webhook_port,
                url_path="telegram",
                webhook_url=settings.webhook_url,
                secret_token=secret,
            )
        else:
            await updater.start_polling(poll_interval=0.0, timeout=30, drop_pending_updates=False)
        log.info("telegram_started", extra={
            "mode": settings.telegram_mode, "bot": self.username,
        })

    async def _publish_commands(self) -> None:
        """The command menu Telegram shows beside the text box, in each language."""
        for lang in LANGUAGES:
            t = Translator(lang)
            commands = [BotCommand(c.name, t.gettext(c.help)[:256])
                        for c in COMMANDS.values() if c.help and c.role == Role.member]
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
        try:
            await send_replies(self.bot, chat_id, replies)
        except RetryAfter as exc:
            with warnings.catch_warnings():  # PTB 22 warns that the type will change
                warnings.simplefilter("ignore")
                wait = exc.retry_after
            seconds = wait.total_seconds() if hasattr(wait, "total_seconds") else float(wait)
            return Delivery("retry", retry_after=seconds, error="429 retry after")
        except Forbidden as exc:
            return Delivery("blocked", error=str(exc))
        except BadRequest as exc:  # a subclass of NetworkError, but retrying cannot help
            return Delivery("failed", error=str(exc))
        except (TimedOut, NetworkError) as exc:
            return Delivery("retry", error=f"{type(exc).__name__}: {exc}")
        return Delivery("ok")
