"""Self-tests for the fake Zalo Bot Platform API used by end-to-end tests.

They drive the fake with ``httpx.AsyncClient``, the client the real Zalo adapter uses. Only
safety timeouts depend on the clock: long polls wake on pushes, and empty polls use tiny
``timeout`` values whose only effect is how soon the 408 comes.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import pytest_asyncio
from aiohttp import web

from tests.fakes.zalo_api import FakeZaloAPI

pytestmark = pytest.mark.asyncio

TOKEN = "12345:secret"
USER = "e4ea2cd5189df1c3a88c"
SECRET = "webhook-secret-1"
SECRET_HEADER = "X-Bot-Api-Secret-Token"  # spelled out: the test checks the fake's header


@pytest_asyncio.fixture
async def zalo() -> AsyncIterator[FakeZaloAPI]:
    async with FakeZaloAPI(token=TOKEN) as fake:
        yield fake


@pytest_asyncio.fixture
async def client(zalo: FakeZaloAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=f"{zalo.base_url}/bot{TOKEN}", timeout=5) as c:
        yield c


@dataclass
class Receiver:
    """A bot-side webhook endpoint that checks the secret header, as the adapter will."""

    url: str = ""
    requests: list[tuple[str | None, Any]] = field(default_factory=list)


@pytest_asyncio.fixture
async def receiver() -> AsyncIterator[Receiver]:
    rec = Receiver()

    async def hook(request: web.Request) -> web.Response:
        secret = request.headers.get(SECRET_HEADER)
        rec.requests.append((secret, await request.json()))
        return web.json_response({"ok": True}, status=200 if secret == SECRET else 403)

    app = web.Application()
    app.router.add_post("/zalo", hook)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    rec.url = f"http://127.0.0.1:{runner.addresses[0][1]}/zalo"
    try:
        yield rec
    finally:
        await runner.cleanup()


async def test_get_me_by_post_and_get(zalo: FakeZaloAPI, client: httpx.AsyncClient) -> None:
    response = await client.post("/getMe", json={})
    assert response.status_code == 200
    assert response.json() == {
        "ok": True,
        "result": {
            "id": "12345",  # the token's prefix, as a string
            "account_name": "bot.vstbpn_test",
            "account_type": "BASIC",
            "can_join_groups": False,
        },
    }
    assert (await client.get("/getMe")).json()["ok"] is True
    assert [c.http_method for c in zalo.calls_of("getMe")] == ["POST", "GET"]


async def test_wrong_token_is_unauthorized(zalo: FakeZaloAPI) -> None:
    async with httpx.AsyncClient(base_url=zalo.base_url) as c:
        response = await c.post("/bot12345:wrong/sendMessage", json={"chat_id": USER, "text": "x"})
    assert response.status_code == 401
    assert response.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}
    assert zalo.sent_messages() == []
    assert zalo.calls[0].failed == "401"


async def test_unknown_methods_are_404(client: httpx.AsyncClient) -> None:
    for method in ("sendDocument", "editMessageText", "sendmessage"):
        response = await client.post(f"/{method}", json={"chat_id": USER, "text": "x"})
        assert response.status_code == 404, method
        assert response.json()["ok"] is False
        assert response.json()["error_code"] == 404


async def test_get_updates_returns_one_update_object_per_poll(
    zalo: FakeZaloAPI, client: httpx.AsyncClient
) -> None:
    first = zalo.push_text(USER, "xin chào", display_name="Chị Lan")
    second = zalo.push_text(USER, "lần hai")

    body = (await client.post("/getUpdates", json={"timeout": 30})).json()
    assert body["ok"] is True
    update = body["result"]
    assert isinstance(update, dict)  # one object, not a list
    assert update == first
    assert update["event_name"] == "message.text.received"
    message = update["message"]
    assert message["text"] == "xin chào"
    assert message["chat"] == {"id": USER, "chat_type": "PRIVATE"}
    assert message["from"] == {"id": USER, "display_name": "Chị Lan", "is_bot": False}
    assert isinstance(message["date"], int) and message["date"] > 10**12  # milliseconds

    # Form-encoded bodies work too (values arrive as strings).
    body2 = (await client.post("/getUpdates", data={"timeout": "30"})).json()
    assert body2["result"] == second
    assert zalo.consumed_updates == [first, second]
    assert zalo.updates_pending() == 0


async def test_ids_are_unique_strings(zalo: FakeZaloAPI, client: httpx.AsyncClient) -> None:
    updates = [
        zalo.push_text(USER, "a"),
        zalo.push_event(USER, "image", caption="ảnh"),
        zalo.push_event(USER, "sticker"),
        zalo.push_event(USER, "unsupported"),
    ]
    ids = [u["message"]["message_id"] for u in updates]
    assert all(isinstance(i, str) for i in ids)
    assert len(set(ids)) == 4
    assert [u["event_name"] for u in updates] == [
        "message.text.received",
        "message.image.received",
        "message.sticker.received",
        "message.unsupported.received",
    ]
    assert updates[1]["message"]["photo"].startswith("https://")
    assert "text" not in updates[3]["message"]

    sent = (await client.post("/sendMessage", json={"chat_id": USER, "text": "chào"})).json()
    assert isinstance(sent["result"]["message_id"], str)
    assert sent["result"]["message_id"] not in ids
    assert isinstance(sent["result"]["date"], int)
    assert isinstance(
        zalo.push_text(123, "int id is turned into a string")["message"]["chat"]["id"], str
    )


async def test_pending_poll_returns_as_soon_as_an_update_is_pushed(
    zalo: FakeZaloAPI, client: httpx.AsyncClient
) -> None:
    poll = asyncio.create_task(client.post("/getUpdates", json={"timeout": 30}))
    await zalo.wait_for(lambda: zalo.calls_of("getUpdates"))
    assert not poll.done()
    pushed = zalo.push_text(USER, "đến rồi")
    response = await asyncio.wait_for(poll, 5)  # far below the poll's own 30 s
    assert response.status_code == 200
    assert response.json()["result"] == pushed


async def test_empty_poll_ends_with_408(zalo: FakeZaloAPI, client: httpx.AsyncClient) -> None:
    response = await client.post("/getUpdates", json={"timeout": 0.05})
    assert response.status_code == 408
    assert response.json() == {"ok": False, "error_code": 408, "description": "Request timeout"}
    assert zalo.calls_of("getUpdates")[0].failed == "408"
    # An update pushed after the empty poll is not lost.
    pushed = zalo.push_text(USER, "sau")
    assert (await client.post("/getUpdates", json={"timeout": "0"})).json()["result"] == pushed


async def test_duplicate_delivery(zalo: FakeZaloAPI, client: httpx.AsyncClient) -> None:
    update = zalo.push_text(USER, "hai lần", repeat=2)
    zalo.redeliver()
    results = [
        (await client.post("/getUpdates", json={"timeout": 1})).json()["result"] for _ in range(3)
    ]
    assert results == [update, update, update]
    assert len({r["message"]["message_id"] for r in results}) == 1


async def test_webhook_lifecycle_and_get_updates_conflict(
    zalo: FakeZaloAPI, client: httpx.AsyncClient
) -> None:
    short = await client.post(
        "/setWebhook", json={"url": "https://bot.example/z", "secret_token": "short"}
    )
    assert short.status_code == 400 and short.json()["error_code"] == 400
    assert zalo.webhook is None

    set_ = await client.post(
        "/setWebhook", json={"url": "https://bot.example/z", "secret_token": SECRET}
    )
    assert set_.json()["result"]["url"] == "https://bot.example/z"
    assert isinstance(set_.json()["result"]["updated_at"], int)
    assert zalo.webhook is not None and zalo.webhook.secret_token == SECRET
    info = (await client.post("/getWebhookInfo")).json()["result"]
    assert info["url"] == "https://bot.example/z"

    conflict = await client.post("/getUpdates", json={"timeout": 0.05})
    assert conflict.status_code == 400
    assert conflict.json()["ok"] is False and conflict.json()["error_code"] == 400

    deleted = (await client.post("/deleteWebhook")).json()
    assert deleted["result"]["url"] == ""
    assert zalo.webhook is None
    assert (await client.post("/getUpdates", json={"timeout": 0.05})).status_code == 408


@pytest.mark.parametrize("shape", ["flat", "wrapped"])
async def test_webhook_delivery_with_secret_header(
    zalo: FakeZaloAPI, client: httpx.AsyncClient, receiver: Receiver, shape: str
) -> None:
    zalo.webhook_shape = shape  # type: ignore[assignment]
    await client.post("/setWebhook", json={"url": receiver.url, "secret_token": SECRET})

    update = zalo.push_text(USER, "qua webhook")
    await zalo.wait_until_consumed()
    [delivery] = zalo.webhook_deliveries
    assert (delivery.status, delivery.shape) == (200, shape)
    [(secret, body)] = receiver.requests
    assert secret == SECRET
    assert body == (update if shape == "flat" else {"ok": True, "result": update})
    assert zalo.updates_pending() == 0

    # A wrong secret is refused by the bot; the fake records the status it got.
    wrong = await zalo.deliver_via_webhook(update, secret_token="not-the-secret")
    assert wrong.status == 403
    assert receiver.requests[-1][0] == "not-the-secret"


async def test_webhook_shape_override_per_delivery(
    zalo: FakeZaloAPI, client: httpx.AsyncClient, receiver: Receiver
) -> None:
    await client.post("/setWebhook", data={"url": receiver.url, "secret_token": SECRET})
    update = zalo.make_update(USER, "text", text="x")
    await zalo.deliver_via_webhook(update, shape="wrapped")
    await zalo.deliver_via_webhook(update, shape="flat")
    assert [body for _, body in receiver.requests] == [{"ok": True, "result": update}, update]


async def test_send_message_limits(zalo: FakeZaloAPI, client: httpx.AsyncClient) -> None:
    too_long = await client.post("/sendMessage", json={"chat_id": USER, "text": "a" * 2001})
    assert too_long.status_code == 400
    assert too_long.json() == {"ok": False, "error_code": 400, "description": "text too long"}
    empty = await client.post("/sendMessage", json={"chat_id": USER, "text": ""})
    assert empty.json()["description"] == "text is required"
    int_chat = await client.post("/sendMessage", json={"chat_id": 42, "text": "x"})
    assert int_chat.status_code == 400  # ids are strings

    ok = await client.post("/sendMessage", json={"chat_id": USER, "text": "ă" * 2000})
    assert ok.status_code == 200
    [sent] = zalo.sent_messages(USER)
    assert (sent.method, sent.text, sent.message_id) == (
        "sendMessage",
        "ă" * 2000,
        ok.json()["result"]["message_id"],
    )


async def test_send_photo_sticker_and_chat_action(
    zalo: FakeZaloAPI, client: httpx.AsyncClient
) -> None:
    url = "https://img.example/chart.png"
    photo = await client.post(
        "/sendPhoto", json={"chat_id": USER, "photo": url, "caption": "Biểu đồ"}
    )
    assert photo.status_code == 200
    bad = await client.post("/sendPhoto", json={"chat_id": USER, "photo": "chart.png"})
    assert bad.status_code == 400
    upload = await client.post(
        "/sendPhoto", data={"chat_id": USER}, files={"photo": ("c.png", b"\x89PNG")}
    )
    assert upload.status_code == 400  # Zalo takes URLs, not uploads
    long_caption = await client.post(
        "/sendPhoto", json={"chat_id": USER, "photo": url, "caption": "c" * 2001}
    )
    assert long_caption.status_code == 400

    sticker = await client.post("/sendSticker", json={"chat_id": USER, "sticker": "abc"})
    assert sticker.status_code == 200
    typing = await client.post("/sendChatAction", json={"chat_id": USER, "action": "typing"})
    assert typing.json() == {"ok": True}
    dance = await client.post("/sendChatAction", json={"chat_id": USER, "action": "dance"})
    assert dance.status_code == 400

    [sent] = zalo.sent_messages(USER)  # stickers/actions are not "messages"; failures excluded
    assert (sent.method, sent.photo, sent.caption, sent.text) == (
        "sendPhoto",
        url,
        "Biểu đồ",
        "Biểu đồ",
    )


async def test_fail_next_403_then_success(zalo: FakeZaloAPI, client: httpx.AsyncClient) -> None:
    zalo.fail_next("sendMessage", "403", chat_id=USER)
    other = await client.post("/sendMessage", json={"chat_id": "other", "text": "x"})
    assert other.status_code == 200  # the rule only targets USER

    blocked = await client.post("/sendMessage", json={"chat_id": USER, "text": "x"})
    assert blocked.status_code == 403
    body = blocked.json()
    assert body["ok"] is False and body["error_code"] == 403 and body["description"]
    assert zalo.sent_messages(USER) == []

    again = await client.post("/sendMessage", json={"chat_id": USER, "text": "y"})
    assert again.status_code == 200
    assert [m.text for m in await zalo.wait_for_messages(USER, 1)] == ["y"]
    assert [c.failed for c in zalo.calls_of("sendMessage")] == [None, "403", None]


@pytest.mark.parametrize("kind", ["429", "500"])
async def test_fail_next_http_errors(
    zalo: FakeZaloAPI, client: httpx.AsyncClient, kind: str
) -> None:
    zalo.fail_next("getMe", kind)  # type: ignore[arg-type]
    response = await client.post("/getMe")
    assert response.status_code == int(kind)
    assert response.json()["error_code"] == int(kind)
    assert (await client.post("/getMe")).status_code == 200


async def test_fail_next_timeout_never_delivers(
    zalo: FakeZaloAPI, client: httpx.AsyncClient
) -> None:
    zalo.fail_next("sendMessage", "timeout")  # held for 30 s, far beyond the client's timeout
    with pytest.raises(httpx.TimeoutException):
        await client.post("/sendMessage", json={"chat_id": USER, "text": "x"}, timeout=0.2)
    assert zalo.calls_of("sendMessage")[0].failed == "timeout"
    assert zalo.sent_messages() == []

    zalo.delay = 30  # every answer now waits
    with pytest.raises(httpx.TimeoutException):
        await client.post("/getMe", timeout=0.2)
    zalo.delay = 0
    assert (
        await client.post("/sendMessage", json={"chat_id": USER, "text": "y"})
    ).status_code == 200
    assert [m.text for m in zalo.sent_messages(USER)] == ["y"]
