"""Zalo as a channel, through the Zalo Bot Platform API (a thin httpx client; the SDKs on the
package index are unofficial).

What the platform does, and so what this adapter does:

- ``POST {base}/bot<token>/<method>`` with JSON; answers ``{ok, result}`` or ``{ok: false,
  error_code, description}``.
- ``getUpdates`` long-polls and returns **one** update (not a list), with no offset; an empty
  poll ends in HTTP 408; it answers 400 while a webhook is set. Webhook calls carry
  ``X-Bot-Api-Secret-Token``; their body is the update, or the update wrapped in
  ``{ok, result}``.
- Updates may come twice (a retried webhook, a poll repeated after a restart): each is
  handled once, by its message id, across restarts (``services.seen``).
- No buttons, edits, documents or groups: choices are numbered, texts are cut at 2000
  characters on line breaks, a picture goes by a public URL and a file as a download link
  on this bot's web server (``VSTBPN_PUBLIC_URL``).

Updates are handled concurrently, each person's one at a time in the order they came
(``ordering.PerPerson``).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import httpx
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from bot.channels.ordering import PerPerson
from bot.channels.web import BodyTooLarge, WebServer, read_body, refuse
from bot.config import Settings, SettingsError
from bot.context import AppContext
from bot.i18n import Translator
from bot.messages import (
    Capabilities,
    Delivery,
    Inbound,
    OutFile,
    Reply,
    SendLimits,
    clean,
    numbered,
    numbered_values,
    split_text,
)
from bot.services import conversations, files, members, seen, usage
from handlers.router import handle

log = logging.getLogger(__name__)

CHANNEL = "zalo"
TEXT_MAX = 2000
# Zalo publishes no rate limits for bots; these stay well below what a person could read.
LIMITS = SendLimits(per_second=10, chat_interval=0.5)
WEBHOOK_PATH = "/zalo"
SECRET_HEADER = "X-Bot-Api-Secret-Token"
MAX_UPDATE_BYTES = 256 * 1024  # an update is a few hundred bytes
POLL_SECONDS = 30
BACKOFF_MAX = 60.0
TIDY_EVERY = timedelta(days=1)


class ZaloError(Exception):
    """The API said no: ``code`` is its error_code (or the HTTP status)."""

    def __init__(self, code: int, description: str) -> None:
        super().__init__(f"{code} {description}")
        self.code = code
        self.description = description


class ZaloClient:
    """The Bot API over HTTP. The token is part of every URL: never logged."""

    def __init__(self, base_url: str, token: str, http: httpx.AsyncClient | None = None) -> None:
        self._root = f"{base_url.rstrip('/')}/bot{token}"
        self.http = http or httpx.AsyncClient(timeout=httpx.Timeout(15.0, read=POLL_SECONDS + 15))

    async def call(self, method: str, **params: Any) -> Any:
        """The method's result; None for a long poll that ended empty (HTTP 408)."""
        try:
            response = await self.http.post(f"{self._root}/{method}", json=params)
        except (httpx.HTTPError, httpx.InvalidURL) as exc:  # its text may hold the token
            raise ZaloError(0, type(exc).__name__) from None
        if response.status_code == 408 and method == "getUpdates":
            return None
        try:
            data = response.json()
        except ValueError:
            raise ZaloError(response.status_code, "not JSON") from None
        if not isinstance(data, dict) or not data.get("ok"):
            body = data if isinstance(data, dict) else {}
            raise ZaloError(int(body.get("error_code") or response.status_code),
                            str(body.get("description") or ""))
        return data.get("result")

    async def close(self) -> None:
        await self.http.aclose()


def parse_update(data: Any) -> dict[str, Any] | None:
    """The update in a webhook body or a poll's result, flat or wrapped in {ok, result}."""
    if isinstance(data, dict) and "message" not in data and isinstance(data.get("result"), dict):
        data = data["result"]
    if not isinstance(data, dict) or not isinstance(data.get("message"), dict):
        return None
    message = data["message"]
    if not isinstance(message.get("chat"), dict) or not isinstance(message.get("from"), dict):
        return None
    return data


def sender_of(update: dict[str, Any]) -> str | None:
    """Whose turn an update is (parse_update made sure its message has a sender)."""
    sender = update["message"]["from"].get("id")
    return str(sender) if sender else None


def to_inbound(update: dict[str, Any]) -> Inbound | None:
    """The neutral form of an update; None for the bot's own messages. A picture or a sticker
    comes as empty text, which is answered like any text not understood."""
    message = update["message"]
    sender, chat = message["from"], message["chat"]
    if sender.get("is_bot") or not sender.get("id") or not chat.get("id"):
        return None
    text = message.get("text") if update.get("event_name") == "message.text.received" else ""
    group = str(chat.get("chat_type", "PRIVATE")).upper() not in ("PRIVATE", "USER", "")
    return Inbound(channel=CHANNEL, user_id=str(sender["id"]), chat_id=str(chat["id"]),
                   text=clean(text if isinstance(text, str) else ""),
                   chat_type="group" if group else "private",
                   display_name=clean(str(sender.get("display_name") or "")))


class ZaloSender:
    """Sends replies through the API and classifies failures for the dispatcher."""

    name = CHANNEL
    limits = LIMITS

    def __init__(self, app: AppContext, client: ZaloClient, caps: Capabilities) -> None:
        self.app, self.client, self.caps = app, client, caps

    async def send(self, chat_id: str, replies: list[Reply]) -> Delivery:
        """From the outbox (a reminder): sent, and its numbered choices remembered for the
        chat, so that "1" answers it as its first button would on Telegram."""
        delivery = await self.reply(chat_id, replies)
        if delivery.outcome == "ok":
            await self._remember_numbers(chat_id, replies)
        return delivery

    async def reply(self, chat_id: str, replies: list[Reply]) -> Delivery:
        """Send replies in order (a turn's answer: the router remembers its numbers)."""
        sent = [0]  # messages the plan counts, even when a later one fails
        try:
            for reply in replies:
                await self._send(chat_id, reply, sent)
        except ZaloError as exc:
            if exc.code == 403:  # blocked the bot, or no longer follows it
                return Delivery("blocked", error=str(exc))
            if exc.code in (400, 404):
                return Delivery("failed", error=str(exc))
            return Delivery("retry", error=str(exc))  # 429, 5xx, the network
        finally:
            if sent[0]:
                async with self.app.transaction() as session:
                    await usage.count(session, CHANNEL, sent[0], self.app.clock.now(),
                                      self.app.settings.zalo_monthly_limit)
        return Delivery("ok")

    async def _call(self, sent: list[int], method: str, **params: Any) -> None:
        await self.client.call(method, **params)
        sent[0] += 1

    async def _send(self, chat_id: str, reply: Reply, sent: list[int]) -> None:
        t = Translator(reply.lang)
        text = numbered(reply, t.gettext("(reply with a number)"))
        if reply.file is not None:
            url = await self._link(chat_id, reply.file)
            if url is None:
                text += "\n\n" + t.gettext(
                    "Files cannot be sent in this chat. Send the same command in Telegram, or "
                    "ask your unit's admin for the file.")
            elif reply.file.mime.startswith("image/"):
                caption = text if len(text) <= TEXT_MAX else ""
                if not caption:
                    await self._text(chat_id, text, sent)
                await self._call(sent, "sendPhoto", chat_id=chat_id, photo=url,
                                 **({"caption": caption} if caption else {}))
                return
            else:
                text += "\n\n" + t.gettext("📎 {name} (the link works for 3 days): {url}").format(
                    name=reply.file.filename, url=url)
        await self._text(chat_id, text, sent)

    async def _text(self, chat_id: str, text: str, sent: list[int]) -> None:
        for part in split_text(text, TEXT_MAX):
            if part.strip():
                await self._call(sent, "sendMessage", chat_id=chat_id, text=part)

    async def _remember_numbers(self, chat_id: str, replies: list[Reply]) -> None:
        """The numbers the message showed now mean its choices, unless a dialogue is under
        way: its question was asked last, and a number typed answers it (the reminder can
        still be answered by typing "xong"). A private chat's id is its user's id."""
        offered = numbered_values(replies)
        if not offered:
            return
        async with self.app.transaction() as session:
            convo = await conversations.load(session, CHANNEL, chat_id, self.app.clock.now())
            if convo.state is None:
                convo.choices = offered

    async def _link(self, chat_id: str, file: OutFile) -> str | None:
        """A download link on this bot's web server for the member of this chat."""
        public = self.app.settings.public_url
        if public is None:
            return None
        async with self.app.transaction() as session:
            member = await members.active_member_for(session, CHANNEL, chat_id)
            if member is None:
                return None
            token = await files.issue(session, member.id, file.filename, file.mime,
                                      file.content, self.app.clock.now())
        return f"{public}/files/{token}"


Sleep = Callable[[float], Awaitable[None]]


class ZaloChannel:
    """Zalo: long polling or a webhook on the bot's web server; API calls out."""

    name = CHANNEL
    limits = LIMITS

    def __init__(self, app: AppContext, web: WebServer | None = None,
                 http: httpx.AsyncClient | None = None, sleep: Sleep = asyncio.sleep) -> None:
        settings = app.settings
        assert settings.zalo_token is not None
        self.app, self.sleep = app, sleep
        self.webhook = settings.zalo_mode == "webhook"
        self.caps = Capabilities(buttons=False, max_text=TEXT_MAX,
                                 files=settings.public_url is not None, groups=False)
        self.client = ZaloClient(settings.zalo_base_url, settings.zalo_token.get_secret_value(),
                                 http)
        self._sender = ZaloSender(app, self.client, self.caps)
        self._secret = settings.zalo_secret or ""  # set: the channel has a token
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.turns = PerPerson()  # updates under way, each person's in order
        self._tasks: list[asyncio.Task[None]] = []
        self._taken: set[asyncio.Task[None]] = set()
        self._tidied: datetime | None = None
        self.running = False
        if self.webhook:
            if web is None:
                raise ValueError("webhook mode needs the web server")
            web.add_route(WEBHOOK_PATH, self.receive, methods=["POST"])

    def deep_link(self, code: str | None = None) -> str | None:
        return None  # Zalo bots have no link that carries a start code: the code is sent

    async def send(self, chat_id: str, replies: list[Reply]) -> Delivery:
        return await self._sender.send(chat_id, replies)

    async def start(self) -> None:
        settings = self.app.settings
        try:
            await self.client.call("getMe")
            if self.webhook:
                await self.client.call("setWebhook", url=f"{settings.public_url}{WEBHOOK_PATH}",
                                       secret_token=self._secret)
            else:  # polling is refused while a webhook is set
                await self.client.call("deleteWebhook")
        except ZaloError as exc:
            await self.client.close()
            if exc.code == 401:
                raise SettingsError("VSTBPN_ZALO_TOKEN was refused by the Zalo Bot API: check "
                                    "the token of the Zalo bot") from None
            if exc.code == 0:
                raise SettingsError(f"The Zalo Bot API at VSTBPN_ZALO_BASE_URL="
                                    f"{settings.zalo_base_url} cannot be reached: check the "
                                    "address and the network") from None
            raise SettingsError(f"The Zalo Bot API refused to start the bot ({exc.code} "
                                f"{exc.description}): check VSTBPN_PUBLIC_URL and "
                                "VSTBPN_ZALO_WEBHOOK_SECRET") from None
        await self._tidy()
        self.running = True
        self._tasks.append(asyncio.create_task(self._work()))
        if not self.webhook:
            self._tasks.append(asyncio.create_task(self._poll()))
        log.info("zalo_started", extra={"mode": settings.zalo_mode})

    async def stop(self) -> None:
        """Stop taking updates, finish the ones taken, then close."""
        self.running = False
        if not self.webhook and len(self._tasks) > 1:
            poller = self._tasks.pop()
            poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await poller
        if self._tasks:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.queue.join(), timeout=10)
            for task in [*self._tasks, *self._taken]:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._tasks.clear()
        await self.client.close()
        log.info("zalo_stopped")

    async def _poll(self) -> None:
        """Long polling: one update per call; errors back off up to a minute."""
        backoff = 1.0
        while self.running:
            try:
                update = await self.client.call("getUpdates", timeout=POLL_SECONDS)
            except ZaloError as exc:
                log.warning("zalo_poll_failed", extra={"error": str(exc), "wait": backoff})
                await self.sleep(backoff)
                backoff = min(backoff * 2, BACKOFF_MAX)
                continue
            backoff = 1.0
            parsed = parse_update(update) if update is not None else None
            if parsed is not None:
                await self.queue.put(parsed)

    async def receive(self, request: Request) -> Response:
        """POST /zalo: one update. The secret first, so a stranger's request is refused
        before its body is read or the database is touched."""
        given = request.headers.get(SECRET_HEADER, "").encode("latin-1")
        if not hmac.compare_digest(given, self._secret.encode()):
            return refuse(403)
        if not self.running:
            return refuse(503)
        try:
            data = json.loads(await read_body(request, MAX_UPDATE_BYTES))
        except BodyTooLarge:
            return refuse(413)
        except (ValueError, ClientDisconnect):
            return refuse(400)
        update = parse_update(data)
        if update is None:
            return refuse(400)
        await self.queue.put(update)
        return Response(status_code=200)

    async def _work(self) -> None:
        """Take the updates in the order they came; each waits for its person's turn."""
        while True:
            update = await self.queue.get()
            task = asyncio.create_task(self._take(update))
            self._taken.add(task)
            task.add_done_callback(self._taken.discard)

    async def _take(self, update: dict[str, Any]) -> None:
        try:
            await self.turns.run(sender_of(update), self._handle(update))
        except Exception:  # one bad update must not stop the others
            log.exception("zalo_update_failed")
        finally:
            self.queue.task_done()

    async def _tidy(self) -> None:
        """Forget updates older than any re-delivery, and the files of expired links: at
        start, then at most once a day, as updates come."""
        now = self.app.clock.now()
        async with self.app.transaction() as session:
            await seen.forget_old(session, now)
            await files.forget_expired(session, now)
        self._tidied = now

    async def _handle(self, update: dict[str, Any]) -> None:
        last = self._tidied
        if last is None or self.app.clock.now() - last >= TIDY_EVERY:
            self._tidied = self.app.clock.now()  # the turns running beside this one skip it
            try:
                await self._tidy()
            except BaseException:
                self._tidied = last
                raise
        message_id = str(update["message"].get("message_id") or "")
        if message_id:
            async with self.app.transaction() as session:
                if not await seen.first_time(session, CHANNEL, message_id, self.app.clock.now()):
                    log.info("zalo_duplicate_dropped")
                    return
        inbound = to_inbound(update)
        if inbound is None:
            return
        replies = await handle(self.app, inbound, self.caps)
        delivery = await self._sender.reply(inbound.chat_id, replies)
        if delivery.outcome != "ok":
            log.warning("zalo_reply_failed", extra={"outcome": delivery.outcome,
                                                    "error": delivery.error})


async def diagnose(settings: Settings) -> list[tuple[bool, str]]:
    """`vstbpn doctor`: is the Zalo token taken, and is the webhook where the settings say?"""
    assert settings.zalo_token is not None
    client = ZaloClient(settings.zalo_base_url, settings.zalo_token.get_secret_value())
    try:
        me = await client.call("getMe")
        info = await client.call("getWebhookInfo")
    except ZaloError as exc:
        if exc.code == 401:
            return [(False, "Zalo: VSTBPN_ZALO_TOKEN is refused: check the Zalo bot's token")]
        return [(False, f"Zalo: the Bot API at VSTBPN_ZALO_BASE_URL={settings.zalo_base_url} "
                        f"cannot be reached ({exc.code})")]
    finally:
        await client.close()
    name = (me or {}).get("account_name") or (me or {}).get("id") or "?"
    found = [(True, f"Zalo: the token works ({name})")]
    url = (info or {}).get("url") or ""
    wanted = f"{settings.public_url}{WEBHOOK_PATH}" if settings.zalo_mode == "webhook" else ""
    if url != wanted:
        found.append((False, f"Zalo: the webhook is {url or 'not set'}; the bot sets it when "
                             "it starts"))
    else:
        found.append((True, f"Zalo: {settings.zalo_mode}"))
    if settings.zalo_mode == "webhook" or settings.public_url:
        found.append((settings.public_url is not None and settings.public_url.startswith(
            "https://"), f"VSTBPN_PUBLIC_URL: {settings.public_url} (Zalo needs https)"))
    return found
