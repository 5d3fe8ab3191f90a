"""Bad input gets a clear, polite answer in the member's language, never the generic apology,
and nothing already stored changes."""

from __future__ import annotations

from sqlalchemy import select

from bot.channels.console import CAPS, CHANNEL, ConsoleChat
from bot.context import AppContext
from bot.messages import Inbound
from bot.models import Duty, Member, Role
from bot.services import duties
from handlers.router import handle
from tests.conftest import add_unit, make_invite

APOLOGY = "Xin lỗi"


async def _join(app: AppContext, unit_id: int, who: str, role: Role = Role.member) -> ConsoleChat:
    chat = ConsoleChat(app, who, who)
    await chat.say(await make_invite(app, unit_id, role))
    return chat


async def _duty(app: AppContext, unit_id: int, code: str) -> Duty:
    async with app.sessions() as session:
        duty = await session.scalar(select(Duty).where(Duty.unit_id == unit_id, Duty.code == code))
        assert duty is not None
        return duty


async def test_duty_refuses_a_time_outside_the_send_window(app) -> None:
    unit = await add_unit(app, "Sở Nội vụ")
    admin = await _join(app, unit, "boss", Role.admin)
    for bad in ("20:00", "07:59", "17:00", "25:00", "٠٩:٠٠"):
        (out,) = await admin.say(f"/duty womens_day_0803 time {bad}")
        assert "08:00" in out and "17:00" in out and APOLOGY not in out, bad
    assert (await _duty(app, unit, "womens_day_0803")).send_time == "08:00"
    (out,) = await admin.say("/duty womens_day_0803 time 16:30")
    assert "16:30" in out
    assert (await _duty(app, unit, "womens_day_0803")).send_time == "16:30"


async def test_duty_refuses_lead_times_beyond_the_duty_cycle(app) -> None:
    unit = await add_unit(app, "Sở Y tế")
    admin = await _join(app, unit, "boss", Role.admin)
    (out,) = await admin.say("/duty womens_day_0803 stages -400,0")
    assert "120 ngày trước" in out and "60 ngày sau" in out and APOLOGY not in out
    (out,) = await admin.say("/duty monthly_article stages -40,0")
    assert "25 ngày trước" in out and "10 ngày sau" in out
    (out,) = await admin.say("/duty monthly_article stages -" + ",".join(["-1"] * 40))
    assert APOLOGY not in out
    assert (await _duty(app, unit, "womens_day_0803")).stages == "-14,-3,0,+2"
    assert (await _duty(app, unit, "monthly_article")).stages == "-7,0,+2"


async def test_numbers_are_ascii_digits_within_bounds(app) -> None:
    unit = await add_unit(app, "Sở Tư pháp")
    admin = await _join(app, unit, "boss", Role.admin)
    for bad in ("²", "٣", "99999999999999", "1e9", "-3"):
        (out,) = await admin.say(f"/remove {bad}")
        assert "/remove 12" in out, bad
        (out,) = await admin.say(f"/invite member {bad}")
        assert "/invite" in out and APOLOGY not in out, bad
    # A forged button with a huge number is "no longer available", not an error (int32 on
    # PostgreSQL would overflow).
    for forged in ("done:99999999999999", "later:²:1", "na:-1", "remove:yes:99999999999"):
        (reply,) = await handle(app, Inbound(CHANNEL, "boss", "boss", choice=forged), CAPS)
        assert APOLOGY not in reply.text, forged
    async with app.sessions() as session:
        assert len(list(await session.scalars(select(Member)))) == 1


async def test_too_long_titles_are_refused_before_the_database(app) -> None:
    unit = await add_unit(app, "Sở Xây dựng")
    admin = await _join(app, unit, "boss", Role.admin)
    (out,) = await admin.say("/duty add monthly 25 " + "x" * 300)
    assert APOLOGY not in out and "/duty add monthly 25" in out
    async with app.sessions() as session, session.begin():
        try:
            await duties.add_custom(session, unit_id=unit, title="y" * 300, now=app.clock.now(),
                                    recurrence=duties.Recurrence.monthly(3))
        except duties.DutyError as exc:
            assert "255" in str(exc)
        else:
            raise AssertionError("a 300-character title was accepted")


async def test_a_wrong_number_keeps_the_offered_choices(app) -> None:
    unit = await add_unit(app, "Sở Công Thương")
    member = await _join(app, unit, "lan")
    (out,) = await member.say("/lang")
    assert "1. Tiếng Việt" in out and "2. English" in out
    (out,) = await member.say("7")
    assert "1 đến 2" in out
    (out,) = await member.say("2")  # the choices offered before the wrong number still count
    assert out == "Language set to English."


async def test_a_dialogue_that_keeps_failing_is_closed_not_stuck(app, monkeypatch) -> None:
    from bot.models import Conversation
    from bot.services import conversations
    from handlers import registry

    unit = await add_unit(app, "Sở Du lịch")
    member = await _join(app, unit, "hoa")

    async def broken(turn) -> None:
        raise RuntimeError("the database refused the save")

    monkeypatch.setitem(registry.STATES, "test:broken", broken)
    async with app.sessions() as session, session.begin():
        convo = await session.scalar(select(Conversation).where(Conversation.external_id == "hoa"))
        assert convo is not None
        conversations.enter(convo, "test:broken", app.clock.now(), title="Báo cáo")

    (out,) = await member.say("Lưu")
    assert "vẫn được giữ" in out  # the first failure keeps what was entered
    async with app.sessions() as session:
        convo = await session.scalar(select(Conversation).where(Conversation.external_id == "hoa"))
        assert convo is not None and convo.state == "test:broken"
        assert convo.data["title"] == "Báo cáo"
    (out,) = await member.say("Lưu")
    assert "đã đóng" in out  # the second in a row closes the dialogue
    (out,) = await member.say("/whoami")
    assert "hoa" in out  # and the person carries on
