"""In-process fake of the Zalo Bot Platform API for end-to-end tests.

The fake is a small aiohttp server that runs in the test's own event loop, so the real Zalo
adapter (an ``httpx.AsyncClient``) talks to it over HTTP exactly as it would to
``https://bot-api.zaloplatforms.com``::

    async with FakeZaloAPI(token="12345:secret") as zalo:
        api = f"{zalo.base_url}/bot12345:secret"   # == zalo.api_url
        ...
        zalo.push_text("u1", "xin chào")
        replies = await zalo.wait_for_messages("u1", 1)
        assert replies[0].text == "..."

What it reproduces (Zalo Bot Platform docs and public clients):

* ``POST {base}/bot<TOKEN>/<method>`` (GET is accepted too) with a JSON, form-encoded or query
  string body. Answers are ``{"ok": true, "result": ...}`` or
  ``{"ok": false, "error_code": N, "description": "..."}`` with the same HTTP status. A token
  other than the configured one gets 401 ``Unauthorized``; an unknown method (including
  ``sendDocument``, edits and anything with buttons: Zalo has none) gets 404. Method names are
  matched case-sensitively.
* ``getUpdates`` is a long poll that returns **one** update object as ``result`` (not a list)
  and consumes it (there is no offset). A poll that ends empty after its ``timeout`` seconds
  (default 30) answers HTTP 408 ``Request timeout``. While a webhook is set it answers 400.
* Updates look like ``{"event_name": "message.text.received", "message": {"message_id": "m1",
  "date": <ms>, "text": ..., "chat": {"id": "u1", "chat_type": "PRIVATE"}, "from": {"id": "u1",
  "display_name": ..., "is_bot": false}}}``; every id is a string and every message id is unique
  (``m1``, ``m2``, ... for users, ``s1``, ``s2``, ... for what the bot sends).
* Webhook mode: after ``setWebhook`` (``secret_token`` 8–256 characters), pushed updates are
  POSTed by the fake to the webhook URL with header ``X-Bot-Api-Secret-Token``, one at a time in
  push order, either flat (the update itself) or wrapped as ``{"ok": true, "result": update}``
  (``webhook_shape``). Plain ``http://`` webhook URLs are accepted (real Zalo wants HTTPS).

Design notes (as in ``tests/fakes/telegram_api.py``):

* Every request is recorded as a :class:`Call`; waiting helpers wake up on every state change
  (new/finished call, pushed/consumed update, webhook delivery) instead of sleeping, so tests
  never depend on wall-clock timing except for their safety timeouts.
* :meth:`FakeZaloAPI.fail_next` injects faults (403 blocked/not a follower, 429, 500, a
  request that never answers in time, ...); :attr:`FakeZaloAPI.delay` slows every answer.
* With ``strict=True`` (default) the documented limits are enforced (text 1–2000 characters,
  caption ≤ 2000, photo must be an http(s) URL, ids must be JSON strings, ...).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web

__all__ = [
    "Call",
    "EVENT_NAMES",
    "FailureKind",
    "FakeZaloAPI",
    "SentMessage",
    "Webhook",
    "WebhookDelivery",
    "WebhookShape",
]

JSONDict = dict[str, Any]
FailureKind = Literal["400", "401", "403", "404", "429", "500", "502", "timeout"]
WebhookShape = Literal["flat", "wrapped"]

EVENT_NAMES = {
    "text": "message.text.received",
    "image": "message.image.received",
    "sticker": "message.sticker.received",
    "unsupported": "message.unsupported.received",
}
SECRET_HEADER = "X-Bot-Api-Secret-Token"

# Successful calls of these methods count as "messages delivered to a chat".
OUTGOING_METHODS = ("sendMessage", "sendPhoto")
CHAT_ACTIONS = frozenset({"typing", "upload_photo"})

MAX_TEXT = 2000
MAX_CAPTION = 2000
_SECRET_LEN = (8, 256)

_DEFAULT_DESCRIPTIONS = {
    "400": "Bad Request",
    "401": "Unauthorized",
    "403": "Forbidden: the user has blocked the bot or is not following it",
    "404": "Not Found",
    "429": "Too Many Requests",
    "500": "Internal Server Error",
    "502": "Bad Gateway",
    "timeout": "Gateway Timeout",
}


@dataclass
class Call:
    """One request received by the fake.

    ``params`` holds the decoded parameters exactly as sent (JSON types kept; form values are
    strings). ``failed`` is set (``"400"``, ``"403"``, ``"408"``, ``"timeout"``, ...) when the
    call did not succeed; ``completed`` turns true once the answer is final, ``status`` is its
    HTTP status and ``result`` its ``result`` field.
    """

    method: str
    params: JSONDict
    token: str = ""
    http_method: str = "POST"
    content_type: str = ""
    failed: str | None = None
    status: int = 200
    result: Any = None
    completed: bool = False
    seq: int = 0

    @property
    def chat_id(self) -> str | None:
        value = self.params.get("chat_id")
        return None if value is None else str(value)

    def describe(self) -> str:
        """Compact one-line description used in assertion dumps."""
        text = json.dumps(self.params, ensure_ascii=False, default=str)
        if len(text) > 200:
            text = text[:197] + "..."
        state = f"FAILED={self.failed}" if self.failed else ("ok" if self.completed else "pending")
        return f"#{self.seq} {self.method} [{state}] {text}"


@dataclass(frozen=True)
class SentMessage:
    """A delivered sendMessage/sendPhoto, flattened for assertions.

    ``text`` is what the user reads: the message text, or the caption of a photo (``None``
    for a photo without caption). ``photo`` is the photo URL, ``caption`` the raw caption.
    """

    method: str
    chat_id: str
    message_id: str | None
    text: str | None
    photo: str | None
    caption: str | None
    date: int | None
    call: Call


@dataclass(frozen=True)
class Webhook:
    """The webhook configured with ``setWebhook``."""

    url: str
    secret_token: str
    updated_at: int


@dataclass
class WebhookDelivery:
    """One POST of an update by the fake to the bot's webhook.

    ``status`` is the bot's HTTP status (``None`` when the request failed; ``error`` says why),
    ``response`` the bot's response body as text.
    """

    update: JSONDict
    url: str
    shape: WebhookShape
    secret_token: str | None
    status: int | None = None
    response: str = ""
    error: str | None = None


@dataclass
class _FailureRule:
    method: str
    chat_id: str | None
    remaining: int
    kind: str
    delay: float
    description: str | None


class _ApiError(Exception):
    """Raised by method handlers to produce a Zalo-style error answer."""

    def __init__(self, code: int, description: str) -> None:
        super().__init__(description)
        self.code = code
        self.description = description

    def body(self) -> JSONDict:
        return {"ok": False, "error_code": self.code, "description": self.description}


class _Signal:
    """``notify()`` (sync) wakes every current ``wait()``er; waiters re-check their predicate."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait(self) -> None:
        await self._event.wait()


def _chat_key(value: Any) -> str | None:
    return None if value is None else str(value)


class FakeZaloAPI:
    """Fake Zalo Bot Platform API server; see the module docstring for usage.

    ``token`` is the only token accepted (``<bot_id>:<secret>``); ``webhook_shape`` is the
    body shape used for webhook POSTs (``"flat"`` or ``"wrapped"``); ``delay`` (also settable
    later) makes every API answer wait that many seconds; ``clock`` returns seconds since the
    epoch and stamps the ``date`` (milliseconds) of messages.
    """

    def __init__(
        self,
        *,
        token: str = "12345:secret",
        account_name: str = "bot.vstbpn_test",
        strict: bool = True,
        webhook_shape: WebhookShape = "flat",
        delay: float = 0.0,
        clock: Callable[[], float] = time.time,
        host: str = "127.0.0.1",
    ) -> None:
        if ":" not in token:
            raise ValueError("a Zalo bot token looks like '<bot_id>:<secret>'")
        self.token = token
        self.account_name = account_name
        self.strict = strict
        self.webhook_shape: WebhookShape = webhook_shape
        self.delay = delay
        self.clock = clock
        self.host = host

        self._calls: list[Call] = []
        self._changed = _Signal()
        self._closing = False
        self._closing_event = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._session: aiohttp.ClientSession | None = None
        self._worker: asyncio.Task[None] | None = None

        self._failures: list[_FailureRule] = []
        self._pending: list[JSONDict] = []  # updates waiting for getUpdates, oldest first
        self._consumed: list[JSONDict] = []  # updates handed out by getUpdates
        self._pushed: list[JSONDict] = []  # every update pushed (including repeats)
        self._in_ids = itertools.count(1)
        self._out_ids = itertools.count(1)
        self._webhook: Webhook | None = None
        self._webhook_updated_at = 0
        self._webhook_queue: asyncio.Queue[JSONDict] = asyncio.Queue()
        self._webhook_backlog = 0  # queued or in-flight webhook deliveries
        self.webhook_deliveries: list[WebhookDelivery] = []

        self._handlers = {
            "getMe": self._get_me,
            "getUpdates": self._get_updates,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "sendMessage": self._send_message,
            "sendPhoto": self._send_photo,
            "sendSticker": self._send_sticker,
            "sendChatAction": self._send_chat_action,
        }

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        if self._runner is not None:
            raise RuntimeError("FakeZaloAPI already started")
        self._closing = False
        self._closing_event = asyncio.Event()
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=5)
        await runner.setup()
        site = web.TCPSite(runner, self.host, 0)
        await site.start()
        self._runner = runner
        self._port = runner.addresses[0][1]
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        self._worker = asyncio.create_task(self._webhook_worker())

    async def stop(self) -> None:
        if self._runner is None:
            return
        # Wake long polls and injected delays so in-flight handlers finish immediately.
        self._closing = True
        self._closing_event.set()
        self._changed.notify()
        if self._worker is not None:
            self._worker.cancel()
            try:
                await self._worker
            except asyncio.CancelledError:
                pass
            self._worker = None
        runner, self._runner = self._runner, None
        await runner.cleanup()
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> FakeZaloAPI:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        """Server root, e.g. ``http://127.0.0.1:12345`` (the adapter's API base)."""
        if self._port is None:
            raise RuntimeError("FakeZaloAPI is not started")
        return f"http://{self.host}:{self._port}"

    @property
    def api_url(self) -> str:
        """``{base_url}/bot{token}``: append ``/<method>``."""
        return f"{self.base_url}/bot{self.token}"

    @property
    def bot_id(self) -> str:
        return self.token.split(":", 1)[0]

    # ------------------------------------------------------------------ recording / queries

    @property
    def calls(self) -> list[Call]:
        """All recorded API calls (including failed and in-flight ones), oldest first."""
        return list(self._calls)

    def calls_of(self, method: str) -> list[Call]:
        """Recorded calls of one method (exact name)."""
        return [c for c in self._calls if c.method == method]

    def sent_messages(self, chat_id: str | None = None) -> list[SentMessage]:
        """Delivered sendMessage/sendPhoto calls, oldest first, optionally for one chat.

        Failed calls (injected failures, validation errors) are excluded.
        """
        wanted = _chat_key(chat_id)
        sent: list[SentMessage] = []
        for call in self._calls:
            if call.method not in OUTGOING_METHODS or call.failed or not call.completed:
                continue
            if wanted is not None and call.chat_id != wanted:
                continue
            result = call.result if isinstance(call.result, dict) else {}
            caption = call.params.get("caption")
            text = call.params.get("text") if call.method == "sendMessage" else caption
            sent.append(
                SentMessage(
                    method=call.method,
                    chat_id=call.chat_id or "",
                    message_id=result.get("message_id"),
                    text=text,
                    photo=call.params.get("photo") if call.method == "sendPhoto" else None,
                    caption=caption,
                    date=result.get("date"),
                    call=call,
                )
            )
        return sent

    @property
    def consumed_updates(self) -> list[JSONDict]:
        """Updates handed out by getUpdates, in order (webhook deliveries are separate)."""
        return list(self._consumed)

    @property
    def pushed_updates(self) -> list[JSONDict]:
        """Every update pushed by the test, in order (a repeat appears once per delivery)."""
        return list(self._pushed)

    def updates_pending(self) -> int:
        """Pushed updates not yet fetched by getUpdates or delivered to the webhook."""
        return len(self._pending) + self._webhook_backlog

    def clear_calls(self) -> None:
        """Forget recorded calls (pending updates and the webhook are kept)."""
        self._calls.clear()

    def dump(self, limit: int = 40) -> str:
        """Human-readable summary of recent calls, for assertion messages."""
        interesting = [c for c in self._calls if c.method != "getUpdates"]
        polls = len(self._calls) - len(interesting)
        lines = [
            f"FakeZaloAPI: {len(self._calls)} calls ({polls} getUpdates), "
            f"{len(self._pending)} pending updates, "
            f"{len(self.webhook_deliveries)} webhook deliveries"
        ]
        if len(interesting) > limit:
            lines.append(f"  ... {len(interesting) - limit} earlier calls omitted")
        lines.extend(f"  {c.describe()}" for c in interesting[-limit:])
        lines.extend(
            f"  webhook {d.update.get('message', {}).get('message_id')} -> "
            f"{d.status if d.error is None else d.error}"
            for d in self.webhook_deliveries[-10:]
        )
        return "\n".join(lines)

    # ------------------------------------------------------------------ waiting

    # The timeout parameters below are safety nets, hence the ASYNC109 exemptions.
    async def wait_for(self, predicate: Callable[[], Any], timeout: float = 5) -> Any:  # noqa: ASYNC109
        """Wait until ``predicate()`` is truthy and return its value.

        Re-evaluated on every state change of the fake; ``timeout`` is only a safety net and
        raises ``AssertionError`` with a dump of recent calls.
        """
        try:
            async with asyncio.timeout(timeout):
                while True:
                    value = predicate()
                    if value:
                        return value
                    await self._changed.wait()
        except TimeoutError:
            raise AssertionError(
                f"condition not met within {timeout}s: {predicate!r}\n{self.dump()}"
            ) from None

    async def wait_for_messages(
        self,
        chat_id: str,
        count: int,
        timeout: float = 5,  # noqa: ASYNC109
    ) -> list[SentMessage]:
        """Wait until at least ``count`` messages in total were delivered to ``chat_id``."""

        def enough() -> list[SentMessage] | None:
            sent = self.sent_messages(chat_id)
            return sent if len(sent) >= count else None

        try:
            return await self.wait_for(enough, timeout)
        except AssertionError:
            have = len(self.sent_messages(chat_id))
            raise AssertionError(
                f"expected {count} message(s) to chat {chat_id}, got {have} within {timeout}s\n"
                f"{self.dump()}"
            ) from None

    async def wait_for_calls(
        self,
        method: str,
        count: int = 1,
        timeout: float = 5,  # noqa: ASYNC109
    ) -> list[Call]:
        """Wait until ``count`` calls of ``method`` have completed (successfully or not)."""

        def enough() -> list[Call] | None:
            done = [c for c in self.calls_of(method) if c.completed]
            return done if len(done) >= count else None

        return await self.wait_for(enough, timeout)

    async def wait_until_consumed(self, timeout: float = 5) -> None:  # noqa: ASYNC109
        """Wait until every pushed update was fetched by getUpdates or POSTed to the webhook.

        Handlers may still be running; wait for their effects (:meth:`wait_for_messages`).
        """
        await self.wait_for(lambda: self.updates_pending() == 0, timeout)

    # ------------------------------------------------------------------ pushing updates

    def make_update(
        self,
        user_id: str,
        kind: str = "text",
        *,
        text: str | None = None,
        display_name: str = "Người dùng thử",
        photo: str | None = None,
        caption: str | None = None,
        sticker: str | None = None,
    ) -> JSONDict:
        """Build (but do not queue) an update from ``user_id`` in their private chat.

        ``kind`` is ``"text"``, ``"image"``, ``"sticker"``, ``"unsupported"`` or a full
        ``event_name``. Each call gets a fresh message id (``"m<n>"``).
        """
        event_name = EVENT_NAMES.get(kind, kind)
        if event_name not in EVENT_NAMES.values():
            raise ValueError(f"unknown Zalo event kind {kind!r}")
        user = str(user_id)
        message: JSONDict = {
            "message_id": f"m{next(self._in_ids)}",
            "date": self._now_ms(),
            "chat": {"id": user, "chat_type": "PRIVATE"},
            "from": {"id": user, "display_name": display_name, "is_bot": False},
        }
        if event_name == EVENT_NAMES["text"]:
            message["text"] = "" if text is None else text
        elif event_name == EVENT_NAMES["image"]:
            message["photo"] = photo or "https://photo.example/zalo/image.jpg"
            if caption is not None:
                message["caption"] = caption
        elif event_name == EVENT_NAMES["sticker"]:
            message["sticker"] = sticker or "d063f44dc80821567819"
        return {"event_name": event_name, "message": message}

    def push_text(
        self,
        user_id: str,
        text: str,
        *,
        display_name: str = "Người dùng thử",
        repeat: int = 1,
    ) -> JSONDict:
        """Queue a text message from ``user_id``; returns the update.

        ``repeat=2`` delivers the very same update (same message id) twice, like a platform
        retry, so the adapter's duplicate filter can be tested.
        """
        update = self.make_update(user_id, "text", text=text, display_name=display_name)
        return self.push_update(update, repeat=repeat)

    def push_event(
        self,
        user_id: str,
        kind: str,
        *,
        display_name: str = "Người dùng thử",
        photo: str | None = None,
        caption: str | None = None,
        sticker: str | None = None,
        repeat: int = 1,
    ) -> JSONDict:
        """Queue an ``"image"``, ``"sticker"`` or ``"unsupported"`` event; returns the update."""
        update = self.make_update(
            user_id,
            kind,
            display_name=display_name,
            photo=photo,
            caption=caption,
            sticker=sticker,
        )
        return self.push_update(update, repeat=repeat)

    def push_update(self, update: JSONDict, *, repeat: int = 1) -> JSONDict:
        """Queue a raw update ``repeat`` times; returns (a copy of) it.

        Without a webhook the update waits for getUpdates; with one it is POSTed to the
        webhook URL by a background task (one delivery at a time, in push order).
        """
        if repeat < 1:
            raise ValueError("repeat must be >= 1")
        update = json.loads(json.dumps(update))  # detach from caller; also checks JSON-ability
        for _ in range(repeat):
            copy = json.loads(json.dumps(update))
            self._pushed.append(copy)
            if self._webhook is not None:
                self._webhook_backlog += 1
                self._webhook_queue.put_nowait(copy)
            else:
                self._pending.append(copy)
        self._changed.notify()
        return update

    def redeliver(self, update: JSONDict | None = None, *, times: int = 1) -> JSONDict:
        """Deliver ``update`` (default: the last pushed one) again, unchanged."""
        if update is None:
            if not self._pushed:
                raise LookupError("nothing was pushed yet")
            update = self._pushed[-1]
        return self.push_update(update, repeat=times)

    # ------------------------------------------------------------------ failure injection

    def fail_next(
        self,
        method: str,
        kind: FailureKind = "500",
        *,
        chat_id: str | None = None,
        times: int = 1,
        delay: float | None = None,
        description: str | None = None,
    ) -> None:
        """Make the next ``times`` calls of ``method`` (optionally only to ``chat_id``) fail.

        ``kind``: ``"403"`` (the user blocked the bot / does not follow it), ``"429"``,
        ``"500"`` and the other HTTP errors answer at once (after ``delay``, default 0) with
        a Zalo error body and do nothing. ``"timeout"`` holds the request for ``delay``
        seconds (default 30, cut short by ``stop()``) so the client's timeout fires first; the
        method is never carried out (a late answer is a 504). Failed calls are recorded with
        ``Call.failed = kind``; rules apply in the order they were added.
        """
        if times < 1:
            raise ValueError("times must be >= 1")
        if kind not in _DEFAULT_DESCRIPTIONS:
            raise ValueError(f"unknown failure kind {kind!r}")
        self._failures.append(
            _FailureRule(
                method=method,
                chat_id=_chat_key(chat_id),
                remaining=times,
                kind=kind,
                delay=(30.0 if kind == "timeout" else 0.0) if delay is None else delay,
                description=description,
            )
        )

    # ------------------------------------------------------------------ webhook side

    @property
    def webhook(self) -> Webhook | None:
        """The webhook set with ``setWebhook`` (``None`` in polling mode)."""
        return self._webhook

    async def deliver_via_webhook(
        self,
        update: JSONDict,
        *,
        shape: WebhookShape | None = None,
        secret_token: str | None = None,
        url: str | None = None,
    ) -> WebhookDelivery:
        """POST ``update`` to the webhook now, like Zalo does, and return the outcome.

        ``shape`` defaults to :attr:`webhook_shape`; ``secret_token`` and ``url`` default to
        the configured webhook's (pass a wrong secret to test that the bot refuses it). The
        delivery is recorded in :attr:`webhook_deliveries`.
        """
        hook = self._webhook
        target = url or (hook.url if hook else None)
        if target is None:
            raise RuntimeError("no webhook is set; call setWebhook first or pass url=")
        secret = secret_token if secret_token is not None else (hook.secret_token if hook else None)
        shape = shape or self.webhook_shape
        body = update if shape == "flat" else {"ok": True, "result": update}
        delivery = WebhookDelivery(update=update, url=target, shape=shape, secret_token=secret)
        headers = {SECRET_HEADER: secret} if secret else {}
        if self._session is None:
            raise RuntimeError("FakeZaloAPI is not started")
        try:
            async with self._session.post(target, json=body, headers=headers) as response:
                delivery.status = response.status
                delivery.response = await response.text()
        except (aiohttp.ClientError, TimeoutError) as exc:
            delivery.error = f"{type(exc).__name__}: {exc}"
        self.webhook_deliveries.append(delivery)
        self._changed.notify()
        return delivery

    async def _webhook_worker(self) -> None:
        while True:
            update = await self._webhook_queue.get()
            try:
                await self.deliver_via_webhook(update)
            except RuntimeError as exc:  # webhook deleted meanwhile
                self.webhook_deliveries.append(
                    WebhookDelivery(
                        update=update,
                        url="",
                        shape=self.webhook_shape,
                        secret_token=None,
                        error=str(exc),
                    )
                )
            finally:
                self._webhook_backlog -= 1
                self._changed.notify()

    # ------------------------------------------------------------------ HTTP plumbing

    async def _handle_api(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        method = request.match_info["method"]
        call = Call(
            method=method,
            params={},
            token=token,
            http_method=request.method,
            content_type=request.content_type,
            seq=len(self._calls) + 1,
        )
        self._calls.append(call)
        self._changed.notify()
        try:
            status, body = await self._respond(request, call)
        except Exception as exc:  # a bug in the fake: fail loudly, never "deliver"
            call.failed = "500"
            status, body = 500, _ApiError(500, f"Internal Server Error: {exc!r}").body()
        call.status = status
        if body.get("ok"):
            call.result = body.get("result")
        elif call.failed is None:
            call.failed = str(body.get("error_code", status))
        # Mark completion only once the outcome is final, so waiters never see half a call.
        call.completed = True
        self._changed.notify()
        return web.json_response(body, status=status)

    async def _respond(self, request: web.Request, call: Call) -> tuple[int, JSONDict]:
        if request.method not in ("GET", "POST"):
            return 405, _ApiError(405, "Method Not Allowed").body()
        try:
            call.params = await self._read_params(request)
        except ValueError as exc:
            return 400, _ApiError(400, str(exc)).body()
        if call.token != self.token:
            return 401, _ApiError(401, "Unauthorized").body()
        handler = self._handlers.get(call.method)
        if handler is None:
            return 404, _ApiError(404, "Not Found").body()

        if self.delay > 0:
            await self._sleep(self.delay)
        rule = self._take_failure(call)
        if rule is not None:
            call.failed = rule.kind
            if rule.delay > 0:
                await self._sleep(rule.delay)
            code = 504 if rule.kind == "timeout" else int(rule.kind)
            description = rule.description or _DEFAULT_DESCRIPTIONS[rule.kind]
            return code, _ApiError(code, description).body()

        try:
            body = await handler(call)
        except _ApiError as exc:
            return exc.code, exc.body()
        return 200, body

    async def _read_params(self, request: web.Request) -> JSONDict:
        params: JSONDict = dict(request.query)
        if request.content_type == "application/json":
            raw = await request.read()
            if raw.strip():
                try:
                    body = json.loads(raw)
                except ValueError:
                    raise ValueError("Bad Request: can't parse JSON body") from None
                if not isinstance(body, dict):
                    raise ValueError("Bad Request: JSON body must be an object")
                params.update(body)
        elif request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            form = await request.post()
            for name, value in form.items():
                if isinstance(value, web.FileField):
                    # Zalo takes URLs, not uploads; keep a marker so validation refuses it.
                    params[name] = {"upload": value.filename}
                else:
                    params[name] = str(value)
        return params

    async def _sleep(self, seconds: float) -> None:
        """Sleep, but return early when the server shuts down."""
        try:
            async with asyncio.timeout(seconds):
                await self._closing_event.wait()
        except TimeoutError:
            pass

    def _take_failure(self, call: Call) -> _FailureRule | None:
        for rule in self._failures:
            if rule.method == call.method and rule.chat_id in (None, call.chat_id):
                rule.remaining -= 1
                if rule.remaining <= 0:
                    self._failures.remove(rule)
                return rule
        return None

    def _now_ms(self) -> int:
        return int(self.clock() * 1000)

    # ------------------------------------------------------------------ validation helpers

    def _string(self, call: Call, name: str, *, required: bool = True) -> str | None:
        value = call.params.get(name)
        if value is None or value == "":
            if required:
                raise _ApiError(400, f"{name} is required")
            return None
        if not isinstance(value, str):
            if self.strict:
                raise _ApiError(400, f"{name} must be a string")
            value = str(value)
        return value

    def _sent(self) -> JSONDict:
        return {
            "ok": True,
            "result": {"message_id": f"s{next(self._out_ids)}", "date": self._now_ms()},
        }

    # ------------------------------------------------------------------ method handlers

    async def _get_me(self, call: Call) -> JSONDict:
        return {
            "ok": True,
            "result": {
                "id": self.bot_id,
                "account_name": self.account_name,
                "account_type": "BASIC",
                "can_join_groups": False,
            },
        }

    async def _get_updates(self, call: Call) -> JSONDict:
        if self._webhook is not None:
            raise _ApiError(400, "webhook is active: call deleteWebhook before using getUpdates")
        raw_timeout = call.params.get("timeout", 30)
        try:
            timeout = float(raw_timeout)
        except (TypeError, ValueError):
            raise _ApiError(400, "timeout must be a number of seconds") from None
        if not math.isfinite(timeout) or timeout < 0:
            raise _ApiError(400, "timeout must be a number of seconds")

        if not self._pending and timeout > 0:
            try:
                async with asyncio.timeout(timeout):
                    while not self._pending and not self._closing:
                        await self._changed.wait()
            except TimeoutError:
                pass
        if not self._pending or self._closing:
            raise _ApiError(408, "Request timeout")
        update = self._pending.pop(0)
        self._consumed.append(update)
        self._changed.notify()
        return {"ok": True, "result": update}

    async def _set_webhook(self, call: Call) -> JSONDict:
        url = self._string(call, "url")
        assert url is not None
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise _ApiError(400, "url must be an http(s) URL")
        secret = self._string(call, "secret_token")
        assert secret is not None
        low, high = _SECRET_LEN
        if not low <= len(secret) <= high:
            raise _ApiError(400, f"secret_token must be {low}-{high} characters")
        self._webhook_updated_at = self._now_ms()
        self._webhook = Webhook(url=url, secret_token=secret, updated_at=self._webhook_updated_at)
        self._changed.notify()
        return {"ok": True, "result": {"url": url, "updated_at": self._webhook_updated_at}}

    async def _delete_webhook(self, call: Call) -> JSONDict:
        self._webhook = None
        self._webhook_updated_at = self._now_ms()
        self._changed.notify()
        return {"ok": True, "result": {"url": "", "updated_at": self._webhook_updated_at}}

    async def _get_webhook_info(self, call: Call) -> JSONDict:
        url = self._webhook.url if self._webhook else ""
        return {"ok": True, "result": {"url": url, "updated_at": self._webhook_updated_at}}

    async def _send_message(self, call: Call) -> JSONDict:
        self._string(call, "chat_id")
        text = self._string(call, "text")
        assert text is not None
        if len(text) > MAX_TEXT:
            raise _ApiError(400, "text too long")
        return self._sent()

    async def _send_photo(self, call: Call) -> JSONDict:
        self._string(call, "chat_id")
        photo = call.params.get("photo")
        if photo is None or photo == "":
            raise _ApiError(400, "photo is required")
        parts = urlsplit(photo) if isinstance(photo, str) else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
            raise _ApiError(400, "photo must be a public http(s) URL")
        caption = self._string(call, "caption", required=False)
        if caption is not None and len(caption) > MAX_CAPTION:
            raise _ApiError(400, "caption too long")
        return self._sent()

    async def _send_sticker(self, call: Call) -> JSONDict:
        self._string(call, "chat_id")
        self._string(call, "sticker")
        return self._sent()

    async def _send_chat_action(self, call: Call) -> JSONDict:
        self._string(call, "chat_id")
        action = self._string(call, "action")
        if action not in CHAT_ACTIONS:
            raise _ApiError(400, f"action must be one of: {', '.join(sorted(CHAT_ACTIONS))}")
        # As documented: no ``result`` field at all.
        return {"ok": True}
