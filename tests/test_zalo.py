"""Zalo end to end over HTTP: the real adapter (httpx) against the fake Zalo Bot API, the
bot's own web server for webhooks and download links, and the signed links themselves."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from bot.app import configured_channels, start_channel, web_server
from bot.channels import files as download
from bot.channels import zalo as zalo_module
from bot.channels.web import WebServer
from bot.channels.zalo import ZaloChannel
from bot.config import SettingsError
from bot.context import AppContext
from bot.messages import Choice, OutFile, Reply
from bot.models import (
    Answer,
    ChatAccount,
    Checkin,
    Conversation,
    FileLink,
    Member,
    Response,
    Responsible,
    Role,
    SeenUpdate,
)
from bot.services import duties, files, members
from bot.views.reminders import render
from scheduler import planner
from scheduler.dispatcher import Dispatcher
from tests.conftest import VN, VirtualTime, add_unit, make_invite, make_settings
from tests.fakes.zalo_api import FakeZaloAPI, SentMessage
from tests.test_dispatcher import disable_catalog

TOKEN = "12345:secret"
SECRET = "s3cret-Zalo_hook-value"
ADMIN, AN, STRANGER = "z-admin-1", "z-an-2", "z-stranger-3"
PNG = b"\x89PNG\r\n\x1a\n"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(autouse=True)
def short_polls(monkeypatch: pytest.MonkeyPatch) -> None:
    """Long polls of a second: an idle bot polls again (HTTP 408) instead of waiting 30 s."""
    monkeypatch.setattr(zalo_module, "POLL_SECONDS", 1)


@pytest.fixture
async def zalo() -> AsyncIterator[FakeZaloAPI]:
    async with FakeZaloAPI(token=TOKEN) as fake:
        yield fake


def zalo_settings(database_url: str, zalo: FakeZaloAPI, port: int, **overrides: object):
    values: dict[str, object] = {
        "telegram_token": None, "zalo_token": TOKEN, "zalo_base_url": zalo.base_url,
        "public_url": f"http://127.0.0.1:{port}", "webhook_listen": "127.0.0.1",
        "webhook_port": port,
    }
    values.update(overrides)
    return make_settings(database_url, **values)


@dataclass
class Running:
    app: AppContext
    zalo: FakeZaloAPI
    web: WebServer
    channel: ZaloChannel

    @property
    def public(self) -> str:
        public = self.app.settings.public_url
        assert public is not None
        return public


@pytest.fixture
async def bot(database_url: str, clock, zalo: FakeZaloAPI) -> AsyncIterator[Running]:
    """Only Zalo configured, in polling mode, with a public address for download links: as
    `vstbpn run` wires it (configured_channels, the web server, then the channel)."""
    settings = zalo_settings(database_url, zalo, free_port())
    app = await AppContext.create(settings, clock=clock)
    web = web_server(settings)
    (channel,) = configured_channels(app, web)
    assert isinstance(channel, ZaloChannel)
    await web.start()
    await start_channel(app, channel)
    running = Running(app, zalo, web, channel)
    try:
        yield running
    finally:
        await web.stop()
        await running.channel.stop()
        await app.close()


async def ask(zalo: FakeZaloAPI, user: str, text: str, count: int = 1) -> list[SentMessage]:
    """Send ``text`` as ``user``; the ``count`` messages the bot sent back."""
    before = len(zalo.sent_messages(user))
    zalo.push_text(user, text, display_name=f"Người {user}")
    return (await zalo.wait_for_messages(user, before + count))[before:]


async def say(zalo: FakeZaloAPI, user: str, text: str) -> str:
    (answer,) = await ask(zalo, user, text)
    return answer.text or ""


def number_of(text: str, label: str) -> str:
    """The number a numbered choice was given ('2. Cổng/…' → '2')."""
    for line in text.splitlines():
        number, dot, rest = line.partition(". ")
        if dot and number.isdigit() and rest.startswith(label):
            return number
    raise AssertionError(f"no numbered choice {label!r} in:\n{text}")


async def raw_post(port: int, secret: str, length: int) -> int:
    """POST /zalo declaring a ``length``-byte body without sending it: the answer's status."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write((f"POST /zalo HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                      f"X-Bot-Api-Secret-Token: {secret}\r\nContent-Type: application/json\r\n"
                      f"Content-Length: {length}\r\n\r\n").encode())
        await writer.drain()
        status_line = await asyncio.wait_for(reader.readline(), 5)
        return int(status_line.split()[1])
    finally:
        writer.close()


async def count(app: AppContext, model) -> int:
    async with app.sessions() as session:
        return await session.scalar(select(func.count()).select_from(model)) or 0


# --- polling, end to end ------------------------------------------------------------------


async def test_a_member_joins_is_reminded_checks_in_and_sees_the_summary_on_zalo(
    bot: Running, clock, zalo: FakeZaloAPI
) -> None:
    app = bot.app
    # Polling: any webhook is deleted first (getUpdates is refused while one is set).
    await zalo.wait_for(lambda: zalo.calls_of("getUpdates"))
    methods = [c.method for c in zalo.calls]
    assert methods[:3] == ["getMe", "deleteWebhook", "getUpdates"], zalo.dump()
    assert zalo.calls_of("getUpdates")[0].params["timeout"] == 1
    assert bot.channel.caps.files and not bot.channel.caps.buttons
    assert app.deep_link("zalo") is None  # Zalo has no link that carries a code
    unit = await add_unit(app, "Sở Lao động")
    await disable_catalog(app, unit)

    # A stranger learns how to join; an invite code joins them (no deep link: sent as text).
    assert "Để tham gia" in await say(zalo, STRANGER, "xin chào")
    admin_code = await make_invite(app, unit, Role.admin)
    welcome = await say(zalo, ADMIN, admin_code)
    assert "Chào mừng Người z-admin-1" in welcome and "quản trị" in welcome
    member_code = await make_invite(app, unit, Role.member)
    assert "Chào mừng" in await say(zalo, AN, f"/start {member_code}")
    async with app.sessions() as session:
        an = await members.active_member_for(session, "zalo", AN)
        assert an is not None and an.role == Role.member and an.unit_id == unit
        (account,) = await session.scalars(select(ChatAccount).where(
            ChatAccount.member_id == an.id))
        assert (account.channel, account.external_id, account.chat_id) == ("zalo", AN, AN)
        an_id = an.id

    # /help by role; /group has no meaning on Zalo.
    admin_help, member_help = await say(zalo, ADMIN, "/help"), await say(zalo, AN, "/help")
    assert "/invite" in admin_help and "/invite" not in member_help and "/checkin" in member_help
    assert "chưa hỗ trợ nhóm trò chuyện" in await say(zalo, ADMIN, "/group")

    # A reminder, through the outbox and the Zalo channel as its sender: numbered answers.
    async with app.sessions() as session, session.begin():
        await duties.add_deadline(session, unit_id=unit, title="Báo cáo quý I",
                                  due_on=date(2026, 3, 13), now=clock.now(), stages="0",
                                  responsible=Responsible.everyone)
    vt = VirtualTime()
    dispatcher = Dispatcher(app, [bot.channel], render, monotonic=vt.monotonic, sleep=vt.sleep)
    clock.set(datetime(2026, 3, 13, 8, 0, tzinfo=VN))
    await planner.plan(app)
    assert (await dispatcher.run_once()).sent == 2  # the admin and An
    (reminder,) = zalo.sent_messages(AN)[-1:]
    text = reminder.text or ""
    assert reminder.method == "sendMessage" and "«Báo cáo quý I»" in text
    assert text.splitlines()[-1] == "(trả lời bằng số)"
    done = number_of(text, "✅")
    assert done == "1"
    answer = await say(zalo, AN, done)
    assert "hoàn thành" in answer, answer
    async with app.sessions() as session:
        assert await session.scalar(select(Response.answer).where(
            Response.member_id == an_id)) == Answer.done

    # A check-in through the numbered form: the channel's options by number, then Save.
    first = await say(zalo, AN, "/checkin bài https://phunu.gov.vn/a 12/3")
    assert "Tiêu đề của tin, bài là gì?" in first.splitlines(), first
    question = await say(zalo, AN, "Phụ nữ với chuyển đổi số")
    assert "Tin, bài được đăng ở đâu?" in question.splitlines(), question
    summary = await say(zalo, AN, number_of(question, "Cổng/trang thông tin điện tử"))
    assert "Đường dẫn: https://phunu.gov.vn/a" in summary.splitlines()
    saved = await say(zalo, AN, number_of(summary, "Lưu"))
    assert saved.startswith("Đã lưu"), saved
    async with app.sessions() as session:
        (row,) = await session.scalars(select(Checkin))
    assert (row.channel, row.member_id, row.activity) == ("zalo", an_id, "article")
    assert row.fields["channel"] == "portal"

    # /summary: the chart goes as a picture by URL on this bot's web server, text as caption.
    (chart,) = await ask(zalo, ADMIN, "/summary")
    assert chart.method == "sendPhoto" and chart.photo is not None
    assert chart.photo.startswith(f"{bot.public}/files/")
    assert "Sở Lao động" in (chart.caption or "")
    async with httpx.AsyncClient() as http:
        picture = await http.get(chart.photo)
    assert picture.status_code == 200 and picture.headers["content-type"] == "image/png"
    assert picture.content.startswith(PNG)
    assert picture.headers["content-disposition"] == "inline"
    assert "no-store" in picture.headers["cache-control"]
    async with app.sessions() as session:
        (link,) = await session.scalars(select(FileLink))
        admin = await members.active_member_for(session, "zalo", ADMIN)
    assert admin is not None and link.member_id == admin.id  # the link is the admin's
    assert all(len(c.params["text"]) <= 2000 for c in zalo.calls_of("sendMessage"))
    assert zalo.calls_of("sendDocument") == []


async def test_other_files_go_as_download_links(bot: Running, clock,
                                                zalo: FakeZaloAPI) -> None:
    unit = await add_unit(bot.app, "Sở Tư pháp")
    await disable_catalog(bot.app, unit)
    await say(zalo, ADMIN, await make_invite(bot.app, unit, Role.admin))
    word, excel = await ask(zalo, ADMIN, "/report", count=2)
    assert zalo.calls_of("sendDocument") == []  # Zalo takes no uploads
    urls = []
    for sent, extension in ((word, ".docx"), (excel, ".xlsx")):
        assert sent.method == "sendMessage"
        line = (sent.text or "").splitlines()[-1]
        assert line.startswith("📎 bao-cao-so-tu-phap-") and extension in line, sent.text
        assert "(đường dẫn có hiệu lực trong 3 ngày)" in line
        urls.append(line.rsplit(" ", 1)[-1])
    assert all(url.startswith(f"{bot.public}/files/") for url in urls)
    async with httpx.AsyncClient() as http:
        docx = await http.get(urls[0])
        xlsx = await http.get(urls[1])
    for got, extension in ((docx, ".docx"), (xlsx, ".xlsx")):
        assert got.status_code == 200 and got.content.startswith(b"PK")  # zip containers
        assert got.headers["content-disposition"] == (
            f'attachment; filename="bao-cao-so-tu-phap-2026-H1{extension}"')

    # Past three days the links open nothing, and their files leave the database with the
    # next update the channel takes in (it tidies up at most once a day).
    assert await count(bot.app, FileLink) == 2
    clock.advance(timedelta(days=3, seconds=1))
    async with httpx.AsyncClient() as http:
        assert (await http.get(urls[0])).status_code == 404
    await say(zalo, ADMIN, "/whoami")
    assert await count(bot.app, FileLink) == 0


async def test_a_reminders_numbers_do_not_take_over_a_dialogue(
    bot: Running, zalo: FakeZaloAPI
) -> None:
    unit = await add_unit(bot.app, "Sở Giáo dục")
    await say(zalo, AN, await make_invite(bot.app, unit, Role.member))
    reminder = Reply("🔔 Nhắc việc", (Choice("✅ Đã xong", "done:999999"),
                                     Choice("🚫 Không áp dụng", "na:999999")))

    # Mid check-in, a reminder arrives: "1" still answers the check-in's question.
    await say(zalo, AN, "/checkin bài https://phunu.gov.vn/a 12/3")
    question = await say(zalo, AN, "Phụ nữ với chuyển đổi số")
    assert "Tin, bài được đăng ở đâu?" in question.splitlines()
    assert (await bot.channel.send(AN, [reminder])).outcome == "ok"
    assert "1. ✅ Đã xong" in (zalo.sent_messages(AN)[-1].text or "")
    answer = await say(zalo, AN, "1")
    assert "Đăng trên: Cổng/trang thông tin điện tử" in answer.splitlines(), answer
    await say(zalo, AN, "/cancel")

    # With no dialogue under way, the reminder's numbers are its choices ("2": its second).
    assert (await bot.channel.send(AN, [reminder])).outcome == "ok"
    assert await say(zalo, AN, "3") == "Anh/chị vui lòng trả lời bằng một trong các số từ 1 đến 2."
    assert await say(zalo, AN, "2") == (  # na:999999, a duty long gone
        "Lời nhắc này không còn hiệu lực. Gửi /duties để xem các nhiệm vụ.")


async def test_long_texts_are_cut_at_line_breaks(bot: Running, zalo: FakeZaloAPI) -> None:
    unit = await add_unit(bot.app, "Sở Nội vụ")
    await say(zalo, ADMIN, await make_invite(bot.app, unit, Role.admin))
    lines = [f"{i:03d} " + "Bình đẳng giới " * 6 for i in range(60)]  # ~5,500 characters
    long = "\n".join(lines)
    before = len(zalo.sent_messages(ADMIN))
    delivery = await bot.channel.send(ADMIN, [Reply(long)])
    assert delivery.outcome == "ok"
    parts = [m.text or "" for m in zalo.sent_messages(ADMIN)[before:]]
    assert len(parts) == 3 and all(len(p) <= 2000 for p in parts)
    assert "\n".join(parts) == long  # nothing lost, every cut at a line break
    assert all(p.splitlines()[0] in lines and p.splitlines()[-1] in lines for p in parts)
    assert not any(len(c.params.get("text", "")) > 2000 for c in zalo.calls_of("sendMessage"))

    # A picture whose text is too long for a caption: the text first, then the picture alone.
    before = len(zalo.sent_messages(ADMIN))
    picture = OutFile("chart.png", PNG + b"...", "image/png")
    assert (await bot.channel.send(ADMIN, [Reply(long, file=picture)])).outcome == "ok"
    sent = zalo.sent_messages(ADMIN)[before:]
    assert [m.method for m in sent] == ["sendMessage"] * 3 + ["sendPhoto"]
    assert sent[-1].caption is None and sent[-1].photo.startswith(f"{bot.public}/files/")


async def test_a_duplicate_update_is_handled_once_also_after_a_restart(
    bot: Running, zalo: FakeZaloAPI
) -> None:
    app = bot.app
    unit = await add_unit(app, "Sở Xây dựng")
    await say(zalo, AN, await make_invite(app, unit, Role.member))
    update = zalo.push_text(AN, "/whoami")
    (whoami,) = (await zalo.wait_for_messages(AN, 2))[1:]
    assert "Vai trò" in (whoami.text or "")

    async def replies_after_redelivery() -> int:
        zalo.redeliver(update)
        marker = zalo.push_text(AN, "/help")  # handled after the repeat: one worker, in order
        await zalo.wait_for(lambda: any(
            m.text and "/checkin" in m.text for m in zalo.sent_messages(AN)[-1:]))
        assert marker["message"]["message_id"] != update["message"]["message_id"]
        return sum("Vai trò" in (m.text or "") for m in zalo.sent_messages(AN))

    assert await replies_after_redelivery() == 1
    # A new process (a new channel on the same database) remembers what it took in.
    await bot.channel.stop()
    bot.channel = ZaloChannel(app)
    await start_channel(app, bot.channel)
    assert await replies_after_redelivery() == 1
    async with app.sessions() as session:
        seen = list(await session.scalars(select(SeenUpdate.update_id).where(
            SeenUpdate.update_id == update["message"]["message_id"])))
    assert len(seen) == 1


async def test_polling_backs_off_when_the_api_fails(database_url: str, clock,
                                                    zalo: FakeZaloAPI) -> None:
    settings = zalo_settings(database_url, zalo, free_port(), public_url=None)
    app = await AppContext.create(settings, clock=clock)
    waits: list[float] = []
    resumed = asyncio.Event()

    async def sleep(seconds: float) -> None:  # no real waiting: the waits are recorded
        waits.append(seconds)
        if len(waits) == 3:
            resumed.set()

    zalo.fail_next("getUpdates", "502", times=3)
    channel = ZaloChannel(app, sleep=sleep)
    assert not channel.caps.files  # no public address: no download links
    await start_channel(app, channel)
    try:
        await asyncio.wait_for(resumed.wait(), 5)
        assert waits == [1.0, 2.0, 4.0]
        assert "Để tham gia" in await say(zalo, STRANGER, "xin chào")  # then it polls on
    finally:
        await channel.stop()
        await app.close()


# --- webhook mode ---------------------------------------------------------------------------


@pytest.fixture
async def hooked(database_url: str, clock, zalo: FakeZaloAPI) -> AsyncIterator[Running]:
    settings = zalo_settings(database_url, zalo, free_port(), zalo_mode="webhook",
                             zalo_webhook_secret=SECRET)
    app = await AppContext.create(settings, clock=clock)
    web = web_server(settings)
    (channel,) = configured_channels(app, web)
    assert isinstance(channel, ZaloChannel)
    await web.start()
    await start_channel(app, channel)
    try:
        yield Running(app, zalo, web, channel)
    finally:
        await web.stop()
        await channel.stop()
        await app.close()


async def test_webhook_takes_updates_with_the_secret_only(
    hooked: Running, zalo: FakeZaloAPI
) -> None:
    app, url = hooked.app, f"{hooked.public}/zalo"
    assert zalo.webhook is not None
    assert (zalo.webhook.url, zalo.webhook.secret_token) == (url, SECRET)
    assert zalo.calls_of("getUpdates") == [] and zalo.calls_of("deleteWebhook") == []

    # Zalo's own delivery (the right secret), flat and wrapped in {ok, result}: both answered.
    zalo.push_text(STRANGER, "xin chào")
    (first,) = await zalo.wait_for_messages(STRANGER, 1)
    assert "Để tham gia" in (first.text or "")
    assert [d.status for d in zalo.webhook_deliveries] == [200]
    wrapped = await zalo.deliver_via_webhook(zalo.make_update(STRANGER, text="chào"),
                                             shape="wrapped")
    assert wrapped.status == 200
    await zalo.wait_for_messages(STRANGER, 2)
    flat = await zalo.deliver_via_webhook(zalo.make_update(STRANGER, text="alo"), shape="flat")
    assert flat.status == 200
    await zalo.wait_for_messages(STRANGER, 3)
    await hooked.channel.queue.join()  # every taken update handled: the worker is idle

    rows = {m: await count(app, m) for m in (SeenUpdate, Conversation, Member)}
    touched: list[str] = []

    def no_database():  # a refused request must not open a session
        touched.append("sessions")
        raise AssertionError("the database was touched")

    real_sessions, app.sessions = app.sessions, no_database  # type: ignore[assignment]
    try:
        update = zalo.make_update(STRANGER, text="xin chào")
        wrong = await zalo.deliver_via_webhook(update, secret_token="not-the-secret")
        missing = await zalo.deliver_via_webhook(update, secret_token="")
        assert (wrong.status, missing.status) == (403, 403)
        headers = {"X-Bot-Api-Secret-Token": SECRET, "Content-Type": "application/json"}
        async with httpx.AsyncClient() as http:
            bad_json = await http.post(url, content=b'{"message": ', headers=headers)
            not_update = await http.post(url, json={"ok": True, "result": [1]}, headers=headers)
            # A declared length over the limit is refused before any of the body is read.
            too_big = await raw_post(hooked.web.port, SECRET, 300 * 1024)
            stranger_big = await raw_post(hooked.web.port, "wrong-secret", 300 * 1024)

            async def chunks():  # no length declared: cut off once it passes 256 KB
                for _ in range(32):
                    yield b"a" * 8192
                yield b"a"

            streamed = await http.post(url, content=chunks(), headers=headers)
        assert streamed.request.headers.get("transfer-encoding") == "chunked"
        assert bad_json.status_code == 400 and not_update.status_code == 400
        assert too_big == 413 and streamed.status_code == 413
        assert stranger_big == 403  # the secret is checked before the size
        assert hooked.channel.queue.empty()
    finally:
        app.sessions = real_sessions  # type: ignore[method-assign]
    assert touched == []
    assert {m: await count(app, m) for m in rows} == rows
    assert len(zalo.sent_messages(STRANGER)) == 3  # nothing answered the refused ones


# --- signed, expiring download links -----------------------------------------------------


async def test_download_links_expire_resist_tampering_and_die_with_their_member(
    app: AppContext, clock
) -> None:
    port = free_port()
    web = WebServer("127.0.0.1", port)
    web.add_route(download.PATH, download.download(app), methods=["GET"])
    unit = await add_unit(app, "Sở Y tế")
    async with app.sessions() as session, session.begin():
        lan = await members.register(session, unit_id=unit, role=Role.member, full_name="Lan",
                                     language="vi", channel="zalo", external_id="z-lan",
                                     chat_id="z-lan", now=clock.now())
        mai = await members.register(session, unit_id=unit, role=Role.member, full_name="Mai",
                                     language="vi", channel="zalo", external_id="z-mai",
                                     chat_id="z-mai", now=clock.now())
        lan_token = await files.issue(session, lan.id, "Đề án báo cáo.docx", "application/x-test",
                                      b"Lan's report", clock.now())
        mai_token = await files.issue(session, mai.id, "x.docx", "application/x-test",
                                      b"Mai's report", clock.now())
        mai_id = mai.id
    base = f"http://127.0.0.1:{port}/files/"
    await web.start()
    try:
        async with httpx.AsyncClient() as http:
            async def status(token: str) -> int:
                return (await http.get(base + token)).status_code

            valid = await http.get(base + lan_token)
            assert valid.status_code == 200 and valid.content == b"Lan's report"
            assert valid.headers["content-disposition"] == \
                'attachment; filename="De-an-bao-cao.docx"'

            link_id, expires, signature = lan_token.split(".")
            other_id, other_expires, other_signature = mai_token.split(".")
            flipped = ("0" if signature[0] != "0" else "1") + signature[1:]
            tampered = [
                f"{link_id}.{expires}.{flipped}",  # a character of the signature
                f"{other_id}.{expires}.{signature}",  # another file with this link's signature
                f"{link_id}.{int(expires) + 86400}.{signature}",  # a later expiry
                f"{link_id}.{expires}.{signature.upper()}",
                f"{link_id}.{expires}",
                "../../etc/passwd",
                f"{int(link_id) + 100}.{expires}.{signature}",  # no such file
            ]
            for token in tampered:
                assert await status(token) == 404, token

            # The member removed: their links open nothing (the other member's still work).
            async with app.sessions() as session, session.begin():
                mai = await members.by_id(session, mai_id)
                assert mai is not None
                await members.remove(session, mai, clock.now())
            assert await status(mai_token) == 404
            assert await status(lan_token) == 200

            # Three days on, the link has expired.
            clock.advance(timedelta(days=3) - timedelta(seconds=1))
            assert await status(lan_token) == 200
            clock.advance(timedelta(seconds=2))
            gone = await http.get(base + lan_token)
            assert gone.status_code == 404 and b"Lan" not in gone.content
    finally:
        await web.stop()
    # Expired links are cleaned up, content and all.
    async with app.sessions() as session, session.begin():
        assert await files.forget_expired(session, clock.now()) == 2
    assert await count(app, FileLink) == 0


# --- wiring and start-up ------------------------------------------------------------------


async def test_configured_channels_follow_the_tokens(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'wiring.db'}"

    async def names(**overrides: object) -> list[str]:
        app = await AppContext.create(make_settings(url, **overrides), migrate=False)
        try:
            channels = configured_channels(app)
            for channel in channels:
                if isinstance(channel, ZaloChannel):
                    await channel.client.close()
            return [c.name for c in channels]
        finally:
            await app.close()

    assert await names(telegram_token=None, zalo_token=TOKEN) == ["zalo"]
    assert await names(zalo_token=TOKEN) == ["telegram", "zalo"]
    assert await names() == ["telegram"]


async def test_a_refused_token_stops_the_start_with_one_line(
    tmp_path: Path, zalo: FakeZaloAPI
) -> None:
    settings = zalo_settings(f"sqlite+aiosqlite:///{tmp_path / 'refused.db'}", zalo,
                             free_port(), zalo_token="12345:not-the-token")
    app = await AppContext.create(settings, migrate=False)
    try:
        with pytest.raises(SettingsError) as refused:
            await ZaloChannel(app).start()
    finally:
        await app.close()
    message = str(refused.value)
    assert "VSTBPN_ZALO_TOKEN" in message and "\n" not in message
    assert "not-the-token" not in message  # the token itself is never shown
    assert [c.status for c in zalo.calls_of("getMe")] == [401]
