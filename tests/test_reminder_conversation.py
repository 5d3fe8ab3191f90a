"""Reminders as members see them on Telegram, and what their answers change."""

from __future__ import annotations

from datetime import date, datetime

from bot.models import Responsible, Role
from bot.services import duties
from tests.conftest import VN, add_tg_member, add_unit, tick
from tests.test_dispatcher import disable_catalog

ADMIN, FOCAL, AN, BINH = 7001, 7002, 7003, 7004
GROUP = -100777




async def press(tg_api, user: int, message, data: str) -> str:
    before = len(tg_api.sent_messages(user))
    tg_api.push_callback(user, data, message_id=message.message_id)
    return (await tg_api.wait_for_messages(user, before + 1))[-1].text or ""


async def test_reminders_answers_digest_and_escalation(bot, clock, tg_api) -> None:
    app, dispatcher = bot
    unit = await add_unit(app, "Sở Tài chính")
    await disable_catalog(app, unit)
    await add_tg_member(app, unit, Role.admin, "Quản trị", ADMIN)
    await add_tg_member(app, unit, Role.focal, "Đầu mối", FOCAL)
    await add_tg_member(app, unit, Role.member, "Nguyễn An", AN)
    await add_tg_member(app, unit, Role.member, "Trần Bình", BINH)
    async with app.sessions() as session, session.begin():
        # One deadline for everyone; one the focal point answers for.
        for title, stages, who in (("Báo cáo quý I", "-3,0", Responsible.everyone),
                                   ("Báo cáo tập huấn", "+2", Responsible.focal)):
            await duties.add_deadline(
                session, unit_id=unit, title=title, due_on=date(2026, 3, 13),
                letter_number="45/STC-VP", now=clock.now(), stages=stages, responsible=who,
            )

    # Tue 10/3, 3 days before: everyone gets a reminder with answer buttons.
    assert await tick(app, dispatcher, clock, datetime(2026, 3, 10, 8, 0, tzinfo=VN)) == 4
    (reminder,) = tg_api.sent_messages(AN)
    assert "«Báo cáo quý I»" in (reminder.text or "")
    assert "thứ Sáu, ngày 13/03/2026 (còn 3 ngày)" in (reminder.text or "")
    assert "45/STC-VP" in (reminder.text or "")
    assert reminder.callback_data[0].startswith("done:")
    # A deadline from a letter has no figures to check in: Done, later ×2, not applicable.
    assert len(reminder.callback_data) == 4 and not any(
        data.startswith("checkin:") for data in reminder.callback_data)

    occ_id = reminder.callback_data[0].split(":")[1]
    assert "thứ Tư, ngày 11/03/2026" in await press(tg_api, AN, reminder, f"later:{occ_id}:1")
    binh_reminder = tg_api.sent_messages(BINH)[0]
    assert "không áp dụng" in await press(tg_api, BINH, binh_reminder, f"na:{occ_id}")

    # Wed 11/3: An's own "later" reminder, nobody else.
    assert await tick(app, dispatcher, clock, datetime(2026, 3, 11, 8, 0, tzinfo=VN)) == 1
    assert "còn 2 ngày" in (tg_api.sent_messages(AN)[-1].text or "")

    # Thu 12/3: the focal point is told who has not answered (Bình said not applicable).
    assert await tick(app, dispatcher, clock, datetime(2026, 3, 12, 8, 0, tzinfo=VN)) == 1
    digest = tg_api.sent_messages(FOCAL)[-1].text or ""
    assert "chưa trả lời" in digest and "Báo cáo quý I" in digest
    assert "Nguyễn An" in digest and "Quản trị" in digest and "Trần Bình" not in digest

    # An marks it done: nobody in the unit hears of it again.
    done = await press(tg_api, AN, tg_api.sent_messages(AN)[-1], f"done:{occ_id}")
    assert "hoàn thành" in done
    sent_before = len(tg_api.sent_messages())
    assert await tick(app, dispatcher, clock, datetime(2026, 3, 13, 8, 0, tzinfo=VN)) == 0
    assert len(tg_api.sent_messages()) == sent_before

    # The focal point's deadline, never answered: two days overdue (Sun 15/3 → Mon 16/3) goes
    # to the focal point, and to the admin as an escalation; the members hear nothing.
    assert await tick(app, dispatcher, clock, datetime(2026, 3, 16, 8, 0, tzinfo=VN)) == 2
    assert "Báo cáo tập huấn" in (tg_api.sent_messages(FOCAL)[-1].text or "")
    escalation = tg_api.sent_messages(ADMIN)[-1].text or ""
    assert "Quá hạn tại Sở Tài chính" in escalation and "«Báo cáo tập huấn»" in escalation
    assert "quá hạn 3 ngày" in escalation and "Đầu mối" in escalation
    assert all("tập huấn" not in (m.text or "") for m in tg_api.sent_messages(AN))


async def test_a_unit_group_gets_the_posts_instead_of_private_reminders(
    bot, clock, tg_api
) -> None:
    app, dispatcher = bot
    unit = await add_unit(app, "Sở Kế hoạch")
    await disable_catalog(app, unit)
    await add_tg_member(app, unit, Role.focal, "Đầu mối", FOCAL)
    await add_tg_member(app, unit, Role.member, "Nguyễn An", AN)
    async with app.sessions() as session, session.begin():
        await duties.add_deadline(session, unit_id=unit, title="Hưởng ứng 8/3",
                                  due_on=date(2026, 3, 13), now=clock.now(), stages="-3",
                                  responsible=Responsible.everyone)

    # The focal point adds the bot to the unit's group chat.
    tg_api.push_message(FOCAL, "/group", chat_id=GROUP, chat_title="Ban VSTBPN Sở Kế hoạch")
    (ack,) = await tg_api.wait_for_messages(GROUP, 1)
    assert "Sở Kế hoạch" in (ack.text or "")

    assert await tick(app, dispatcher, clock, datetime(2026, 3, 10, 8, 0, tzinfo=VN)) == 1
    post = tg_api.sent_messages(GROUP)[-1]
    assert "Hưởng ứng 8/3" in (post.text or "")
    assert post.buttons[0]["url"] == "https://t.me/vstbpn_test_bot"
    assert tg_api.sent_messages(AN) == []  # the group post replaces the private reminder

    # Trying to check in inside the group gets a link to a private chat.
    tg_api.push_message(AN, "/checkin 45 người", chat_id=GROUP)
    answer = (await tg_api.wait_for_messages(GROUP, 3))[-1]
    assert "riêng" in (answer.text or "") and answer.buttons[0]["url"]


async def test_forged_or_foreign_answers_change_nothing(bot, clock, tg_api) -> None:
    app, dispatcher = bot
    mine = await add_unit(app, "Sở A")
    other = await add_unit(app, "Sở B")
    for unit in (mine, other):
        await disable_catalog(app, unit)
    await add_tg_member(app, mine, Role.member, "A", 8001)
    await add_tg_member(app, other, Role.member, "B", 8002)
    async with app.sessions() as session, session.begin():
        await duties.add_deadline(session, unit_id=other, title="Việc của Sở B",
                                  due_on=date(2026, 3, 13), now=clock.now(), stages="0")
    assert await tick(app, dispatcher, clock, datetime(2026, 3, 13, 8, 0, tzinfo=VN)) == 1
    theirs = tg_api.sent_messages(8002)[0]
    occ_id = theirs.callback_data[0].split(":")[1]
    # Member A replays B's button data from their own chat.
    tg_api.push_message(8001, "/whoami")
    mine_msg = (await tg_api.wait_for_messages(8001, 1))[-1]
    reply = await press(tg_api, 8001, mine_msg, f"done:{occ_id}")
    assert "không còn hiệu lực" in reply
    assert "Việc của Sở B" not in reply


async def test_duties_due_together_come_as_one_message_with_a_row_each(
    bot, clock, tg_api
) -> None:
    app, dispatcher = bot
    unit = await add_unit(app, "Sở Xây dựng")
    await disable_catalog(app, unit)
    await add_tg_member(app, unit, Role.member, "Nguyễn An", AN)
    async with app.sessions() as session, session.begin():
        for title in ("Báo cáo quý I", "Kế hoạch tập huấn", "Hưởng ứng 8/3"):
            await duties.add_deadline(session, unit_id=unit, title=title, stages="0",
                                      due_on=date(2026, 3, 13), now=clock.now(),
                                      responsible=Responsible.everyone)
    assert await tick(app, dispatcher, clock, datetime(2026, 3, 13, 8, 0, tzinfo=VN)) == 3
    (message,) = tg_api.sent_messages(AN)  # three duties, one message
    text = message.text or ""
    assert "1. 🔔" in text and "2. 🔔" in text and "3. 🔔" in text
    rows = message.reply_markup["inline_keyboard"]  # type: ignore[index]
    assert len(rows) == 3 and all(len(row) == 4 for row in rows)
    assert rows[1][0]["text"].startswith("2 ") and rows[1][0]["callback_data"].startswith("done:")
    # Each row answers its own duty, in a new message: the other duties' rows stay.
    answer = await press(tg_api, AN, message, rows[1][0]["callback_data"])
    assert "Kế hoạch tập huấn" in answer
    assert tg_api.calls("editMessageText") == [] and len(tg_api.sent_messages(AN)) == 2


async def test_a_removed_member_is_told(bot, clock, tg_api) -> None:
    app, dispatcher = bot
    unit = await add_unit(app, "Sở Văn hóa")
    await add_tg_member(app, unit, Role.admin, "Quản trị", ADMIN)
    binh = await add_tg_member(app, unit, Role.member, "Trần Bình", BINH)
    tg_api.push_message(ADMIN, f"/remove {binh}")
    (question,) = await tg_api.wait_for_messages(ADMIN, 1)
    await press(tg_api, ADMIN, question, f"remove:yes:{binh}")
    clock.set(datetime(2026, 3, 3, 9, 0, tzinfo=VN))  # a working morning
    assert (await dispatcher.run_once()).sent == 1
    (notice,) = tg_api.sent_messages(BINH)
    assert "không còn là thành viên của Sở Văn hóa" in (notice.text or "")
    assert notice.buttons == []
