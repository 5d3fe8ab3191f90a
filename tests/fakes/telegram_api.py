"""In-process fake of the Telegram Bot API for end-to-end tests.

The fake is a small aiohttp server that runs in the test's own event loop, so a real
python-telegram-bot ``Bot``/``Application`` talks to it over HTTP exactly as it would to
``api.telegram.org``::

    async with FakeTelegramAPI() as tg:
        app = (
            Application.builder()
            .token("123:ABC")
            .base_url(tg.bot_api_url)        # == f"{tg.base_url}/bot"
            .base_file_url(tg.file_api_url)  # == f"{tg.base_url}/file/bot"
            .build()
        )
        ...
        tg.push_message(42, "/start")
        replies = await tg.wait_for_messages(42, 1)

Design notes:

* Every request is recorded as a :class:`Call`; waiting helpers wake up on every state change
  (new call, finished call, pushed/confirmed update) instead of sleeping, so tests never depend
  on wall-clock timing except for their safety timeouts.
* Responses mimic the real Bot API closely enough for python-telegram-bot 22.x to parse them,
  including error bodies, so retry/flood-control code paths can be exercised with
  :meth:`FakeTelegramAPI.fail_next`.
* With ``strict=True`` (default) a few validations Telegram performs are reproduced (HTML
  markup, text length, callback_data size, "message is not modified", ...) because those are
  the errors bots most often hit in production.
* ``answer_delay`` (seconds) makes every call but getUpdates wait that long before it is
  answered, like the real round trip to Telegram (benchmarks; tests of concurrency).
"""

from __future__ import annotations

import asyncio
import inspect
import itertools
import json
import math
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from html import unescape
from http import HTTPStatus
from typing import Any, Literal

import aiohttp
from aiohttp import web

__all__ = [
    "Call",
    "FailureKind",
    "FakeTelegramAPI",
    "OnCallHook",
    "SentMessage",
]

JSONDict = dict[str, Any]
FailureKind = Literal["429", "500", "502", "403", "401", "404", "timeout", "400"]
OnCallHook = Callable[["Call"], Awaitable[JSONDict | None] | JSONDict | None]
ChatId = int | str

# Methods whose successful calls count as "messages delivered to a chat".
OUTGOING_METHODS = ("sendMessage", "sendDocument", "sendPhoto", "editMessageText")

# Form/multipart values are JSON-encoded by clients unless they are plain strings; these
# parameters are always strings, so they must never be JSON-decoded ("123" stays "123").
_STRING_PARAMS = frozenset(
    "text caption parse_mode callback_query_id inline_message_id url secret_token action "
    "language_code business_connection_id message_effect_id ip_address document photo "
    "file_id data name title description short_description".split()
)

# Tags accepted by Telegram's HTML parse mode (https://core.telegram.org/bots/api#html-style).
_HTML_TAGS = frozenset(
    "b strong i em u ins s strike del span tg-spoiler a tg-emoji code pre blockquote".split()
)
_HTML_TAG_RE = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)(\s[^<>]*)?>")
_BOT_COMMAND_RE = re.compile(r"^[a-z0-9_]{1,32}$")
# Inline keyboard buttons must carry exactly one "action" field besides their text.
_INLINE_BUTTON_ACTIONS = frozenset(
    "url callback_data web_app login_url switch_inline_query "
    "switch_inline_query_current_chat switch_inline_query_chosen_chat copy_text "
    "callback_game pay".split()
)

_MAX_TEXT = 4096
_MAX_CAPTION = 1024
_MAX_CALLBACK_DATA = 64


@dataclass
class Call:
    """One request received by the fake.

    ``params`` holds decoded parameters (ints, dicts and lists are JSON-decoded for form
    requests), ``files`` maps multipart field name to ``(filename, content)``. ``failed`` is
    set (e.g. ``"429"``, ``"timeout"``, ``"400"``) when the call did not succeed; ``completed``
    turns true once the response has been produced and ``result`` holds its ``result`` field.
    """

    method: str
    params: JSONDict
    files: dict[str, tuple[str | None, bytes]] = field(default_factory=dict)
    token: str = ""
    failed: str | None = None
    status: int = 200
    result: Any = None
    completed: bool = False
    seq: int = 0

    @property
    def chat_id(self) -> ChatId | None:
        return _norm_chat_id(self.params.get("chat_id"))

    def describe(self) -> str:
        """Compact one-line description used in assertion dumps."""
        shown = {k: v for k, v in self.params.items() if k != "reply_markup"}
        if "reply_markup" in self.params:
            shown["reply_markup"] = "…"
        text = json.dumps(shown, ensure_ascii=False, default=str)
        if len(text) > 200:
            text = text[:197] + "..."
        state = f"FAILED={self.failed}" if self.failed else ("ok" if self.completed else "pending")
        files = f" files={ {k: v[0] for k, v in self.files.items()} }" if self.files else ""
        return f"#{self.seq} {self.method} [{state}] {text}{files}"


@dataclass(frozen=True)
class SentMessage:
    """A successfully delivered outgoing message (or edit), flattened for easy assertions.

    ``text`` is the message text, or the caption for documents/photos. ``filename`` and
    ``content`` describe the attached document/photo (content is ``None`` when the bot sent a
    URL instead of bytes).
    """

    method: str
    chat_id: ChatId
    message_id: int | None
    text: str | None
    parse_mode: str | None
    reply_markup: JSONDict | None
    filename: str | None
    content: bytes | None
    call: Call

    @property
    def buttons(self) -> list[JSONDict]:
        """Inline keyboard buttons, flattened row by row."""
        rows = (self.reply_markup or {}).get("inline_keyboard") or []
        return [button for row in rows for button in row]

    @property
    def button_texts(self) -> list[str]:
        return [button.get("text", "") for button in self.buttons]

    @property
    def callback_data(self) -> list[str]:
        return [b["callback_data"] for b in self.buttons if "callback_data" in b]


@dataclass
class _FailureRule:
    method: str  # lower-cased
    chat_id: ChatId | None
    remaining: int
    kind: str
    retry_after: int
    delay: float
    description: str | None


class _ApiError(Exception):
    """Raised by method handlers to produce a Telegram-style error response."""

    def __init__(self, code: int, description: str, parameters: JSONDict | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters

    def body(self) -> JSONDict:
        body: JSONDict = {"ok": False, "error_code": self.code, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


class _Signal:
    """Level-free broadcast: ``notify()`` (sync) wakes every current ``wait()``er.

    Works like ``asyncio.Condition.notify_all`` but can be fired from synchronous code such
    as :meth:`FakeTelegramAPI.push_message`. Waiters must re-check their predicate after
    waking; as check-then-wait happens without yielding to the loop, no wake-up is lost.
    """

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait(self) -> None:
        await self._event.wait()


def _norm_chat_id(value: Any) -> ChatId | None:
    """Chat ids arrive as int, numeric string or ``@username``; compare them as ints."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    text = str(value).strip()
    try:
        return int(text)
    except ValueError:
        return text


def _as_int(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _as_float(value: Any, default: float) -> float:
    try:
        result = float(value)
    except (TypeError, ValueError):
        return default
    return result if math.isfinite(result) else default


def _decode_form_value(name: str, value: str) -> Any:
    if name in _STRING_PARAMS:
        return value
    try:
        decoded = json.loads(value)
    except ValueError:
        return value
    if isinstance(decoded, bool | int | dict | list) or (
        isinstance(decoded, float) and math.isfinite(decoded)
    ):
        return decoded
    return value


def _as_markup(value: Any) -> JSONDict | None:
    """reply_markup may arrive as an object or (inside JSON bodies) as a JSON string."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return None
    return value if isinstance(value, dict) else None


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _parse_html(text: str) -> str:
    """Validate ``text`` like Telegram's HTML parse mode and return the visible text.

    Only the supported tag set and proper nesting are checked; that catches the usual bugs
    (``<br>``, unescaped ``<``, unclosed tags) without being stricter than Telegram.
    """
    visible: list[str] = []
    stack: list[str] = []
    pos = 0

    def offset(index: int) -> int:
        return len(text[:index].encode())

    while True:
        lt = text.find("<", pos)
        visible.append(unescape(text[pos : lt if lt != -1 else len(text)]))
        if lt == -1:
            break
        match = _HTML_TAG_RE.match(text, lt)
        if match is None:
            raise _ApiError(
                400,
                f"Bad Request: can't parse entities: Unexpected '<' at byte offset {offset(lt)}",
            )
        closing, name = match.group(1) == "/", match.group(2).lower()
        if name not in _HTML_TAGS:
            kind = "end" if closing else "start"
            raise _ApiError(
                400,
                f'Bad Request: can\'t parse entities: Unsupported {kind} tag "{name}" '
                f"at byte offset {offset(lt)}",
            )
        if closing:
            if not stack or stack[-1] != name:
                expected = f'"</{stack[-1]}>"' if stack else "nothing"
                raise _ApiError(
                    400,
                    f"Bad Request: can't parse entities: Unmatched end tag at byte offset "
                    f'{offset(lt)}, expected {expected}, found "</{name}>"',
                )
            stack.pop()
        else:
            stack.append(name)
        pos = match.end()
    if stack:
        raise _ApiError(
            400,
            "Bad Request: can't parse entities: Can't find end tag corresponding to start tag "
            f'"{stack[-1]}"',
        )
    return "".join(visible)


class FakeTelegramAPI:
    """Fake Telegram Bot API server; see the module docstring for usage."""

    def __init__(
        self,
        *,
        bot_username: str = "vstbpn_test_bot",
        bot_first_name: str = "VSTBPN Test Bot",
        strict: bool = True,
        on_call: OnCallHook | None = None,
        host: str = "127.0.0.1",
        answer_delay: float = 0.0,
    ) -> None:
        self.bot_username = bot_username
        self.bot_first_name = bot_first_name
        self.strict = strict
        # Optional override: called for every call that is not failure-injected. Return None
        # to continue normally, a full response body ({"ok": ...}) or a bare ``result`` dict.
        self.on_call: OnCallHook | None = on_call
        self.host = host
        # Seconds every call but getUpdates waits before it is answered, as the real Bot API's
        # round trip does (~100 ms); may be changed at any time. 0: answer at once.
        self.answer_delay = answer_delay

        self._calls: list[Call] = []
        self._changed = _Signal()
        self._closing = False
        self._closing_event = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._port: int | None = None

        self._failures: list[_FailureRule] = []
        self._pending_updates: list[JSONDict] = []
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1)
        self._callback_ids = itertools.count(1)
        self._file_ids = itertools.count(1)
        self._poll_generation: dict[str, int] = {}

        self._chats: dict[ChatId, JSONDict] = {}
        self._messages: dict[int, JSONDict] = {}  # message_id -> Message (ids are global)
        self._open_callback_queries: set[str] = set()
        self._files: dict[str, tuple[str | None, bytes | None, str]] = {}  # id -> name, data, path
        self._commands: dict[tuple[str, str], list[JSONDict]] = {}
        self._webhook: JSONDict = {}

        handlers: dict[str, Callable[[Call], Awaitable[Any]]] = {
            "getMe": self._get_me,
            "getUpdates": self._get_updates,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "sendMessage": self._send_message,
            "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "answerCallbackQuery": self._answer_callback_query,
            "sendDocument": self._send_document,
            "sendPhoto": self._send_photo,
            "sendChatAction": self._return_true,
            "setMyCommands": self._set_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "getMyCommands": self._get_my_commands,
            "getFile": self._get_file,
            "close": self._return_true,
            "logOut": self._return_true,
        }
        # Telegram matches method names case-insensitively.
        self._handlers = {name.lower(): (name, fn) for name, fn in handlers.items()}

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        if self._runner is not None:
            raise RuntimeError("FakeTelegramAPI already started")
        self._closing = False
        self._closing_event = asyncio.Event()
        # Telegram accepts uploads up to 50 MB; aiohttp's default body limit is 1 MiB.
        app = web.Application(client_max_size=50 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        # Short shutdown timeout: pending long-polls are woken by stop() anyway.
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=5)
        await runner.setup()
        site = web.TCPSite(runner, self.host, 0)
        await site.start()
        self._runner = runner
        self._port = runner.addresses[0][1]

    async def stop(self) -> None:
        if self._runner is None:
            return
        # Wake long-polls and injected delays so in-flight handlers finish immediately.
        self._closing = True
        self._closing_event.set()
        self._changed.notify()
        runner, self._runner = self._runner, None
        await runner.cleanup()

    async def __aenter__(self) -> FakeTelegramAPI:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        """Server root, e.g. ``http://127.0.0.1:12345``."""
        if self._port is None:
            raise RuntimeError("FakeTelegramAPI is not started")
        return f"http://{self.host}:{self._port}"

    @property
    def bot_api_url(self) -> str:
        """Value for python-telegram-bot's ``base_url``."""
        return f"{self.base_url}/bot"

    @property
    def file_api_url(self) -> str:
        """Value for python-telegram-bot's ``base_file_url``."""
        return f"{self.base_url}/file/bot"

    # ------------------------------------------------------------------ recording / queries

    def calls(self, method: str | None = None) -> list[Call]:
        """All recorded calls (including failed/in-flight ones), optionally by method name."""
        if method is None:
            return list(self._calls)
        wanted = method.lower()
        return [c for c in self._calls if c.method.lower() == wanted]

    def sent_messages(self, chat_id: ChatId | None = None) -> list[SentMessage]:
        """Delivered sendMessage/sendDocument/sendPhoto/editMessageText calls, oldest first.

        Failed calls (injected failures, validation errors) are excluded.
        """
        wanted = _norm_chat_id(chat_id)
        result: list[SentMessage] = []
        for call in self._calls:
            if call.method not in OUTGOING_METHODS or call.failed or not call.completed:
                continue
            sent = self._to_sent_message(call)
            if wanted is None or sent.chat_id == wanted:
                result.append(sent)
        return result

    def get_message(self, message_id: int) -> JSONDict:
        """Current state (after edits) of a message known to the fake."""
        try:
            return self._messages[message_id]
        except KeyError:
            raise LookupError(f"no message with id {message_id}\n{self.dump()}") from None

    def clear_calls(self) -> None:
        """Forget recorded calls (messages, chats and pending updates are kept)."""
        self._calls.clear()

    def dump(self, limit: int = 40) -> str:
        """Human-readable summary of recent calls, for assertion messages."""
        interesting = [c for c in self._calls if c.method != "getUpdates"]
        polls = len(self._calls) - len(interesting)
        lines = [
            f"FakeTelegramAPI: {len(self._calls)} calls ({polls} getUpdates), "
            f"{len(self._pending_updates)} unconfirmed updates"
        ]
        if len(interesting) > limit:
            lines.append(f"  ... {len(interesting) - limit} earlier calls omitted")
        lines.extend(f"  {c.describe()}" for c in interesting[-limit:])
        return "\n".join(lines)

    # ------------------------------------------------------------------ waiting

    # The timeout parameters below are safety nets, hence the ASYNC109 exemptions.
    async def wait_for(self, predicate: Callable[[], Any], timeout: float = 10) -> Any:  # noqa: ASYNC109
        """Wait until ``predicate()`` is truthy and return its value.

        The predicate is re-evaluated on every state change of the fake; ``timeout`` is only
        a safety net and raises ``AssertionError`` with a dump of recent calls.
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
        chat_id: ChatId,
        count: int,
        timeout: float = 10,  # noqa: ASYNC109
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

    def updates_pending(self) -> int:
        """Number of pushed updates not yet confirmed by a getUpdates ``offset``."""
        return len(self._pending_updates)

    async def wait_until_consumed(self, timeout: float = 10) -> None:  # noqa: ASYNC109
        """Wait until every pushed update was confirmed by a later getUpdates offset.

        Confirmation means the poller has *fetched* the update; handlers may still be running,
        so wait for their side effects (e.g. :meth:`wait_for_messages`) when that matters.
        """
        await self.wait_for(lambda: not self._pending_updates, timeout)

    # ------------------------------------------------------------------ pushing updates

    def make_message_update(
        self,
        user_id: int,
        text: str,
        *,
        chat_id: int | None = None,
        chat_type: str = "private",
        first_name: str = "Test",
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "vi",
        chat_title: str | None = None,
        reply_to_message_id: int | None = None,
    ) -> JSONDict:
        """Build (but do not queue) a message update, e.g. for :meth:`post_webhook`."""
        user = self._user(user_id, first_name, last_name, username, language_code)
        if chat_type == "private" and chat_id is not None and chat_id < 0:
            # Negative ids are groups; spare callers from passing chat_type every time.
            chat_type = "supergroup" if str(chat_id).startswith("-100") else "group"
        chat = self._register_chat(
            user_id if chat_id is None else chat_id,
            chat_type,
            chat_title,
            first_name,
            last_name,
            username,
        )
        message: JSONDict = {
            "message_id": next(self._message_ids),
            "from": user,
            "chat": chat,
            "date": int(time.time()),
            "text": text,
        }
        if text.startswith("/"):
            # CommandHandler only reacts to messages carrying a bot_command entity.
            command = text.split(maxsplit=1)[0]
            message["entities"] = [
                {"type": "bot_command", "offset": 0, "length": _utf16_len(command)}
            ]
        if reply_to_message_id is not None:
            message["reply_to_message"] = self.get_message(reply_to_message_id)
        self._messages[message["message_id"]] = message
        return {"update_id": next(self._update_ids), "message": message}

    def make_callback_update(
        self,
        user_id: int,
        data: str,
        *,
        message_id: int,
        chat_id: int | None = None,
        first_name: str = "Test",
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "vi",
    ) -> JSONDict:
        """Build (but do not queue) a callback_query update for a button on a bot message."""
        message = self.get_message(message_id)
        if chat_id is not None and _norm_chat_id(message["chat"]["id"]) != chat_id:
            raise LookupError(
                f"message {message_id} belongs to chat {message['chat']['id']}, not {chat_id}"
            )
        query_id = str(4_000_000_000_000 + next(self._callback_ids))
        self._open_callback_queries.add(query_id)
        callback: JSONDict = {
            "id": query_id,
            "from": self._user(user_id, first_name, last_name, username, language_code),
            "message": message,
            "chat_instance": str(message["chat"]["id"]),
            "data": data,
        }
        return {"update_id": next(self._update_ids), "callback_query": callback}

    def push_message(
        self,
        user_id: int,
        text: str,
        *,
        chat_id: int | None = None,
        chat_type: str = "private",
        first_name: str = "Test",
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "vi",
        chat_title: str | None = None,
        reply_to_message_id: int | None = None,
    ) -> int:
        """Queue a text message from ``user_id`` for getUpdates; returns its update_id."""
        return self.push_update(
            self.make_message_update(
                user_id,
                text,
                chat_id=chat_id,
                chat_type=chat_type,
                first_name=first_name,
                last_name=last_name,
                username=username,
                language_code=language_code,
                chat_title=chat_title,
                reply_to_message_id=reply_to_message_id,
            )
        )

    def push_callback(
        self,
        user_id: int,
        data: str,
        *,
        message_id: int,
        chat_id: int | None = None,
        first_name: str = "Test",
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "vi",
    ) -> int:
        """Queue a button press on message ``message_id``; returns its update_id."""
        return self.push_update(
            self.make_callback_update(
                user_id,
                data,
                message_id=message_id,
                chat_id=chat_id,
                first_name=first_name,
                last_name=last_name,
                username=username,
                language_code=language_code,
            )
        )

    def push_update(self, update: JSONDict) -> int:
        """Queue a raw update dict (``update_id`` is assigned when missing)."""
        update = json.loads(json.dumps(update))  # detach from caller; also checks JSON-ability
        if "update_id" in update:
            # Keep ids monotonic so offsets keep working after explicit ids.
            update_id = int(update["update_id"])
            self._update_ids = itertools.count(max(update_id + 1, next(self._update_ids)))
        else:
            update_id = update["update_id"] = next(self._update_ids)
        self._pending_updates.append(update)
        self._pending_updates.sort(key=lambda u: u["update_id"])
        self._changed.notify()
        return update_id

    # ------------------------------------------------------------------ failure injection

    def fail_next(
        self,
        method: str,
        *,
        chat_id: ChatId | None = None,
        times: int = 1,
        kind: FailureKind = "429",
        retry_after: int = 1,
        delay: float | None = None,
        description: str | None = None,
    ) -> None:
        """Make the next ``times`` calls of ``method`` (optionally only for ``chat_id``) fail.

        ``kind`` is an HTTP error ("429", "403", "401", "404", "400", "500", "502") or
        "timeout", which delays the (otherwise normal) answer by ``delay`` seconds
        (default 30) so the client times out. ``delay`` also postpones error answers
        (default 0). Rules apply in the order they were added; failed calls are recorded with
        ``Call.failed = kind``.
        """
        if times < 1:
            raise ValueError("times must be >= 1")
        self._failures.append(
            _FailureRule(
                method=method.lower(),
                chat_id=_norm_chat_id(chat_id),
                remaining=times,
                kind=str(kind),
                retry_after=retry_after,
                delay=(30.0 if kind == "timeout" else 0.0) if delay is None else delay,
                description=description,
            )
        )

    # ------------------------------------------------------------------ webhook helper

    @property
    def webhook_url(self) -> str:
        return self._webhook.get("url", "")

    @property
    def webhook_secret_token(self) -> str | None:
        return self._webhook.get("secret_token")

    async def post_webhook(
        self, url: str, update: JSONDict, secret_token: str | None = None
    ) -> int:
        """POST ``update`` to a bot's webhook endpoint like Telegram does; returns the status."""
        headers = {"X-Telegram-Bot-Api-Secret-Token": secret_token} if secret_token else {}
        timeout = aiohttp.ClientTimeout(total=30)
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.post(url, json=update, headers=headers) as response,
        ):
            await response.read()
            return response.status

    # ------------------------------------------------------------------ HTTP plumbing

    async def _handle_api(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        raw_method = request.match_info["method"]
        try:
            params, files = await self._read_params(request)
        except ValueError as exc:
            return web.json_response(_ApiError(400, f"Bad Request: {exc}").body(), status=400)
        entry = self._handlers.get(raw_method.lower())
        call = Call(
            method=entry[0] if entry else raw_method,
            params=params,
            files=files,
            token=token,
            seq=len(self._calls) + 1,
        )
        self._calls.append(call)
        self._changed.notify()
        try:
            status, body = await self._respond(call, entry[1] if entry else None)
        except Exception as exc:  # a bug in the fake or a hook: fail loudly, never "deliver"
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

    async def _respond(
        self, call: Call, handler: Callable[[Call], Awaitable[Any]] | None
    ) -> tuple[int, JSONDict]:
        if handler is None:
            call.failed = "404"
            return 404, {
                "ok": False,
                "error_code": 404,
                "description": "Not Found: method not found",
            }

        if self.answer_delay > 0 and call.method != "getUpdates":
            await self._sleep(self.answer_delay)
        rule = self._take_failure(call)
        if rule is not None:
            call.failed = rule.kind
            if rule.delay > 0:
                await self._sleep(rule.delay)
            if rule.kind != "timeout":
                error = self._failure_error(rule)
                return error.code, error.body()
            # "timeout": answer normally, just too late for the client.
        elif self.on_call is not None:
            override = self.on_call(call)
            if inspect.isawaitable(override):
                override = await override
            if override is not None:
                body = override if "ok" in override else {"ok": True, "result": override}
                status = 200 if body["ok"] else int(body.get("error_code", 400))
                return status, body

        try:
            result = await handler(call)
        except _ApiError as exc:
            return exc.code, exc.body()
        return 200, {"ok": True, "result": result}

    async def _read_params(
        self, request: web.Request
    ) -> tuple[JSONDict, dict[str, tuple[str | None, bytes]]]:
        params: JSONDict = {k: _decode_form_value(k, v) for k, v in request.query.items()}
        files: dict[str, tuple[str | None, bytes]] = {}
        if request.content_type == "application/json":
            raw = await request.read()
            if raw:
                try:
                    body = json.loads(raw)
                except ValueError:
                    raise ValueError("can't parse JSON object") from None
                if not isinstance(body, dict):
                    raise ValueError("JSON body must be an object")
                params.update(body)
        elif request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            form = await request.post()
            for name, value in form.items():
                if isinstance(value, web.FileField):
                    files[name] = (value.filename, value.file.read())
                else:
                    params[name] = _decode_form_value(name, str(value))
        return params, files

    async def _handle_file(self, request: web.Request) -> web.Response:
        path = request.match_info["path"]
        for _filename, content, file_path in self._files.values():
            if file_path == path and content is not None:
                return web.Response(body=content, content_type="application/octet-stream")
        return web.json_response(
            {"ok": False, "error_code": 404, "description": "Not Found"}, status=404
        )

    async def _sleep(self, seconds: float) -> None:
        """Sleep, but return early when the server shuts down."""
        try:
            async with asyncio.timeout(seconds):
                await self._closing_event.wait()
        except TimeoutError:
            pass

    def _take_failure(self, call: Call) -> _FailureRule | None:
        method, chat_id = call.method.lower(), call.chat_id
        for rule in self._failures:
            if rule.method == method and rule.chat_id in (None, chat_id):
                rule.remaining -= 1
                if rule.remaining <= 0:
                    self._failures.remove(rule)
                return rule
        return None

    @staticmethod
    def _failure_error(rule: _FailureRule) -> _ApiError:
        if rule.kind == "429":
            return _ApiError(
                429,
                rule.description or f"Too Many Requests: retry after {rule.retry_after}",
                {"retry_after": rule.retry_after},
            )
        defaults = {
            "400": "Bad Request: chat not found",
            "403": "Forbidden: bot was blocked by the user",
            "500": "Internal Server Error",
            "502": "Bad Gateway",
        }
        code = _as_int(rule.kind, 500)
        try:
            fallback = defaults.get(rule.kind) or HTTPStatus(code).phrase
        except ValueError:
            fallback = "Error"
        return _ApiError(code, rule.description or fallback)

    # ------------------------------------------------------------------ helpers for handlers

    def _bot_user(self, token: str) -> JSONDict:
        # Real bot ids are the numeric prefix of the token.
        return {
            "id": _as_int(token.split(":", 1)[0], 1_000_000),
            "is_bot": True,
            "first_name": self.bot_first_name,
            "username": self.bot_username,
        }

    @staticmethod
    def _user(
        user_id: int,
        first_name: str,
        last_name: str | None,
        username: str | None,
        language_code: str | None,
    ) -> JSONDict:
        user: JSONDict = {"id": user_id, "is_bot": False, "first_name": first_name}
        if last_name:
            user["last_name"] = last_name
        if username:
            user["username"] = username
        if language_code:
            user["language_code"] = language_code
        return user

    def _register_chat(
        self,
        chat_id: int,
        chat_type: str,
        title: str | None,
        first_name: str,
        last_name: str | None,
        username: str | None,
    ) -> JSONDict:
        chat: JSONDict = {"id": chat_id, "type": chat_type}
        if chat_type == "private":
            chat["first_name"] = first_name
            if last_name:
                chat["last_name"] = last_name
            if username:
                chat["username"] = username
        else:
            chat["title"] = title or "Test group"
        self._chats[chat_id] = chat
        return chat

    def _chat(self, raw_chat_id: Any) -> JSONDict:
        chat_id = _norm_chat_id(raw_chat_id)
        if chat_id is None or chat_id == "":
            raise _ApiError(400, "Bad Request: chat_id is empty")
        if chat_id in self._chats:
            return self._chats[chat_id]
        # Unknown chats are synthesised from the id's shape (positive ids are users).
        if isinstance(chat_id, str):
            return {"id": -1001000000000, "type": "channel", "title": chat_id, "username": chat_id}
        if chat_id > 0:
            return {"id": chat_id, "type": "private", "first_name": "User"}
        chat_type = "supergroup" if str(chat_id).startswith("-100") else "group"
        return {"id": chat_id, "type": chat_type, "title": "Group"}

    def _visible_text(self, text: Any, parse_mode: Any, *, limit: int, empty_error: str) -> str:
        """Return the text Telegram would store, validating like Telegram in strict mode."""
        text = "" if text is None else str(text)
        visible = text
        if isinstance(parse_mode, str) and parse_mode.upper() == "HTML":
            visible = _parse_html(text) if self.strict else text
        if self.strict:
            if empty_error and not visible.strip():
                raise _ApiError(400, empty_error)
            if len(visible) > limit:
                too_long = (
                    "message is too long" if limit == _MAX_TEXT else "message caption is too long"
                )
                raise _ApiError(400, f"Bad Request: {too_long}")
        return visible

    def _inline_markup(self, call: Call) -> JSONDict | None:
        """The inline keyboard Telegram echoes back in the Message (other markups are not)."""
        markup = _as_markup(call.params.get("reply_markup"))
        if markup is None or "inline_keyboard" not in markup:
            return None
        if self.strict:
            rows = markup["inline_keyboard"]
            if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
                raise _ApiError(400, "Bad Request: inline keyboard must be an array of arrays")
            for button in (b for row in rows for b in row):
                if not isinstance(button, dict) or not button.get("text"):
                    raise _ApiError(400, "Bad Request: BUTTON_TEXT_EMPTY")
                actions = _INLINE_BUTTON_ACTIONS.intersection(button)
                if len(actions) != 1:
                    raise _ApiError(
                        400, "Bad Request: text buttons are unallowed in the inline keyboard"
                    )
                data = button.get("callback_data")
                if data is not None and not 1 <= len(str(data).encode()) <= _MAX_CALLBACK_DATA:
                    raise _ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
        return markup

    def _new_bot_message(self, call: Call, **content: Any) -> JSONDict:
        message: JSONDict = {
            "message_id": next(self._message_ids),
            "from": self._bot_user(call.token),
            "chat": self._chat(call.params.get("chat_id")),
            "date": int(time.time()),
        }
        message.update({k: v for k, v in content.items() if v is not None})
        self._messages[message["message_id"]] = message
        return message

    def _editable_message(self, call: Call) -> JSONDict | None:
        """The bot message targeted by an edit, or None for inline messages."""
        if call.params.get("inline_message_id"):
            return None
        message_id = _as_int(call.params.get("message_id"), 0)
        message = self._messages.get(message_id)
        chat_id = call.chat_id
        if message is None or (chat_id is not None and message["chat"]["id"] != chat_id):
            if not self.strict:
                return self._new_bot_message(call)
            raise _ApiError(400, "Bad Request: message to edit not found")
        if self.strict and not message.get("from", {}).get("is_bot"):
            raise _ApiError(400, "Bad Request: message can't be edited")
        return message

    def _resolve_file(
        self, call: Call, field_name: str
    ) -> tuple[str | None, bytes | None, str | None]:
        """(filename, content, existing file_id) of the file a send* call refers to.

        The file is an upload (multipart, possibly via ``attach://``), a known file_id being
        re-sent, or a URL (Telegram would download it; we only know its name).
        """
        if field_name in call.files:
            return *call.files[field_name], None
        ref = call.params.get(field_name)
        if not isinstance(ref, str) or not ref:
            return None, None, None
        if ref.startswith("attach://") and ref[9:] in call.files:
            return *call.files[ref[9:]], None
        if ref in self._files:
            filename, content, _ = self._files[ref]
            return filename, content, ref
        return ref.rsplit("/", 1)[-1] or None, None, None

    def _store_upload(self, call: Call, field_name: str, kind: str) -> tuple[str, JSONDict]:
        """Register the sent file; returns (file_id, file object for the Message)."""
        if field_name not in call.files and not call.params.get(field_name):
            raise _ApiError(400, f"Bad Request: there is no {field_name} in the request")
        filename, content, file_id = self._resolve_file(call, field_name)
        if file_id is None:
            file_id = self._add_file(filename, content, kind)
        return file_id, self._file_object(file_id, filename, content)

    def _add_file(self, filename: str | None, content: bytes | None, kind: str) -> str:
        number = next(self._file_ids)
        file_id = f"fake-{kind}-{number}"
        suffix = filename.rsplit(".", 1)[-1] if filename and "." in filename else "bin"
        self._files[file_id] = (filename, content, f"{kind}s/file_{number}.{suffix}")
        return file_id

    @staticmethod
    def _file_object(file_id: str, filename: str | None, content: bytes | None) -> JSONDict:
        obj: JSONDict = {"file_id": file_id, "file_unique_id": f"u{file_id}"}
        if content is not None:
            obj["file_size"] = len(content)
        if filename:
            obj["file_name"] = filename
        return obj

    def _attachment(self, call: Call) -> tuple[str | None, bytes | None]:
        field_name = {"sendDocument": "document", "sendPhoto": "photo"}.get(call.method)
        if field_name is None:
            return None, None
        filename, content, _ = self._resolve_file(call, field_name)
        return filename, content

    def _to_sent_message(self, call: Call) -> SentMessage:
        text = call.params.get(
            "caption" if call.method in ("sendDocument", "sendPhoto") else "text"
        )
        filename, content = self._attachment(call)
        result = call.result if isinstance(call.result, dict) else {}
        chat_id = call.chat_id
        if chat_id is None:
            chat_id = _norm_chat_id(result.get("chat", {}).get("id")) or ""
        return SentMessage(
            method=call.method,
            chat_id=chat_id,
            message_id=result.get("message_id")
            or _as_int(call.params.get("message_id"), 0)
            or None,
            text=None if text is None else str(text),
            parse_mode=call.params.get("parse_mode"),
            reply_markup=_as_markup(call.params.get("reply_markup")),
            filename=filename,
            content=content,
            call=call,
        )

    def _confirm_updates(self, offset: int) -> None:
        """Apply getUpdates ``offset`` semantics: forget confirmed updates."""
        before = len(self._pending_updates)
        if offset > 0:
            self._pending_updates = [u for u in self._pending_updates if u["update_id"] >= offset]
        elif offset < 0:  # "-N": keep only the last N updates, forget the rest
            self._pending_updates = self._pending_updates[offset:]
        if len(self._pending_updates) != before:
            self._changed.notify()

    # ------------------------------------------------------------------ method handlers

    async def _return_true(self, call: Call) -> bool:
        return True

    async def _get_me(self, call: Call) -> JSONDict:
        return {
            **self._bot_user(call.token),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _get_updates(self, call: Call) -> list[JSONDict]:
        if self._webhook.get("url"):
            raise _ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        params = call.params
        self._confirm_updates(_as_int(params.get("offset"), 0))
        limit = min(max(_as_int(params.get("limit"), 100), 1), 100)
        timeout = max(_as_float(params.get("timeout"), 0.0), 0.0)

        # Like Telegram, a newer getUpdates terminates an older long-poll of the same bot.
        generation = self._poll_generation.get(call.token, 0) + 1
        self._poll_generation[call.token] = generation
        self._changed.notify()

        if not self._pending_updates and timeout > 0:
            try:
                async with asyncio.timeout(timeout):
                    while not self._pending_updates and not self._closing:
                        if self._poll_generation[call.token] != generation:
                            raise _ApiError(
                                409,
                                "Conflict: terminated by other getUpdates request; make sure "
                                "that only one bot instance is running",
                            )
                        await self._changed.wait()
            except TimeoutError:
                pass
        return self._pending_updates[:limit]

    async def _set_webhook(self, call: Call) -> bool:
        # Real Telegram only accepts HTTPS URLs; local test webhooks are plain HTTP, so no check.
        url = call.params.get("url") or ""
        if call.params.get("drop_pending_updates"):
            self._drop_all_updates()
        if url:
            self._webhook = {
                "url": str(url),
                "secret_token": call.params.get("secret_token"),
                "allowed_updates": call.params.get("allowed_updates"),
                "max_connections": _as_int(call.params.get("max_connections"), 40),
            }
        else:
            self._webhook = {}
        return True

    def _drop_all_updates(self) -> None:
        if self._pending_updates:
            self._pending_updates = []
            self._changed.notify()

    async def _delete_webhook(self, call: Call) -> bool:
        if call.params.get("drop_pending_updates"):
            self._drop_all_updates()
        self._webhook = {}
        return True

    async def _get_webhook_info(self, call: Call) -> JSONDict:
        info: JSONDict = {
            "url": self._webhook.get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": len(self._pending_updates),
        }
        if self._webhook:
            info["max_connections"] = self._webhook["max_connections"]
            if self._webhook.get("allowed_updates"):
                info["allowed_updates"] = self._webhook["allowed_updates"]
        return info

    async def _send_message(self, call: Call) -> JSONDict:
        params = call.params
        text = self._visible_text(
            params.get("text"),
            params.get("parse_mode"),
            limit=_MAX_TEXT,
            empty_error="Bad Request: message text is empty",
        )
        return self._new_bot_message(call, text=text, reply_markup=self._inline_markup(call))

    async def _edit_message_text(self, call: Call) -> JSONDict | bool:
        params = call.params
        text = self._visible_text(
            params.get("text"),
            params.get("parse_mode"),
            limit=_MAX_TEXT,
            empty_error="Bad Request: message text is empty",
        )
        markup = self._inline_markup(call)
        message = self._editable_message(call)
        if message is None:
            return True
        if self.strict and message.get("text") == text and message.get("reply_markup") == markup:
            raise _ApiError(
                400,
                "Bad Request: message is not modified: specified new message content and reply "
                "markup are exactly the same as a content and reply markup of the current message",
            )
        message["text"] = text
        message["edit_date"] = int(time.time())
        # Editing without reply_markup removes the inline keyboard, as on Telegram.
        if markup is None:
            message.pop("reply_markup", None)
        else:
            message["reply_markup"] = markup
        return message

    async def _edit_message_reply_markup(self, call: Call) -> JSONDict | bool:
        markup = self._inline_markup(call)
        message = self._editable_message(call)
        if message is None:
            return True
        if self.strict and message.get("reply_markup") == markup:
            raise _ApiError(
                400,
                "Bad Request: message is not modified: specified new message content and reply "
                "markup are exactly the same as a content and reply markup of the current message",
            )
        if markup is None:
            message.pop("reply_markup", None)
        else:
            message["reply_markup"] = markup
        message["edit_date"] = int(time.time())
        return message

    async def _answer_callback_query(self, call: Call) -> bool:
        query_id = str(call.params.get("callback_query_id") or "")
        if self.strict and query_id not in self._open_callback_queries:
            raise _ApiError(
                400,
                "Bad Request: query is too old and response timeout expired or query ID is invalid",
            )
        self._open_callback_queries.discard(query_id)
        return True

    async def _send_document(self, call: Call) -> JSONDict:
        caption = self._visible_text(
            call.params.get("caption"),
            call.params.get("parse_mode"),
            limit=_MAX_CAPTION,
            empty_error="",
        )
        _file_id, document = self._store_upload(call, "document", "document")
        document.setdefault("mime_type", "application/octet-stream")
        return self._new_bot_message(
            call,
            document=document,
            caption=caption or None,
            reply_markup=self._inline_markup(call),
        )

    async def _send_photo(self, call: Call) -> JSONDict:
        caption = self._visible_text(
            call.params.get("caption"),
            call.params.get("parse_mode"),
            limit=_MAX_CAPTION,
            empty_error="",
        )
        file_id, uploaded = self._store_upload(call, "photo", "photo")
        size = uploaded.get("file_size", 0)
        photo = [
            {
                "file_id": f"{file_id}-s",
                "file_unique_id": f"u{file_id}-s",
                "width": 90,
                "height": 90,
                "file_size": min(size, 1000),
            },
            {
                "file_id": file_id,
                "file_unique_id": f"u{file_id}",
                "width": 800,
                "height": 600,
                "file_size": size,
            },
        ]
        return self._new_bot_message(
            call, photo=photo, caption=caption or None, reply_markup=self._inline_markup(call)
        )

    @staticmethod
    def _commands_key(params: JSONDict) -> tuple[str, str]:
        scope = params.get("scope")
        if isinstance(scope, str):
            scope = json.loads(scope)
        scope_key = json.dumps(scope or {"type": "default"}, sort_keys=True)
        return scope_key, str(params.get("language_code") or "")

    async def _set_my_commands(self, call: Call) -> bool:
        commands = call.params.get("commands")
        if isinstance(commands, str):
            commands = json.loads(commands)
        if not isinstance(commands, list):
            raise _ApiError(400, 'Bad Request: parameter "commands" is required')
        if self.strict:
            for command in commands:
                if not _BOT_COMMAND_RE.match(str(command.get("command", ""))):
                    raise _ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
                if not 1 <= len(str(command.get("description", ""))) <= 256:
                    raise _ApiError(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
        self._commands[self._commands_key(call.params)] = [
            {"command": c["command"], "description": c["description"]} for c in commands
        ]
        return True

    async def _delete_my_commands(self, call: Call) -> bool:
        self._commands.pop(self._commands_key(call.params), None)
        return True

    async def _get_my_commands(self, call: Call) -> list[JSONDict]:
        return self._commands.get(self._commands_key(call.params), [])

    async def _get_file(self, call: Call) -> JSONDict:
        file_id = str(call.params.get("file_id") or "")
        base_id = file_id.removesuffix("-s")
        if base_id not in self._files:
            raise _ApiError(400, "Bad Request: invalid file_id")
        filename, content, path = self._files[base_id]
        obj = self._file_object(file_id, None, content)
        obj["file_path"] = path
        return obj

    # ------------------------------------------------------------------ test-side files

    def register_file(self, content: bytes, *, filename: str, kind: str = "document") -> str:
        """Store a file (e.g. a user upload in a pushed update); returns its file_id."""
        return self._add_file(filename, content, kind)
