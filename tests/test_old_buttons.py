"""Old buttons: a choice counts only for the question it answers, in its current state."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select

from bot.channels.console import CHANNEL, ConsoleChat
from bot.messages import Capabilities, Inbound
from bot.models import Member, Occurrence, OutboxMessage, Responsible, Role
from bot.services import duties
from handlers.router import handle
from scheduler import planner
from tests.conftest import VN, add_unit, make_invite

BUTTONS = Capabilities(buttons=True, max_text=4096)


async def press(app, who: str, value: str) -> str:
    (reply,) = await handle(app, Inbound(CHANNEL, who, who, choice=value), BUTTONS)
    assert reply.replaces_origin  # on Telegram the pressed message is replaced
    return reply.text


async def test_yes_after_no_removes_nobody(app) -> None:
    unit = await add_unit(app, "Sở Nội vụ")
    admin = ConsoleChat(app, "boss", "Boss")
    await admin.say(await make_invite(app, unit, Role.admin))
    await ConsoleChat(app, "lan", "Lan").say(await make_invite(app, unit))
    async with app.sessions() as session:
        lan = await session.scalar(select(Member).where(Member.full_name == "Lan"))
        assert lan is not None
    await admin.say(f"/remove {lan.id}")
    assert "Đã hủy" in await press(app, "boss", "remove:no")
    assert "đã được trả lời" in await press(app, "boss", f"remove:yes:{lan.id}")
    async with app.sessions() as session:
        assert (await session.get(Member, lan.id)).active  # type: ignore[union-attr]
    # Asked again, "yes" removes; pressing it twice does nothing more.
    await admin.say(f"/remove {lan.id}")
    assert await press(app, "boss", f"remove:yes:{lan.id}") == "Đã xóa Lan."
    async with app.sessions() as session:
        assert not (await session.get(Member, lan.id)).active  # type: ignore[union-attr]
    assert "đã được trả lời" in await press(app, "boss", f"remove:yes:{lan.id}")


async def test_answered_reminders_say_so_and_snoozes_replace(app, clock) -> None:
    unit = await add_unit(app, "Sở Y tế")
    for who in ("an", "binh"):
        await ConsoleChat(app, who, who).say(await make_invite(app, unit))
    async with app.sessions() as session, session.begin():
        await duties.add_deadline(session, unit_id=unit, title="Báo cáo quý", stages="-3,0",
                                  due_on=date(2026, 3, 13), now=clock.now(),
                                  responsible=Responsible.everyone)
    clock.set(datetime(2026, 3, 10, 9, tzinfo=VN))
    await planner.plan(app)
    async with app.sessions() as session:
        occ = await session.scalar(select(Occurrence))
        assert occ is not None

    # Two snoozes: the newer replaces the older.
    await press(app, "an", f"later:{occ.id}:1")
    await press(app, "an", f"later:{occ.id}:3")
    async with app.sessions() as session:
        later = [(r.status, r.send_at.astimezone(VN).day) for r in await session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == "later"))]
    assert sorted(later) == [("pending", 13), ("skipped", 11)]

    # Done, then "later" or "not applicable" from the old message: it says it is done.
    assert "hoàn thành" in await press(app, "an", f"done:{occ.id}")
    assert "đã đánh dấu" in await press(app, "an", f"later:{occ.id}:1")
    assert "đã được an đánh dấu hoàn thành" in await press(app, "binh", f"na:{occ.id}")
    async with app.sessions() as session:
        occ = await session.get(Occurrence, occ.id)
        assert occ is not None and occ.status == "done"
        pending_later = await session.scalar(select(OutboxMessage).where(
            OutboxMessage.kind == "later", OutboxMessage.status == "pending"))
    # Undo by the one who closed it opens it again, with the answer buttons.
    assert "mở lại" in await press(app, "an", f"undo:{occ.id}")
    assert "không có gì để hoàn tác" in await press(app, "binh", f"undo:{occ.id}")
    async with app.sessions() as session:
        assert (await session.get(Occurrence, occ.id)).status == "open"  # type: ignore[union-attr]
    assert pending_later is not None  # An's snooze still stands after the undo


async def test_duties_can_be_marked_done_from_the_list(app, clock) -> None:
    unit = await add_unit(app, "Sở Tư pháp")
    chat = ConsoleChat(app, "lan", "Lan")
    await chat.say(await make_invite(app, unit))
    (out,) = await chat.say("/duties")
    assert "bấm vào nhiệm vụ" in out
    # The first button: 8/3, not planned yet (no occurrence stored); marking it done stores it.
    (reply,) = await handle(app, Inbound(CHANNEL, "lan", "lan", text="/duties"), BUTTONS)
    first = reply.choices[0]
    assert first.label.startswith("✅ ") and first.value.startswith("dutydone:")
    assert "hoàn thành" in await press(app, "lan", first.value)
    async with app.sessions() as session:
        (occ,) = list(await session.scalars(select(Occurrence)))
        assert occ.status == "done" and occ.key == "2026-03-08"
    (out,) = await chat.say("/duties")
    assert "8/3 năm 2026" not in out  # done: no longer listed
    assert "không còn" in await press(app, "lan", "dutydone:99999:2026-03-08")
