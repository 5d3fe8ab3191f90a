"""Check-ins and the duties they answer: "📝" on a real reminder, /checkin closing the right
duty, typed "xong", and /mine (see, change, delete) — through the router and the real database
(SQLite, PostgreSQL), reminders through the fake Telegram Bot API. Field-by-field bad input is
in test_checkin_forms.py."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, func, select, update

from bot.channels.telegram import CAPS
from bot.context import AppContext
from bot.messages import Inbound, Reply
from bot.models import (
    Answer,
    Checkin,
    CheckinRevision,
    CheckinValue,
    Conversation,
    Duty,
    DutyKind,
    Occurrence,
    OccurrenceStatus,
    Response,
    Responsible,
    Role,
)
from bot.services import duties, occurrences
from handlers.checkins import FORMS
from handlers.forms import Choice, MultiChoice
from handlers.router import handle
from tests.conftest import VN, add_tg_member, add_unit, tick

FOCAL, AN, BINH, OTHER = 9101, 9102, 9103, 9104


# --- set-up helpers ----------------------------------------------------------------------


async def only_duties(app: AppContext, unit: int, *codes: str) -> dict[str, int]:
    """Keep only these catalog duties of the unit enabled; their ids by code."""
    async with app.sessions() as session, session.begin():
        found = {}
        for duty in await duties.applicable(session, unit, enabled_only=False):
            if duty.kind == DutyKind.catalog:
                duty.enabled = duty.code in codes
                if duty.enabled:
                    found[duty.code] = duty.id
    assert set(found) == set(codes)
    return found


async def open_occurrence(app: AppContext, unit: int, code: str, key: str) -> int:
    """The stored occurrence of the unit's catalog duty due (as written) on ``key``."""
    async with app.sessions() as session, session.begin():
        duty = await duties.find(session, unit, code)
        assert duty is not None
        item = await duties.due_date(session, unit, duty.id, key, app.calendar.cal)
        assert item is not None, (code, key)
        occ = await occurrences.ensure(session, unit, item, app.clock.now())
        assert occ.status == OccurrenceStatus.open
        return occ.id


async def occurrence(app: AppContext, occ_id: int) -> Occurrence:
    async with app.sessions() as session:
        occ = await session.get(Occurrence, occ_id)
        assert occ is not None
        return occ


async def answers_to(app: AppContext, occ_id: int) -> dict[int, str]:
    async with app.sessions() as session:
        return await occurrences.answers(session, occ_id)


async def occurrence_of(app: AppContext, unit: int, code: str, key: str) -> Occurrence | None:
    async with app.sessions() as session:
        return await session.scalar(
            select(Occurrence).join(Duty, Duty.id == Occurrence.duty_id)
            .where(Occurrence.unit_id == unit, Duty.code == code, Occurrence.key == key))


async def all_checkins(app: AppContext) -> list[Checkin]:
    async with app.sessions() as session:
        return list(await session.scalars(select(Checkin).order_by(Checkin.id)))


async def values_of(app: AppContext, checkin_id: int) -> dict[str, int]:
    async with app.sessions() as session:
        rows = await session.execute(select(CheckinValue.name, CheckinValue.value)
                                     .where(CheckinValue.checkin_id == checkin_id))
        return {name: value for name, value in rows}


async def revisions_of(app: AppContext, checkin_id: int) -> list[CheckinRevision]:
    async with app.sessions() as session:
        return list(await session.scalars(
            select(CheckinRevision).where(CheckinRevision.checkin_id == checkin_id)
            .order_by(CheckinRevision.id)))


async def dialogue(app: AppContext, user: int) -> tuple[str | None, dict[str, Any]]:
    """The state and data of a Telegram user's open dialogue."""
    async with app.sessions() as session:
        convo = await session.scalar(select(Conversation).where(
            Conversation.channel == "telegram", Conversation.external_id == str(user)))
        return (convo.state, dict(convo.data or {})) if convo else (None, {})


Send = Callable[[str], Awaitable[Any]]


async def fill(app: AppContext, user: int, answers: dict[str, Any], say: Send,
               press: Send) -> dict[str, Any]:
    """Answer a check-in form step by step until its summary; a field the form asks that is
    not in ``answers`` fails the test (it should have been given). The dialogue's data."""
    for _ in range(20):
        state, data = await dialogue(app, user)
        assert state is not None and state.startswith("form:ck_"), state
        step = data["step"]
        if step == "summary":
            return data
        assert step in answers, f"the form asked {step!r}, which should have been given"
        field = FORMS[state.removeprefix("form:ck_")].field(step)
        value = answers[step]
        if isinstance(field, MultiChoice):
            for picked in value:
                await press(f"{state}:tog:{step}:{picked}")
            await press(f"{state}:done:{step}")
        elif isinstance(field, Choice):
            await press(f"{state}:pick:{step}:{value}")
        else:
            await say(value)
    raise AssertionError("the form never reached its summary")


COMMUNICATION = {"title": "Nói chuyện chuyên đề về bình đẳng giới", "mode": "dedicated",
                 "format": "talk", "participants": "40", "women": "25"}


# --- talking through the router (what every channel does) ----------------------------------


class Chat:
    """A member on Telegram, talking to the router directly (no Bot API in between)."""

    def __init__(self, app: AppContext, user: int) -> None:
        self.app, self.user = app, user
        self.replies: list[Reply] = []

    async def send(self, text: str = "", choice: str | None = None) -> str:
        uid = str(self.user)
        self.replies = await handle(self.app, Inbound("telegram", uid, uid, text, choice=choice),
                                    CAPS)
        return "\n".join(r.text for r in self.replies)

    async def say(self, text: str) -> str:
        return await self.send(text)

    async def press(self, value: str) -> str:
        return await self.send(choice=value)

    @property
    def values(self) -> list[str]:
        return [c.value for r in self.replies for c in r.choices]

    async def fill(self, answers: dict[str, Any]) -> dict[str, Any]:
        return await fill(self.app, self.user, answers, self.say, self.press)

    async def save(self) -> str:
        state, data = await dialogue(self.app, self.user)
        assert state is not None and data["step"] == "summary"
        return await self.press(f"{state}:save")


# --- talking through the fake Telegram Bot API, with the planner and the dispatcher ------




class TgUser:
    """A member pressing and typing in the (fake) Telegram app; each step waits for answers."""

    def __init__(self, tg_api, user: int) -> None:
        self.tg, self.user = tg_api, user

    @property
    def last(self):
        return self.tg.sent_messages(self.user)[-1]

    async def say(self, text: str, n: int = 1) -> list:
        before = len(self.tg.sent_messages(self.user))
        self.tg.push_message(self.user, text)
        return (await self.tg.wait_for_messages(self.user, before + n))[before:]

    async def press(self, data: str, message=None, n: int = 1) -> list:
        before = len(self.tg.sent_messages(self.user))
        message = message or self.last
        self.tg.push_callback(self.user, data, message_id=message.message_id)
        return (await self.tg.wait_for_messages(self.user, before + n))[before:]


def button(message, prefix: str) -> str:
    (found,) = [d for d in message.callback_data if d.startswith(prefix)]
    return found


def reminders_about(tg_api, user: int, words: str) -> list:
    return [m for m in tg_api.sent_messages(user)
            if words in (m.text or "") and any(d.startswith("checkin:") for d in m.callback_data)]


# --- "📝 Check in now" on a reminder -----------------------------------------------------


async def test_check_in_now_on_a_reminder_prefills_the_duty_closes_it_and_stops_reminders(
    bot, clock, tg_api
) -> None:
    app, dispatcher = bot
    unit = await add_unit(app, "Sở Y tế")
    await only_duties(app, unit, "womens_day_0803")
    await add_tg_member(app, unit, Role.focal, "Đầu mối", FOCAL, lang="en")
    an = await add_tg_member(app, unit, Role.member, "Nguyễn An", AN, lang="en")

    # 8/3/2026 is a Sunday: the duty is due on Friday 6/3, the day of this reminder.
    assert await tick(app, dispatcher, clock, datetime(2026, 3, 6, 8, 0, tzinfo=VN)) >= 2
    (reminder,) = reminders_about(tg_api, AN, "International Women's Day")
    occ_id = int(button(reminder, "checkin:").split(":")[1])
    assert (await occurrence(app, occ_id)).due_on == date(2026, 3, 6)

    user = TgUser(tg_api, AN)
    (opened,) = await user.press(f"checkin:{occ_id}", reminder)
    assert "Check-in for «" in (opened.text or "") and "Communication activity" in (opened.text
                                                                                      or "")
    state, data = await dialogue(app, AN)
    assert state == "form:ck_communication"
    assert data["context"] == {"activity": "communication", "occurrence_id": occ_id}
    assert data["values"]["campaign"] == "womens_day" and "campaign" in data["given"]
    # The occasion (Sunday 8/3) has not happened yet: its date is asked, not assumed.
    assert "dates" not in data["given"] and data["step"] == "dates"

    data = await fill(app, AN, {**COMMUNICATION, "dates": "6/3", "organisers": ["ban"]},
                      user.say, user.press)
    summary = user.last.text or ""
    assert "Occasion: International Women's Day (8 March)" in summary
    (saved,) = await user.press(f"{state}:save")
    assert "Saved:" in (saved.text or "") and "✅ Marked done" in (saved.text or "")

    (checkin,) = await all_checkins(app)
    assert checkin.occurrence_id == occ_id and checkin.member_id == an
    assert checkin.fields["campaign"] == "womens_day" and checkin.fields["organisers"] == ["ban"]
    assert checkin.starts_on == date(2026, 3, 6)
    occ = await occurrence(app, occ_id)
    assert occ.status == OccurrenceStatus.done and occ.closed_by == an
    assert await answers_to(app, occ_id) == {an: Answer.done}
    assert await dialogue(app, AN) == (None, {})

    # The overdue stage (Monday 9/3) is not sent: the duty is answered.
    sent_before = len(tg_api.sent_messages())
    assert await tick(app, dispatcher, clock, datetime(2026, 3, 9, 8, 0, tzinfo=VN)) == 0
    assert await tick(app, dispatcher, clock, datetime(2026, 3, 10, 8, 0, tzinfo=VN)) == 0
    assert len(tg_api.sent_messages()) == sent_before


async def test_check_in_now_gives_the_occasion_day_once_past_and_the_duty_s_organiser(
    bot, clock, tg_api
) -> None:
    app, dispatcher = bot
    unit = await add_unit(app, "Sở Công Thương")
    await only_duties(app, unit, "womens_day_0803", "communication_union")
    await add_tg_member(app, unit, Role.focal, "Đầu mối", FOCAL, lang="en")
    user = TgUser(tg_api, FOCAL)

    # Monday 9/3: the overdue reminder for 8/3 (a Sunday, due Friday 6/3).
    assert await tick(app, dispatcher, clock, datetime(2026, 3, 9, 8, 0, tzinfo=VN)) >= 1
    (reminder,) = reminders_about(tg_api, FOCAL, "International Women's Day")
    occ_id = int(button(reminder, "checkin:").split(":")[1])
    await user.press(f"checkin:{occ_id}", reminder)
    state, data = await dialogue(app, FOCAL)
    assert state == "form:ck_communication" and data["context"]["occurrence_id"] == occ_id
    assert {"campaign", "dates"} <= set(data["given"])
    # The day of the occasion itself, not the working day the deadline moved to.
    assert data["values"]["dates"] == ["2026-03-08", "2026-03-08"]
    assert data["step"] == "title"
    await user.say("cancel")
    assert await dialogue(app, FOCAL) == (None, {})
    assert (await occurrence(app, occ_id)).status == OccurrenceStatus.open  # cancel: no answer
    assert await all_checkins(app) == []

    # Friday 16/10, 60 days before 15/12: the trade union's yearly tick.
    assert await tick(app, dispatcher, clock, datetime(2026, 10, 16, 8, 0, tzinfo=VN)) >= 1
    (reminder,) = reminders_about(tg_api, FOCAL, "by the trade union")
    occ_id = int(button(reminder, "checkin:").split(":")[1])
    await user.press(f"checkin:{occ_id}", reminder)
    state, data = await dialogue(app, FOCAL)
    assert state == "form:ck_communication"
    assert data["values"]["organisers"] == ["cong_doan"] and "organisers" in data["given"]
    assert "campaign" not in data["given"] and "dates" not in data["given"]
    data = await fill(app, FOCAL, {**COMMUNICATION, "dates": "14/10", "campaign": "none"},
                      user.say, user.press)
    assert "Organised by: Trade union" in (user.last.text or "")
    await user.press(f"{state}:save")
    (checkin,) = await all_checkins(app)
    assert checkin.occurrence_id == occ_id and checkin.fields["organisers"] == ["cong_doan"]
    assert (await occurrence(app, occ_id)).status == OccurrenceStatus.done


async def test_a_check_in_cannot_answer_another_unit_s_duty(app, clock) -> None:
    mine, other = await add_unit(app, "Sở A"), await add_unit(app, "Sở B")
    for unit in (mine, other):
        await only_duties(app, unit, "monthly_article")
    a = await add_tg_member(app, mine, Role.focal, "Cán bộ A", AN, lang="en")
    await add_tg_member(app, other, Role.focal, "Cán bộ B", OTHER, lang="en")
    march_b = await open_occurrence(app, other, "monthly_article", "2026-03-31")
    chat = Chat(app, AN)

    # A forged "📝" of Sở B's reminder opens nothing.
    text = await chat.press(f"checkin:{march_b}")
    assert "That reminder is no longer available" in text
    assert await dialogue(app, AN) == (None, {})

    # Started from its own reminder, the occurrence is moved to Sở B before saving (as a
    # forged context would): the check-in is saved; Sở B's duty is left alone.
    march_a = await open_occurrence(app, mine, "monthly_article", "2026-03-31")
    await chat.press(f"checkin:{march_a}")
    assert (await dialogue(app, AN))[1]["context"]["occurrence_id"] == march_a
    async with app.sessions() as session, session.begin():
        await session.execute(update(Occurrence).where(Occurrence.id == march_a)
                              .values(unit_id=other))
    article = {"date": "2/3", "title": "Bình đẳng giới trong ngành", "channel": "portal",
               "url": "https://a.gov.vn/tin/1"}
    await chat.fill(article)
    assert "Saved:" in await chat.save()
    (first,) = await all_checkins(app)
    assert first.unit_id == mine and first.member_id == a and first.occurrence_id != march_a
    moved = await occurrence(app, march_a)
    assert moved.status == OccurrenceStatus.open and await answers_to(app, march_a) == {}
    assert (await occurrence(app, march_b)).status == OccurrenceStatus.open
    assert await answers_to(app, march_b) == {}

    # Started from a reminder whose occurrence is then removed: still saved, nothing fails.
    april_a = await open_occurrence(app, mine, "monthly_article", "2026-04-30")
    await chat.press(f"checkin:{april_a}")
    async with app.sessions() as session, session.begin():
        await session.execute(delete(Occurrence).where(Occurrence.id == april_a))
    await chat.fill({**article, "title": "Tin thứ hai"})
    assert "Saved:" in await chat.save()
    second = (await all_checkins(app))[-1]
    assert second.fields["title"] == "Tin thứ hai"
    if second.occurrence_id is not None:  # SQLite may reuse the removed row's id
        assert (await occurrence(app, second.occurrence_id)).key != "2026-04-30"
    for checkin in await all_checkins(app):
        if checkin.occurrence_id is not None:
            assert (await occurrence(app, checkin.occurrence_id)).unit_id == mine
    async with app.sessions() as session:
        foreign = await session.scalar(
            select(func.count()).select_from(Response).join(
                Occurrence, Occurrence.id == Response.occurrence_id)
            .where(Occurrence.unit_id == other))
    assert foreign == 0


# --- /checkin without a reminder closes the duty its content answers ---------------------


async def test_a_trade_union_activity_closes_only_the_trade_union_s_tick(app, clock) -> None:
    unit = await add_unit(app, "Sở Tư pháp")
    codes = ("communication_ban", "communication_union", "communication_youth")
    await only_duties(app, unit, *codes)
    an = await add_tg_member(app, unit, Role.member, "Nguyễn An", AN, lang="en")
    ticks = {code: await open_occurrence(app, unit, code, "2026-12-15") for code in codes}

    chat = Chat(app, AN)
    text = await chat.say("/checkin tuyên truyền 2/3 40 25 Nói chuyện về Luật Bình đẳng giới")
    assert "New check-in: Communication activity." in text
    data = await chat.fill({"mode": "integrated", "format": "talk",
                            "organisers": ["cong_doan"], "campaign": "none"})
    assert data["values"]["dates"] == ["2026-03-02", "2026-03-02"]
    text = await chat.save()
    assert "✅ Marked done: «At least one gender-equality communication activity by the trade " \
           "union" in text
    assert text.count("✅ Marked done") == 1

    union = await occurrence(app, ticks["communication_union"])
    assert union.status == OccurrenceStatus.done and union.closed_by == an
    assert await answers_to(app, union.id) == {an: Answer.done}
    for code in ("communication_ban", "communication_youth"):
        assert (await occurrence(app, ticks[code])).status == OccurrenceStatus.open, code
        assert await answers_to(app, ticks[code]) == {}
    (checkin,) = await all_checkins(app)
    assert checkin.occurrence_id == union.id
    assert await values_of(app, checkin.id) == {
        "participants": 40, "women": 25, "organisers=cong_doan": 1, "mode=integrated": 1,
        "format=talk": 1, "campaign=none": 1}


async def test_an_article_closes_the_month_s_article_duty(app, clock) -> None:
    unit = await add_unit(app, "Sở Nội vụ")
    await only_duties(app, unit, "monthly_article")
    focal = await add_tg_member(app, unit, Role.focal, "Đầu mối", FOCAL, lang="en")
    # January's and February's articles were never written (both overdue on Monday 2/3).
    january = await open_occurrence(app, unit, "monthly_article", "2026-01-31")
    february = await open_occurrence(app, unit, "monthly_article", "2026-02-28")
    chat = Chat(app, FOCAL)

    # An article published on 2/3 is March's, never a month left open before it.
    await chat.say("/checkin bài viết https://snv.gov.vn/tin/1 2/3 Bình đẳng giới ở cơ sở")
    data = await chat.fill({"channel": "portal"})
    assert data["values"]["date"] == "2026-03-02"
    text = await chat.save()
    assert text.count("✅ Marked done") == 1
    march = await occurrence_of(app, unit, "monthly_article", "2026-03-31")
    assert march is not None and march.status == OccurrenceStatus.done
    assert march.closed_by == focal and march.due_on == date(2026, 3, 31)
    assert await answers_to(app, march.id) == {focal: Answer.done}
    for earlier in (january, february):
        assert (await occurrence(app, earlier)).status == OccurrenceStatus.open
        assert await answers_to(app, earlier) == {}

    # A second article in March answers nothing more (not April's).
    clock.set(datetime(2026, 3, 16, 10, 0, tzinfo=VN))
    await chat.say("/checkin bài viết https://snv.gov.vn/tin/8-3 16/3 Hưởng ứng ngày 8/3 tại Sở")
    await chat.fill({"channel": "portal"})
    text = await chat.save()
    assert "Saved:" in text and "✅ Marked done" not in text
    april = await occurrence_of(app, unit, "monthly_article", "2026-04-30")
    assert april is None or april.status == OccurrenceStatus.open
    first, second = await all_checkins(app)
    assert first.occurrence_id == march.id and first.activity == "article"
    assert second.occurrence_id is None and second.fields["url"] == "https://snv.gov.vn/tin/8-3"
    assert second.fields["title"] == "Hưởng ứng ngày 8/3 tại Sở"


async def test_a_campaign_activity_closes_that_year_s_occasion_only(app, clock) -> None:
    unit = await add_unit(app, "Sở Văn hóa")
    await only_duties(app, unit, "womens_day_2010", "communication_ban")
    an = await add_tg_member(app, unit, Role.member, "Nguyễn An", AN, lang="en")
    clock.set(datetime(2026, 10, 19, 9, 0, tzinfo=VN))
    last_year = await open_occurrence(app, unit, "womens_day_2010", "2025-10-20")
    this_year = await open_occurrence(app, unit, "womens_day_2010", "2026-10-20")
    ban = await open_occurrence(app, unit, "communication_ban", "2026-12-15")

    chat = Chat(app, AN)
    await chat.say("/checkin tuyên truyền 18/10 60 45 Hội thi nữ công")
    await chat.fill({"mode": "integrated", "format": "contest", "organisers": ["nu_cong"],
                     "campaign": "vn_womens_day"})
    text = await chat.save()
    assert text.count("✅ Marked done") == 1 and "20 October" in text

    assert (await occurrence(app, this_year)).status == OccurrenceStatus.done
    assert await answers_to(app, this_year) == {an: Answer.done}
    assert (await occurrence(app, last_year)).status == OccurrenceStatus.open
    assert (await occurrence(app, ban)).status == OccurrenceStatus.open  # not the Ban's
    assert await occurrence_of(app, unit, "womens_day_2010", "2027-10-20") is None
    (checkin,) = await all_checkins(app)
    assert checkin.occurrence_id == this_year and checkin.starts_on == date(2026, 10, 18)


# --- "xong" typed after a reminder -------------------------------------------------------


async def test_typed_done_answers_the_reminder_or_asks_which(bot, clock, tg_api) -> None:
    app, dispatcher = bot
    unit = await add_unit(app, "Sở Giáo dục")
    await only_duties(app, unit, "womens_day_0803")
    an = await add_tg_member(app, unit, Role.member, "Nguyễn An", AN, lang="en")
    binh = await add_tg_member(app, unit, Role.member, "Trần Bình", BINH)  # Vietnamese
    an_user, binh_user = TgUser(tg_api, AN), TgUser(tg_api, BINH)

    # No reminder yet: "done" means nothing.
    (reply,) = await an_user.say("done")
    assert "I did not understand" in (reply.text or "")

    # Tuesday 3/3, three days before: one reminder each.
    assert await tick(app, dispatcher, clock, datetime(2026, 3, 3, 8, 0, tzinfo=VN)) == 2
    occ_id = int(button(tg_api.sent_messages(BINH)[-1], "done:").split(":")[1])
    thanks, offer = await binh_user.say("Đã xong!", n=2)
    occ = await occurrence(app, occ_id)
    assert occ.status == OccurrenceStatus.done and occ.closed_by == binh
    assert await answers_to(app, occ_id) == {binh: Answer.done}
    assert button(thanks, "undo:") == f"undo:{occ_id}"
    assert button(offer, "checkin:") == f"checkin:{occ_id}"

    # "📝" right after "xong": the figures can still be entered, and go with that duty.
    await binh_user.press(f"checkin:{occ_id}", offer)
    state, data = await dialogue(app, BINH)
    assert state == "form:ck_communication"
    assert data["context"]["occurrence_id"] == occ_id and data["values"]["campaign"] == "womens_day"
    await fill(app, BINH, {**COMMUNICATION, "dates": "2/3", "organisers": ["ban"]},
               binh_user.say, binh_user.press)
    await binh_user.press(f"{state}:save")
    (checkin,) = await all_checkins(app)
    assert checkin.occurrence_id == occ_id and checkin.member_id == binh
    occ = await occurrence(app, occ_id)
    assert occ.status == OccurrenceStatus.done and occ.closed_by == binh

    # The unit's duty is answered: An's "xong" has nothing left to answer.
    (reply,) = await an_user.say("xong")
    assert "I did not understand" in (reply.text or "")
    assert await answers_to(app, occ_id) == {binh: Answer.done}

    # Two reminders still open: which one?
    async with app.sessions() as session, session.begin():
        for title in ("Báo cáo quý I", "Kế hoạch tập huấn"):
            await duties.add_deadline(session, unit_id=unit, title=title, stages="-3",
                                      due_on=date(2026, 3, 13), now=clock.now(),
                                      responsible=Responsible.everyone)
    # Tuesday 10/3: both in one message to each of the two members.
    assert await tick(app, dispatcher, clock, datetime(2026, 3, 10, 8, 0, tzinfo=VN)) == 4
    (question,) = await an_user.say("done")
    assert "Which one is done?" in (question.text or "")
    picks = question.callback_data
    assert len(picks) == 2 and all(p.startswith("done:") for p in picks)
    assert sorted(question.button_texts) == ["Báo cáo quý I", "Kế hoạch tập huấn"]
    ids = [int(p.split(":")[1]) for p in picks]
    for i in ids:
        assert (await occurrence(app, i)).status == OccurrenceStatus.open

    # Bình said one does not apply to him: his "xong" is about the other one.
    await binh_user.press(f"na:{ids[0]}:*", tg_api.sent_messages(BINH)[-1])
    await binh_user.say("xong", n=1)
    assert (await occurrence(app, ids[1])).status == OccurrenceStatus.done
    assert await answers_to(app, ids[1]) == {binh: Answer.done}
    assert (await occurrence(app, ids[0])).status == OccurrenceStatus.open

    # An picks from the question asked before.
    await an_user.press(picks[0], question)
    assert (await occurrence(app, ids[0])).status == OccurrenceStatus.done
    assert await answers_to(app, ids[0]) == {binh: Answer.na, an: Answer.done}

    # Nothing left open: "xong" means nothing again.
    (reply,) = await an_user.say("xong")
    assert "I did not understand" in (reply.text or "")


# --- /mine -------------------------------------------------------------------------------


async def _communication(chat: Chat) -> Checkin:
    await chat.say("/checkin tuyên truyền 2/3 40 25 Nói chuyện chuyên đề")
    await chat.fill({"mode": "dedicated", "format": "talk", "organisers": ["ban"],
                     "campaign": "none"})
    assert "Saved:" in await chat.save()
    return (await all_checkins(chat.app))[-1]


async def _article(chat: Chat, title: str) -> Checkin:
    await chat.say(f"/checkin bài viết 2/3 {title}")
    await chat.fill({"channel": "bulletin", "url": "-"})
    assert "Saved:" in await chat.save()
    return (await all_checkins(chat.app))[-1]


def views(chat: Chat) -> set[int]:
    return {int(v.split(":")[2]) for v in chat.values if v.startswith("mine:view:")}


async def test_mine_lists_shows_changes_and_deletes_only_what_one_may(app, clock) -> None:
    unit, other = await add_unit(app, "Sở Xây dựng"), await add_unit(app, "Sở Ngoại vụ")
    for u in (unit, other):
        await only_duties(app, u)
    await add_tg_member(app, unit, Role.focal, "Đầu mối", FOCAL, lang="en")
    an_id = await add_tg_member(app, unit, Role.member, "Nguyễn An", AN, lang="en")
    await add_tg_member(app, unit, Role.member, "Trần Bình", BINH, lang="en")
    await add_tg_member(app, other, Role.focal, "Đầu mối B", OTHER, lang="en")
    focal, an, binh, stranger = (Chat(app, u) for u in (FOCAL, AN, BINH, OTHER))

    assert "There are no check-ins yet" in await an.say("/mine")
    mine = await _communication(an)
    binhs = await _article(binh, "Tin của Bình")
    theirs = await _article(stranger, "Tin của Sở Ngoại vụ")

    # Own check-ins; the focal point's: the unit's.
    await an.say("/mine")
    assert views(an) == {mine.id}
    await binh.say("/mine")
    assert views(binh) == {binhs.id}
    await focal.say("/mine")
    assert views(focal) == {mine.id, binhs.id}
    await stranger.say("/mine")
    assert views(stranger) == {theirs.id}

    shown = await an.press(f"mine:view:{mine.id}")
    assert "Participants: 40" in shown and "Of whom women: 25" in shown
    assert "Organised by: Committee for the Advancement of Women" in shown
    assert "Entered by Nguyễn An" in shown
    assert set(an.values) == {f"mine:edit:{mine.id}", f"mine:del:{mine.id}"}
    assert "Title: Tin của Bình" in await focal.press(f"mine:view:{binhs.id}")

    # Forged buttons: someone else's check-in, or another unit's, is refused.
    for chat, target in ((an, binhs.id), (binh, mine.id), (stranger, mine.id),
                         (focal, theirs.id)):
        for action in ("view", "edit", "del", "gone"):
            text = await chat.press(f"mine:{action}:{target}")
            assert "That check-in can no longer be changed" in text, (action, text)
            assert "Entered by" not in text and chat.values == []
            assert await dialogue(app, chat.user) == (None, {})
    assert all(c.deleted_at is None for c in await all_checkins(app))

    # Change, through the same form, at its summary with every answer given.
    clock.set(datetime(2026, 3, 3, 10, 0, tzinfo=VN))
    text = await an.press(f"mine:edit:{mine.id}")
    assert "Changing:" in text and "Participants: 40" in text
    state, data = await dialogue(app, AN)
    assert state == "form:ck_communication" and data["step"] == "summary"
    assert data["context"] == {"activity": "communication", "checkin_id": mine.id}
    await an.press(f"{state}:edit:participants")
    await an.say("50")
    await an.press(f"{state}:edit:organisers")
    await an.press(f"{state}:tog:organisers:cong_doan")
    await an.press(f"{state}:done:organisers")
    assert "Changed:" in await an.save()
    (changed,) = [c for c in await all_checkins(app) if c.id == mine.id]
    assert changed.fields["participants"] == 50
    assert changed.fields["organisers"] == ["ban", "cong_doan"]
    assert changed.updated_by == an_id and changed.updated_at > changed.created_at
    assert len(await all_checkins(app)) == 3  # changed, not added
    values = await values_of(app, mine.id)
    assert values["participants"] == 50 and values["women"] == 25
    assert values["organisers=ban"] == 1 and values["organisers=cong_doan"] == 1
    created, change = await revisions_of(app, mine.id)
    assert (created.action, change.action) == ("created", "changed")
    assert change.member_id == an_id
    assert change.old is not None and change.new is not None
    assert (change.old["participants"], change.new["participants"]) == (40, 50)
    assert change.old["organisers"] == ["ban"]
    assert "Last changed on" in await an.press(f"mine:view:{mine.id}")

    # Delete: asked first, then gone from every list, its numbers gone, its history kept.
    text = await an.press(f"mine:del:{mine.id}")
    assert "Delete “" in text
    assert set(an.values) == {f"mine:gone:{mine.id}", f"mine:view:{mine.id}"}
    assert all(c.deleted_at is None for c in await all_checkins(app))
    assert "Deleted:" in await an.press(f"mine:gone:{mine.id}")
    (deleted,) = [c for c in await all_checkins(app) if c.id == mine.id]
    assert deleted.deleted_at is not None
    assert await values_of(app, mine.id) == {}
    assert await values_of(app, binhs.id) != {}
    revisions = await revisions_of(app, mine.id)
    assert [r.action for r in revisions] == ["created", "changed", "deleted"]
    assert revisions[-1].new is None and revisions[-1].old == changed.fields
    assert "There are no check-ins yet" in await an.say("/mine")
    await focal.say("/mine")
    assert views(focal) == {binhs.id}
    assert "That check-in can no longer be changed" in await an.press(f"mine:view:{mine.id}")
    assert "That check-in can no longer be changed" in await an.press(f"mine:gone:{mine.id}")
    assert len(await revisions_of(app, mine.id)) == 3
