"""The form engine on a toy form, through the real router and database (SQLite, PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot.channels.console import identity_for_member
from bot.context import AppContext
from bot.i18n import N_, Translator
from bot.messages import Capabilities, Inbound, Reply
from bot.models import Conversation, Member, Role
from handlers.forms import (
    Choice,
    Count,
    Ctx,
    Day,
    DayRange,
    FieldError,
    Form,
    FormError,
    Money,
    MultiChoice,
    Option,
    Text,
    Url,
    YesNo,
    not_past,
    register,
    start,
)
from handlers.registry import command
from handlers.router import handle
from handlers.turn import Turn
from tests.conftest import VN, add_tg_member, add_unit, make_settings

TG = Capabilities(buttons=True, max_text=4096)
CONSOLE = Capabilities(buttons=False, max_text=100_000)

SAVED: list[dict[str, Any]] = []


async def _save(turn: Turn, values: dict[str, Any], _context: dict[str, Any]) -> None:
    if values["title"] == "trùng":
        raise FormError(N_("That title is taken."), field="title")
    SAVED.append(values)
    turn.say("OK, saved.")


# Texts are msgids; the tests read the Vietnamese catalog where one exists, English otherwise.
TOY = register(Form(
    name="toy", title=N_("A toy form."), on_save=_save,
    fields=(
        Text(name="title", label=N_("Title"), question=N_("Title?"), max_len=20),
        Choice(name="kind", label=N_("Kind"), question=N_("Kind?"), options=(
            Option("training", N_("Training")), Option("meeting", N_("Meeting")))),
        DayRange(name="days", label=N_("Days"), question=N_("Days?"), check_day=not_past),
        Count(name="people", label=N_("People"), question=N_("People?")),
        Count(name="women", label=N_("Women"), question=N_("Women?"), at_most="people"),
        Money(name="budget", label=N_("Budget"), question=N_("Budget?")),
        MultiChoice(name="topics", label=N_("Topics"), question=N_("Topics?"), options=(
            Option("law", N_("Law")), Option("health", N_("Health")),
            Option("economy", N_("Economy")))),
        Url(name="link", label=N_("Link"), question=N_("Link?"), optional=True),
        Day(name="report_on", label=N_("Report on"), question=N_("Report on?"),
            optional=True, check_day=not_past),
        YesNo(name="press", label=N_("Press"), question=N_("Press?")),
    ),
))
FOCAL_ONLY = register(Form(
    name="toyfocal", title=N_("A toy form."), on_save=_save, role=Role.focal,
    fields=(Text(name="title", label=N_("Title"), question=N_("Title?")),),
))


@command("toyform", Role.member, "")
async def _toyform(turn: Turn) -> None:
    await start(turn, TOY)


@command("toyquick", Role.member, "")
async def _toyquick(turn: Turn) -> None:
    """/toyquick <title> <people> <women> <day>: a one-line form falling back to the dialogue."""
    title, people, women, day = turn.args
    await start(turn, TOY, prefill={"link": None},
                raw={"title": title, "people": people, "women": women, "report_on": day})


@command("toyfocal", Role.focal, "")
async def _toyfocal(turn: Turn) -> None:
    await start(turn, FOCAL_ONLY)


@pytest.fixture(autouse=True)
def _saved():
    SAVED.clear()
    yield
    SAVED.clear()


class Chat:
    """One person talking to the bot through the router; remembers the last reply's buttons."""

    def __init__(self, app: AppContext, user: str, caps: Capabilities = TG,
                 channel: str = "telegram") -> None:
        self.app, self.user, self.caps, self.channel = app, user, caps, channel
        self.last: Reply | None = None

    async def send(self, text: str = "", choice: str | None = None) -> list[Reply]:
        replies = await handle(self.app, Inbound(self.channel, self.user, self.user, text,
                                                 choice=choice), self.caps)
        self.last = replies[-1] if replies else None
        return replies

    async def say(self, text: str) -> str:
        (reply,) = await self.send(text)
        return reply.text

    def button(self, label: str) -> str:
        """The value of a button offered in the last reply (the label's start must match)."""
        assert self.last is not None
        found = [c.value for c in self.last.choices
                 if c.label.removeprefix("✅ ").startswith(label)]
        assert len(found) == 1, (label, self.last.choices)
        return found[0]

    def labels(self) -> list[str]:
        assert self.last is not None
        return [c.label for c in self.last.choices]

    async def press(self, label: str) -> str:
        return await self.press_value(self.button(label))

    async def press_value(self, value: str) -> str:
        (reply,) = await self.send(choice=value)
        return reply.text

    async def state(self) -> tuple[str | None, dict[str, Any]]:
        async with self.app.sessions() as session:
            convo = await session.scalar(select(Conversation).where(
                Conversation.channel == self.channel, Conversation.external_id == self.user))
            assert convo is not None
            return convo.state, convo.data


async def _member(app: AppContext, user: int = 501, role: Role = Role.member) -> Chat:
    unit = await add_unit(app, "Sở Lao động")
    await add_tg_member(app, unit, role, "Lan", user)
    return Chat(app, str(user))


async def _fill_to_summary(
    chat: Chat, days: str = "12/3/2026 - 14/3/2026", report_on: str = "20/3/2026"
) -> str:
    """Good answers to every question (today is Monday 2/3/2026)."""
    await chat.send("/toyform")
    await chat.say("Tập huấn Luật")
    await chat.press("Training")
    await chat.say(days)
    await chat.say("45")
    await chat.say("30")
    await chat.say("1.500.000")
    await chat.say("1,3")
    await chat.press("Bỏ qua")  # link
    await chat.say(report_on)
    return await chat.say("không")


# --- every field type, through the router --------------------------------------------------


async def test_bad_answers_are_reasked_with_a_reason_then_saved_typed(app) -> None:
    chat = await _member(app)
    (reply,) = await chat.send("/toyform")
    assert reply.text.startswith("A toy form.\nTitle?")
    assert chat.labels() == ["Hủy"]  # the first, required question: no Back, no Skip

    def reasked(out: str, reason: str, question: str) -> None:
        assert out.startswith(reason) and out.splitlines()[-1] == question, out

    reasked(await chat.say("x" * 21), "Câu trả lời quá dài: tối đa 20 ký tự, câu này có 21",
            "Title?")
    reasked(await chat.say(""), "Vui lòng ghi câu trả lời.", "Title?")
    reasked(await chat.say("bỏ qua"), "Mục này là bắt buộc, không thể bỏ qua.", "Title?")
    out = await chat.say("  Tập huấn Luật  ")
    assert out == "Kind?" and chat.labels() == ["Training", "Meeting", "Quay lại", "Hủy"]

    reasked(await chat.say("Hội thảo"), "Vui lòng chọn một trong các phương án", "Kind?")
    assert await chat.say("meeting") == "Days?"  # a typed option works too
    assert await chat.press("Quay lại") == "Kind?\nHiện tại: Meeting"
    assert (await chat.press("Training")).startswith("Days?")

    for bad, reason in [
        ("12/3/2026", "Tôi chưa đọc được khoảng thời gian này"),
        ("31/2/2026 - 3/3/2026", "Tôi chưa đọc được khoảng thời gian này"),
        ("14/3/2026 - 12/3/2026", "Ngày kết thúc (12/03/2026) sớm hơn ngày bắt đầu"),
        ("1/3/2026 - 3/3/2026", "Ngày này đã qua (hôm nay là 02/03/2026)"),
    ]:
        reasked(await chat.say(bad), reason, "Days?")
    assert await chat.say("12/3-14/3/2026") == "People?"

    for bad in ("²", "٣", "1e9", "-5", "4,5", "bốn mươi"):
        reasked(await chat.say(bad), "Vui lòng ghi một số nguyên từ 0 trở lên", "People?")
    reasked(await chat.say("1000000001"), "Số này quá lớn (tối đa 1.000.000.000).", "People?")
    reasked(await chat.say("9" * 5000), "Số này quá lớn", "People?")
    assert await chat.say("045") == "Women?"
    reasked(await chat.say("46"), "Số này không được lớn hơn “People” (45).", "Women?")
    assert await chat.say("45") == "Budget?"

    for bad in ("1,5", "1500000.5", "-100", "1.5.0", "2 quả", "1,234 triệu", "1e6"):
        reasked(await chat.say(bad), "Vui lòng ghi số tiền bằng đồng", "Budget?")
    reasked(await chat.say("9" * 17), "Số tiền này quá lớn.", "Budget?")
    assert (await chat.say("1,5 triệu")).startswith("Topics?")

    assert chat.labels() == ["Law", "Health", "Economy", "Chọn xong", "Quay lại", "Hủy"]
    reasked(await chat.press("Chọn xong"), "Vui lòng chọn ít nhất một mục.", "Topics?")
    for label in ("Law", "Health", "Economy", "Health"):  # Health on, then off again
        assert (await chat.press(label)).startswith("Topics?")
    assert chat.labels()[:3] == ["✅ Law", "Health", "✅ Economy"]
    assert (await chat.press("Chọn xong")).startswith("Link?")
    assert chat.labels() == ["Quay lại", "Bỏ qua", "Hủy"]

    for bad in ("ftp://phunu.gov.vn/x", "không có", "https://", "http://localhost/x",
                "https://[::1/x"):
        reasked(await chat.say(bad), "Vui lòng gửi địa chỉ trang web", "Link?")
    assert await chat.say("phunu.gov.vn/bai-viet") == "Report on?"

    reasked(await chat.say("hôm qua"), "Tôi chưa đọc được ngày này", "Report on?")
    reasked(await chat.say("30/2/2026"), "Tôi chưa đọc được ngày này", "Report on?")
    reasked(await chat.say("1/3/2026"), "Ngày này đã qua", "Report on?")
    assert (await chat.press("Bỏ qua")).startswith("Press?")
    reasked(await chat.say("có lẽ"), "Vui lòng trả lời có hoặc không.", "Press?")
    summary = await chat.press("Có")

    assert summary.splitlines() == [
        "Đề nghị anh/chị kiểm tra lại trước khi lưu:",
        "Title: Tập huấn Luật",
        "Kind: Training",
        "Days: 12/03/2026 – 14/03/2026",
        "People: 45",
        "Women: 45",
        "Budget: 1.500.000 đồng",
        "Topics: Law, Economy",
        "Link: https://phunu.gov.vn/bai-viet",
        "Report on: —",
        "Press: Có",
        "",
        "Lưu lại?",
    ]
    assert chat.labels() == ["Lưu", "Hủy", "Sửa một mục"]
    assert await chat.press("Lưu") == "OK, saved."
    assert SAVED == [{
        "title": "Tập huấn Luật", "kind": "training",
        "days": (date(2026, 3, 12), date(2026, 3, 14)), "people": 45, "women": 45,
        "budget": 1_500_000, "topics": ["law", "economy"],
        "link": "https://phunu.gov.vn/bai-viet", "report_on": None, "press": True,
    }]
    assert await chat.state() == (None, {})


async def test_back_keeps_answers_and_first_question_has_no_back(app) -> None:
    chat = await _member(app)
    await chat.send("/toyform")
    out = await chat.say("quay lại")
    assert out == "Đây là câu hỏi đầu tiên.\nTitle?"
    await chat.say("Họp quý")
    await chat.press("Meeting")
    assert await chat.say("Quay lại.") == "Kind?\nHiện tại: Meeting"
    assert await chat.press("Quay lại") == "Title?\nHiện tại: Họp quý"
    # A new title: the kind is still known, so the next unanswered question comes.
    assert await chat.say("Họp quý I") == "Days?"
    state, data = await chat.state()
    assert state == "form:toy" and data["values"] == {"title": "Họp quý I", "kind": "meeting"}
    # Skipping a required field with a forged button is refused too.
    reason = await chat.press_value("form:toy:skip:days")
    assert reason.startswith("Mục này là bắt buộc") and reason.splitlines()[-1] == "Days?"
    assert (await chat.state())[1]["step"] == "days"


async def test_change_one_answer_from_the_summary(app) -> None:
    chat = await _member(app)
    await _fill_to_summary(chat)
    out = await chat.press("Sửa một mục")
    assert out == "Anh/chị muốn sửa mục nào?"
    assert chat.labels()[:3] == ["Title", "Kind", "Days"] and chat.labels()[-1] == (
        "Quay lại bản tóm tắt")
    assert (await chat.press("Quay lại bản tóm tắt")).endswith("Lưu lại?")
    await chat.press("Sửa một mục")
    out = await chat.press("People")
    assert out == "People?\nHiện tại: 45"
    assert chat.labels() == ["Quay lại", "Hủy"]  # back: to the summary, unchanged
    # Fewer people than women: the summary sends the person to the women's answer first.
    out = await chat.say("20")
    assert out.startswith("Số này không được lớn hơn “People” (20).\nWomen?\nHiện tại: 30")
    summary = await chat.say("12")
    assert "People: 20" in summary and "Women: 12" in summary
    assert "Title: Tập huấn Luật" in summary and "Report on: 20/03/2026" in summary
    # Change an optional answer to nothing from the summary.
    await chat.press("Sửa một mục")
    await chat.press("Report on")
    assert "Report on: —" in await chat.press("Bỏ qua")
    await chat.press("Lưu")
    (saved,) = SAVED
    assert (saved["people"], saved["women"], saved["report_on"]) == (20, 12, None)
    assert saved["days"] == (date(2026, 3, 12), date(2026, 3, 14)) and saved["press"] is False


async def test_cancel_stores_nothing(app) -> None:
    chat = await _member(app)
    await _fill_to_summary(chat)
    assert await chat.press("Hủy") == "Đã hủy. Không có gì thay đổi."
    assert await chat.state() == (None, {})
    await chat.send("/toyform")
    await chat.say("Tập huấn")
    assert await chat.say("Hủy") == "Đã hủy. Không có gì thay đổi."
    assert (await chat.say("Training")).startswith("Tôi chưa hiểu")
    await chat.send("/toyform")
    assert await chat.say("/cancel") == "Đã hủy. Không có gì thay đổi."
    assert SAVED == [] and (await chat.state())[0] is None


async def test_save_can_send_the_person_back_and_dates_are_checked_again(app, clock) -> None:
    chat = await _member(app)
    clock.set(datetime(2026, 3, 11, 23, 30, tzinfo=VN))
    await _fill_to_summary(chat, days="11/3-12/3/2026", report_on="11/3/2026")
    await chat.press("Sửa một mục")
    await chat.press("Title")
    await chat.say("trùng")
    out = await chat.press("Lưu")
    assert out == "That title is taken.\nTitle?\nHiện tại: trùng"
    assert (await chat.state())[0] == "form:toy"
    assert (await chat.say("Tập huấn")).endswith("Lưu lại?")
    # The summary stays open past midnight: saving asks for the dates that passed again.
    clock.advance(timedelta(hours=1))
    out = await chat.press("Lưu")
    assert out.startswith("Ngày này đã qua (hôm nay là 12/03/2026)")
    assert out.endswith("Days?\nHiện tại: 11/03/2026 – 12/03/2026") and SAVED == []
    out = await chat.say("12/3/2026 - 13/3/2026")
    assert out.startswith("Ngày này đã qua") and "Report on?\nHiện tại: 11/03/2026" in out
    await chat.say("25/3/2026")
    await chat.press("Lưu")
    assert SAVED[0]["report_on"] == date(2026, 3, 25) and SAVED[0]["title"] == "Tập huấn"


async def test_old_buttons_change_nothing(app) -> None:
    chat = await _member(app)
    await chat.send("/toyform")
    await chat.say("Họp")
    old_kind = chat.button("Meeting")
    old_back = chat.button("Quay lại")
    await chat.press("Training")
    for value in (old_kind, old_back, "form:toy:save", "form:toy:edit:title",
                  "form:toy:tog:topics:law", "form:toy:pick:kind:nonsense"):
        out = await chat.press_value(value)
        assert out == ("Nút này thuộc một bước trước; không có gì thay đổi. "
                       "Anh/chị đang ở bước này:\nDays?"), value
    state, data = await chat.state()
    assert data["step"] == "days" and data["values"] == {"title": "Họp", "kind": "training"}

    await chat.press("Hủy")
    out = await chat.press_value(old_kind)  # the form is over
    assert out == "Lựa chọn này không còn hiệu lực. Gửi /help để bắt đầu lại."
    assert await chat.state() == (None, {})


async def test_one_line_prefill_asks_only_what_is_missing(app) -> None:
    chat = await _member(app)
    (reply,) = await chat.send("/toyquick Họp 10 12 1/3/2026")
    # Women > people and a past date: both reasons, then the first missing question.
    assert reply.text.splitlines() == [
        "Số này không được lớn hơn “People” (10).", "Ngày này đã qua (hôm nay là 02/03/2026). "
        "Vui lòng ghi một ngày từ hôm nay trở đi, ví dụ 15/12/2026.", "A toy form.",
        "Kind?"]
    assert chat.labels() == ["Training", "Meeting", "Hủy"]  # given fields are not gone back to
    await chat.press("Meeting")
    await chat.say("12/3/2026 - 12/3/2026")
    out = await chat.say("8")  # people was given; women was not
    assert out == "Budget?"
    await chat.say("2 tr")
    await chat.say("2")
    assert await chat.say("5/3/2026") == "Press?"  # the link was given (as none)
    summary = await chat.press("Không")
    assert "Title: Họp" in summary and "People: 10" in summary and "Link: —" in summary
    assert "Days: 12/03/2026\n" in summary and "Budget: 2.000.000 đồng" in summary
    await chat.press("Lưu")
    assert SAVED[0]["people"] == 10 and SAVED[0]["women"] == 8 and SAVED[0]["budget"] == 2 * 10**6


# --- time, restarts and channels without buttons -----------------------------------------


async def test_an_abandoned_form_expires_after_a_day(app, clock) -> None:
    chat = await _member(app)
    await chat.send("/toyform")
    await chat.say("Họp")
    clock.advance(timedelta(hours=23))
    assert (await chat.press("Meeting")) == "Days?"  # still there; the pause starts again
    clock.advance(timedelta(hours=25))
    note, answer = await chat.send("12/3/2026 - 14/3/2026")
    assert note.text == Translator("vi").gettext(
        "The unfinished dialogue from before was closed after a long pause; nothing from it "
        "was saved.")
    assert answer.text.startswith("Tôi chưa hiểu")
    assert await chat.state() == (None, {}) and SAVED == []


async def test_a_restart_mid_form_loses_nothing(app, clock, database_url) -> None:
    chat = await _member(app)
    await chat.send("/toyform")
    await chat.say("Họp")
    await chat.press("Meeting")
    await chat.say("12/3/2026 - 14/3/2026")
    old_button = chat.button("Quay lại")

    restarted = await AppContext.create(make_settings(database_url), clock=clock)
    try:
        chat = Chat(restarted, chat.user)
        assert await chat.press_value(old_button) == "Days?\nHiện tại: 12/03/2026 – " \
                                                     "14/03/2026"
        await chat.say("13/3/2026 - 14/3/2026")
        await chat.say("5")
        await chat.say("5")
        await chat.say("0")
        await chat.say("2")
        await chat.say("-")
        await chat.say("-")
        await chat.press("Có")
        await chat.press("Lưu")
    finally:
        await restarted.close()
    (saved,) = SAVED
    assert saved["title"] == "Họp" and saved["days"] == (date(2026, 3, 13), date(2026, 3, 14))
    assert saved["budget"] == 0 and saved["topics"] == ["health"] and saved["link"] is None


async def test_numbered_choices_without_buttons(app) -> None:
    await _member(app)
    async with app.sessions() as session:
        member_id = await session.scalar(select(Member.id))
    console_id, _name = await identity_for_member(app, member_id)
    chat = Chat(app, console_id, CONSOLE, channel="console")  # the member, without buttons
    (reply,) = await chat.send("/toyform")
    assert reply.choices == ()  # free text: a typed "1" is an answer, not a choice
    assert reply.text == "A toy form.\nTitle?\n(/cancel: dừng lại)"
    out = await chat.say("1")
    assert out == "Kind?" and chat.labels() == ["Training", "Meeting", "Quay lại", "Hủy"]
    assert await chat.say("2") == "Days?\n(“quay lại”: về bước trước; /cancel: dừng lại)"
    await chat.say("12/3/2026 - 14/3/2026")
    assert await chat.say("3") == ("Women?\n(“quay lại”: về bước trước; /cancel: dừng lại)")
    await chat.say("2")  # women: not Back, which is not numbered here
    out = await chat.say("1")  # the budget is 1 đồng
    assert out.splitlines()[:4] == ["Topics?", "1. Law", "2. Health", "3. Economy"]
    assert chat.labels() == []
    assert (await chat.say("4")).startswith("Không có lựa chọn số 4.\nTopics?")
    assert (await chat.say("Luật")).startswith("Vui lòng ghi số thứ tự")
    assert (await chat.say("3 1")).startswith("Link?")
    assert "“bỏ qua”: để trống mục này" in chat.last.text  # type: ignore[union-attr]
    await chat.say("bỏ qua")
    await chat.say("-")
    assert chat.labels() == ["Có", "Không", "Quay lại", "Hủy"]
    summary = await chat.say("1")
    assert "Kind: Meeting" in summary and "Topics: Law, Economy" in summary
    assert chat.labels() == ["Lưu", "Hủy", "Sửa một mục"]
    assert (await chat.say("xin chào")).startswith("Vui lòng chọn một trong các mục dưới đây.")
    await chat.say("3")  # change an answer
    await chat.say("1")  # the title
    assert (await chat.say("Họp quý")).endswith("Lưu lại?")
    await chat.say("1")
    (saved,) = SAVED
    assert saved["title"] == "Họp quý" and saved["people"] == 3 and saved["women"] == 2
    assert saved["budget"] == 1 and saved["press"] is True and saved["kind"] == "meeting"


async def test_a_form_needs_its_role_to_the_end(app) -> None:
    chat = await _member(app, role=Role.focal)
    assert await chat.say("/toyfocal") == "A toy form.\nTitle?"
    async with app.sessions() as session, session.begin():
        member = await session.scalar(select(Member))
        assert member is not None
        member.role = Role.member
    out = await chat.say("Họp")
    assert out == "Lựa chọn này không còn hiệu lực. Gửi /help để bắt đầu lại."
    assert await chat.state() == (None, {}) and SAVED == []


# --- field parsing, without a database ---------------------------------------------------


def _ctx(lang: str = "vi", **values: Any) -> Ctx:
    now = datetime(2026, 3, 2, 2, tzinfo=UTC)
    return Ctx(Translator(lang), now.date(), values, {}, {"people": N_("People")})


@pytest.mark.parametrize("text, amount", [
    ("1500000", 1_500_000), ("1.500.000", 1_500_000), ("1,500,000", 1_500_000),
    ("1 500 000", 1_500_000), ("1.500.000 đ", 1_500_000), ("1.500.000 đồng", 1_500_000),
    ("1500000VND", 1_500_000), ("1,5 triệu", 1_500_000), ("1.5tr", 1_500_000),
    ("2 tr", 2_000_000), ("500k", 500_000), ("500 nghìn", 500_000), ("1,25 tỷ", 1_250_000_000),
    ("0", 0),
])
def test_money_reads_whole_dong(text: str, amount: int) -> None:
    value = Money(name="m", label="", question="").parse(text, _ctx())
    assert value == amount and isinstance(value, int)


@pytest.mark.parametrize("text", ["1,5", "1500000.5", "1.50.000", "1.500,000", "1,5 triệu đô",
                                  "-5", "1e6", "", "١٢٣", "0,001 k"])
def test_money_refuses_what_is_not_whole_dong(text: str) -> None:
    with pytest.raises(FieldError):
        Money(name="m", label="", question="").parse(text, _ctx())


def test_displays_follow_the_language() -> None:
    money = Money(name="m", label="", question="")
    assert money.display(1_500_000, _ctx("vi")) == "1.500.000 đồng"
    assert money.display(1_500_000, _ctx("en")) == "1,500,000 VND"
    yes = YesNo(name="y", label="", question="")
    assert (yes.display(True, _ctx("vi")), yes.display(False, _ctx("en"))) == ("Có", "No")
    assert (yes.parse("Có", _ctx()), yes.parse("k", _ctx()), yes.parse("yes", _ctx())) == (
        True, False, True)


@pytest.mark.parametrize("text, start_, end", [
    ("12/3/2026 - 14/3/2026", date(2026, 3, 12), date(2026, 3, 14)),
    ("12/3-14/3/2026", date(2026, 3, 12), date(2026, 3, 14)),
    ("2026-03-12 đến 2026-03-14", date(2026, 3, 12), date(2026, 3, 14)),
    ("28/12 – 3/1/2027", date(2026, 12, 28), date(2027, 1, 3)),
    ("12.3.2026-12.3.2026", date(2026, 3, 12), date(2026, 3, 12)),
])
def test_day_ranges(text: str, start_: date, end: date) -> None:
    field = DayRange(name="d", label="", question="")
    value = field.parse(text, _ctx())
    assert value == (start_, end)
    assert field.from_json(field.to_json(value)) == value  # JSON and back: dates again


def test_days_and_counts() -> None:
    day = Day(name="d", label="", question="", check_day=not_past)
    for text in ("5/3/2026", "05/03/2026", "5.3.2026", "2026-03-05", "5-3-2026"):
        assert day.parse(text, _ctx()) == date(2026, 3, 5), text
    for text in ("5/3", "5/3/26", "2026/03/05", "٥/٣/٢٠٢٦"):
        with pytest.raises(FieldError):
            day.parse(text, _ctx())
    with pytest.raises(FieldError):  # today is 2/3/2026 (UTC, the test has no unit)
        day.check(date(2026, 3, 1), _ctx())
    day.check(date(2026, 3, 2), _ctx())
    women = Count(name="women", label="", question="", at_most="people")
    with pytest.raises(FieldError) as refused:
        women.check(11, _ctx(people=10))
    assert refused.value.args_ == {"other": "People", "limit": "10"}
    women.check(10, _ctx(people=10))
    women.check(99, _ctx(people=None))  # skipped: nothing to compare with


# --- /deadline, declared on the engine -----------------------------------------------------


async def test_deadline_one_line_falls_back_to_asking_the_bad_part(app, clock) -> None:
    from bot.models import Duty

    chat = await _member(app, role=Role.admin)
    (reply,) = await chat.send("/deadline 30/2/2027 | Báo cáo năm | 12/UBND")
    assert reply.text.splitlines() == [
        "Tôi chưa đọc được ngày này. Vui lòng ghi theo dạng 15/12/2026.", "Thêm hạn mới.",
        "Hạn là ngày nào? Ghi ngày theo dạng 15/12/2026."]
    assert chat.labels() == ["Hủy"]  # title and letter were given: nothing to go back to
    out = await chat.say("1/3/2027")
    assert out == "Hạn này áp dụng cho ai?"
    assert chat.labels() == ["Chỉ Sở Lao động", "Sở Lao động và tất cả đơn vị trực thuộc",
                             "Quay lại", "Hủy"]
    assert chat.button("Sở Lao động và") == "form:deadline:pick:scope:subtree"
    summary = await chat.press("Sở Lao động và")
    assert summary.splitlines()[:5] == [
        "Hạn mới:", "Nội dung: Báo cáo năm", "Hạn: thứ Hai, ngày 01/03/2027",
        "Theo Công văn số 12/UBND", "Áp dụng cho: Sở Lao động và tất cả đơn vị trực thuộc"]
    await chat.press("Sửa một mục")
    assert chat.labels() == ["Việc cần làm", "Hạn", "Số công văn", "Đơn vị thực hiện",
                             "Quay lại bản tóm tắt"]
    await chat.press("Số công văn")
    assert "Không có số công văn" in await chat.press("Bỏ qua")
    assert (await chat.press("Lưu")).startswith("Đã lưu")
    async with app.sessions() as session:
        duty = await session.scalar(select(Duty).where(Duty.kind == "deadline"))
    assert duty is not None and duty.title_vi == "Báo cáo năm" and duty.scope == "subtree"
    assert duty.letter_number is None and duty.recurrence == {"kind": "once", "on": "2027-03-01"}
