"""Check-ins, one form per activity type: every type checked in once on the console (numbered
choices, through the router) and on Telegram (the real bot against the fake Bot API), every
kind of bad answer tried on every field, and the stored row compared with what was confirmed.

The table ``CASES`` holds a good answer per asked field (in form order) and the JSON each one
must be stored as; the bad answers follow from each field's kind in the catalog
(``bad_answers``). Questions, labels and options are the catalog's Vietnamese texts; reasons
are the form engine's messages as the Vietnamese catalog translates them. Today is Monday
2/3/2026 in Asia/Ho_Chi_Minh (the ``clock`` fixture).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, datetime
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import select

from bot.app import start_channel
from bot.channels.console import identity_for_member
from bot.channels.telegram import TelegramChannel
from bot.context import AppContext
from bot.i18n import Translator
from bot.models import Checkin, CheckinRevision, CheckinValue, Conversation, Role
from bot.services import activities
from bot.services.activities import ActivityType, FieldSpec
from handlers.checkins import describe
from handlers.forms.fields import fill
from tests.conftest import VN, add_tg_member, add_unit, make_settings
from tests.test_forms import CONSOLE, Chat

VI = Translator("vi")
TODAY = date(2026, 3, 2)
MEMBER_TG, FOCAL_TG = 9101, 9102


def vi(msgid: str, **args: Any) -> str:
    """A message as a Vietnamese reader gets it."""
    return fill(VI.gettext(msgid), args)


def vi_prefix(msgid: str) -> str:
    """The fixed start of a message with placeholders (e.g. 'Đã lưu: ' of 'Saved: {what}')."""
    return VI.gettext(msgid).split("{", 1)[0]


SUMMARY_TITLE = vi("Please check before saving:")
SAVE_IT = vi("Save it?")


def question(spec: FieldSpec) -> str:
    return spec.question.translations["vi"]


def label(spec: FieldSpec) -> str:
    return spec.label.translations["vi"]


def option_label(spec: FieldSpec, value: str) -> str:
    return next(o.label.translations["vi"] for o in spec.options if o.value == value)


def kind_of(code: str) -> ActivityType:
    kind = activities.get(code)
    assert kind is not None, code
    return kind


def spec_of(code: str, name: str) -> FieldSpec:
    spec = kind_of(code).field(name)
    assert spec is not None, (code, name)
    return spec


def _ask(code: str, name: str) -> str:
    return question(spec_of(code, name))


# --- the table -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Pick:
    """A choice answer: by button on Telegram, by number on the console ('1,3' for several)."""

    values: tuple[str, ...]


def pick(*values: str) -> Pick:
    return Pick(values)


SKIP = "bỏ qua"


@dataclass(frozen=True)
class Case:
    code: str
    answers: list[tuple[str, str | Pick]]  # asked fields, in form order, with a good answer
    fields: dict[str, Any]  # the stored JSON, every field of the type
    dates: tuple[date, date]  # starts_on, ends_on
    period: tuple[int, int]  # administrative (year, half): 15/12 of the year before to 14/12
    given: tuple[str, ...] = ()  # fields filled without asking (a date that is today)


LONG = "Phụ nữ tham gia lãnh đạo, quản lý trong khu vực công: kết quả và bài học kinh nghiệm. "

CASES: list[Case] = [
    Case("article",
         [("date", "15/12/2025"), ("title", "Phụ nữ với chuyển đổi số"),
          ("channel", pick("portal")), ("url", "https://phunu.gov.vn/bai-viet/123")],
         {"date": "2025-12-15", "title": "Phụ nữ với chuyển đổi số", "channel": "portal",
          "url": "https://phunu.gov.vn/bai-viet/123"},
         (date(2025, 12, 15), date(2025, 12, 15)), (2026, 1)),  # 15/12: next year's first half
    Case("communication",
         [("dates", "14/12/2025 - 16/12/2025"), ("title", "Tọa đàm Luật Bình đẳng giới"),
          ("mode", pick("dedicated")), ("format", pick("seminar")),
          ("organisers", pick("ban", "doan_tn")), ("campaign", pick("ge_month")),
          ("participants", "120"), ("women", "80")],
         {"dates": ["2025-12-14", "2025-12-16"], "title": "Tọa đàm Luật Bình đẳng giới",
          "mode": "dedicated", "format": "seminar", "organisers": ["ban", "doan_tn"],
          "campaign": "ge_month", "participants": 120, "women": 80},
         (date(2025, 12, 14), date(2025, 12, 16)), (2025, 2)),  # 14/12: still 2025
    Case("training",
         [("dates", "12/2/2026 - 14/2/2026"), ("title", "Tập huấn Luật Bình đẳng giới"),
          ("topic", pick("mainstreaming")), ("audience", pick("leaders", "pool", "union")),
          ("format", pick("mixed")), ("classes", "2"), ("attendances", "45"),
          ("women", "30"), ("pool", "12")],
         {"dates": ["2026-02-12", "2026-02-14"], "title": "Tập huấn Luật Bình đẳng giới",
          "topic": "mainstreaming", "audience": ["leaders", "pool", "union"],
          "format": "mixed", "classes": 2, "attendances": 45, "women": 30, "pool": 12},
         (date(2026, 2, 12), date(2026, 2, 14)), (2026, 1)),
    Case("sent_training",
         [("date", "14/6/2025"), ("course", "Bồi dưỡng kỹ năng lãnh đạo cho cán bộ nữ"),
          ("organiser", "Học viện Phụ nữ Việt Nam"), ("sent", "3"), ("women", "2")],
         {"date": "2025-06-14", "course": "Bồi dưỡng kỹ năng lãnh đạo cho cán bộ nữ",
          "organiser": "Học viện Phụ nữ Việt Nam", "sent": 3, "women": 2},
         (date(2025, 6, 14), date(2025, 6, 14)), (2025, 1)),  # 14/6: the first half's end
    Case("document",
         [("date", "15/6/2025"), ("kind", pick("plan")), ("number", "12/KH-BVSTBPN"),
          ("subject", "Kế hoạch hoạt động vì sự tiến bộ của phụ nữ năm 2025"),
          ("purpose", pick("annual_plan"))],
         {"date": "2025-06-15", "kind": "plan", "number": "12/KH-BVSTBPN",
          "subject": "Kế hoạch hoạt động vì sự tiến bộ của phụ nữ năm 2025",
          "purpose": "annual_plan"},
         (date(2025, 6, 15), date(2025, 6, 15)), (2025, 2)),  # 15/6: the second half
    Case("mainstreaming",
         [("period", "6 tháng cuối năm 2025"), ("drafted", "5"), ("mainstreamed", "3")],
         {"period": ["2025-07-01", "2025-12-31"], "drafted": 5, "mainstreamed": 3},
         (date(2025, 7, 1), date(2025, 12, 31)), (2025, 2)),
    Case("model",
         [("date", "20/12/2025"), ("name", "Câu lạc bộ Nữ lãnh đạo"), ("stage", pick("new")),
          ("status", pick("effective")), ("funding", "1,5 triệu")],
         {"date": "2025-12-20", "name": "Câu lạc bộ Nữ lãnh đạo", "stage": "new",
          "status": "effective", "funding": 1_500_000},
         (date(2025, 12, 20), date(2025, 12, 20)), (2026, 1)),
    Case("commendation",
         [("date", "2/3/2026"), ("decision", "123/QĐ-UBND"), ("level", pick("ministry")),
          ("collectives", "0"), ("individuals", "10"), ("women", "7")],
         {"date": "2026-03-02", "decision": "123/QĐ-UBND", "level": "ministry",
          "collectives": 0, "individuals": 10, "women": 7},
         (TODAY, TODAY), (2026, 1)),  # today is not in the future
    Case("inspection",
         [("date", "10/1/2026"), ("kind", pick("so_ket")), ("units", "12"), ("findings", SKIP)],
         {"date": "2026-01-10", "kind": "so_ket", "units": 12, "findings": None},
         (date(2026, 1, 10), date(2026, 1, 10)), (2026, 1)),
    Case("budget",
         [("period", "2026"), ("planned", "50 triệu"), ("spent", "12.500.000"),
          ("sources", pick("state", "international"))],
         {"period": ["2026-01-01", "2026-12-31"], "planned": 50_000_000, "spent": 12_500_000,
          "sources": ["state", "international"]},
         (date(2026, 1, 1), date(2026, 12, 31)), (2026, 1)),
    Case("gbv_support",
         [("period", "quý 4/2025"), ("detected", "4"), ("referred", "3"), ("supported", "6"),
          ("supported_women", "5")],
         {"period": ["2025-10-01", "2025-12-31"], "detected": 4, "referred": 3, "supported": 6,
          "supported_women": 5},
         (date(2025, 10, 1), date(2025, 12, 31)), (2025, 2)),
    Case("cooperation",
         [("date", "5/11/2025"), ("partner", "UN Women"),
          ("content", "Hỗ trợ kỹ thuật xây dựng bộ chỉ số thống kê giới của ngành"),
          ("amount", "2 tỷ")],
         {"date": "2025-11-05", "partner": "UN Women",
          "content": "Hỗ trợ kỹ thuật xây dựng bộ chỉ số thống kê giới của ngành",
          "amount": 2_000_000_000},
         (date(2025, 11, 5), date(2025, 11, 5)), (2025, 2)),
    Case("profile",
         [("as_of", "30/11/2025"), ("staff", "120"), ("staff_women", "70"), ("leaders", "10"),
          ("leaders_women", "3"), ("pool", "20"), ("pool_women", "8"),
          ("pool_women_trained", "5"), ("trained_ge", "60"), ("party_committee", "0"),
          ("party_committee_women", "0"), ("union_committee", "9"),
          ("union_committee_women", "4")],
         {"as_of": "2025-11-30", "staff": 120, "staff_women": 70, "leaders": 10,
          "leaders_women": 3, "pool": 20, "pool_women": 8, "pool_women_trained": 5,
          "trained_ge": 60, "party_committee": 0, "party_committee_women": 0,
          "union_committee": 9, "union_committee_women": 4},
         (date(2025, 11, 30), date(2025, 11, 30)), (2025, 2)),
    Case("difficulties",
         [("difficulties", LONG.strip()), ("causes", "Thiếu kinh phí và cán bộ chuyên trách"),
          ("proposals", SKIP)],
         {"date": "2026-03-02", "difficulties": LONG.strip(),
          "causes": "Thiếu kinh phí và cán bộ chuyên trách", "proposals": None},
         (TODAY, TODAY), (2026, 1), given=("date",)),
]
CASE = {case.code: case for case in CASES}


def test_the_table_covers_every_type_and_field() -> None:
    """A type or field added to the catalog must be added here too."""
    catalog = activities.catalog()
    assert list(CASE) == list(catalog)
    for case in CASES:
        kind = catalog[case.code]
        names = [f.name for f in kind.fields]
        assert list(case.fields) == names, case.code
        assert [n for n, _ in case.answers] == [n for n in names if n not in case.given]
    kinds = {f.kind for k in catalog.values() for f in k.fields}
    assert kinds == activities.KINDS - {"yesno"}  # no type asks yes/no (yet)


# --- bad answers, from each field's kind -----------------------------------------------------


@dataclass(frozen=True)
class Bad:
    answer: str  # typed text; a button value when ``press``
    reason: str  # the reply's first line
    press: bool = False
    repeats: bool = True  # the question comes again under the reason


def _limit(case: Case, spec: FieldSpec) -> int:
    assert spec.at_most is not None
    value = case.fields[spec.at_most]
    assert isinstance(value, int)
    return value


def bad_answers(case: Case, spec: FieldSpec, console: bool, choices: int) -> list[Bad]:
    """Every applicable kind of bad answer for this field (``choices``: buttons offered)."""
    bad: list[Bad] = []
    too_long = "That is too long: at most {max} characters, and this has {n}."
    not_yet = vi("That date is still to come (today is {today}). Please give the day it took "
                 "place.", today="02/03/2026")
    match spec.kind:
        case "text" | "longtext":
            most = spec.max_len or (255 if spec.kind == "text" else 2000)
            text = (LONG * (most // len(LONG) + 1))[:most] + "."  # stripping keeps its length
            bad += [Bad(text, vi(too_long, max=str(most), n=str(most + 1))),
                    Bad("bỏ qua", vi("This one is needed, so it cannot be skipped."))]
        case "count":
            number = vi("Please write a whole number (0 or more) in digits, like 45.")
            bad += [Bad("bốn mươi", number), Bad("-5", number)]
            if spec.minimum:
                bad.append(Bad(str(spec.minimum - 1), vi("This must be at least {min}.",
                                                         min=str(spec.minimum))))
            if spec.at_most:
                limit = _limit(case, spec)
                other = spec_of(case.code, spec.at_most)
                bad.append(Bad(str(limit + 1), vi("This cannot be more than “{other}” ({limit}).",
                                                  other=label(other), limit=VI.number(limit))))
        case "money":
            money = vi("Please write the amount in đồng, like 1.500.000 or 1,5 triệu.")
            bad += [Bad("năm triệu", money), Bad("-100000", money)]
        case "day":
            bad.append(Bad("31/2/2026",
                           vi("I could not read that date. Please write it like 15/12/2026.")))
            if spec.past:
                bad.append(Bad("20/3/2026", not_yet))
        case "days":
            bad.append(Bad("31/2/2026", vi("I could not read that date. Please write it like "
                                           "12/3/2026, or two dates like 12/3/2026 - 14/3/2026.")))
            if spec.past:
                bad.append(Bad("20/3/2026 - 22/3/2026", not_yet))
        case "period":
            bad.append(Bad("31/2/2026", vi(
                "I could not read that period. Please write a year like 2027, a half year like "
                "6 tháng đầu năm 2027, a quarter like quý 1/2027, a month like tháng 3/2027, or "
                "two dates like 1/1/2027 - 30/6/2027.")))
            if spec.past:
                bad.append(Bad("quý 2/2026", not_yet))
        case "url":
            link = vi("Please send a web address starting with https://, like "
                      "https://phunu.gov.vn/bai-viet.")
            bad += [Bad("phunu gov vn", link), Bad("https://phunu.gov.vn/bai viet", link)]
            if spec.needed_if and case.fields[spec.needed_if[0]] in spec.needed_if[1]:
                bad.append(Bad("bỏ qua", vi("This one is needed, so it cannot be skipped.")))
        case "choice":
            one = vi("Please pick one of the choices below.")
            if console:  # a number no choice has: said so, and the question again
                bad.append(Bad(str(choices + 1), vi(
                    "There is no choice number {n}.", n=str(choices + 1))))
            else:  # a forged button
                bad.append(Bad(f"form:ck_{case.code}:pick:{spec.name}:nonsense", one,
                               press=True))
            # Last: its reply offers the choices again (the router's answer above does not).
            bad.append(Bad("Không có trong danh sách", one))
        case "multi":
            if console:
                n = len(spec.options) + 1
                bad += [Bad(f"1,{n}", vi("There is no choice number {n}.", n=str(n))),
                        Bad("Luật", vi("Please write the numbers of your choices, like 1,3."))]
            else:
                bad.append(Bad(f"form:ck_{case.code}:done:{spec.name}",
                               vi("Please pick at least one."), press=True))
        case _:
            raise AssertionError(f"no bad answers for {spec.kind}")
    if spec.optional and spec.kind in ("text", "longtext"):
        bad = [b for b in bad if b.answer != "bỏ qua"]
    return bad


# --- who talks: the console through the router, or Telegram through the fake Bot API --------


class Person:
    channel: str

    async def type(self, text: str) -> str:
        raise NotImplementedError

    async def press_value(self, value: str) -> str:
        raise NotImplementedError

    def buttons(self) -> list[tuple[str, str]]:
        """(label, value) of the last message's buttons."""
        raise NotImplementedError

    async def press(self, label_: str) -> str:
        found = [v for text, v in self.buttons() if text.removeprefix("✅ ") == label_]
        assert len(found) == 1, (label_, self.buttons())
        return await self.press_value(found[0])

    async def step(self) -> str | None:
        """The form step the person's open dialogue is at (None: no dialogue)."""
        raise NotImplementedError


class Console(Person):
    """A member at the command-line console: no buttons, choices are numbered."""

    channel = "console"

    def __init__(self, chat: Chat) -> None:
        self.chat = chat

    async def type(self, text: str) -> str:
        replies = await self.chat.send(text)
        assert len(replies) == 1, replies
        return replies[0].text

    async def press_value(self, value: str) -> str:
        raise AssertionError("the console has no buttons")

    def buttons(self) -> list[tuple[str, str]]:
        assert self.chat.last is not None
        return [(c.label, c.value) for c in self.chat.last.choices]

    async def step(self) -> str | None:
        state, data = await self.chat.state()
        return data.get("step") if state else None


class Telegram(Person):
    """A member on Telegram: the real bot (python-telegram-bot) against the fake Bot API."""

    channel = "telegram"

    def __init__(self, app: AppContext, tg: Any, user: int) -> None:
        self.app, self.tg, self.user = app, tg, user
        self.last: Any = None

    async def _wait(self, before: int) -> str:
        sent = await self.tg.wait_for_messages(self.user, before + 1)
        self.last = sent[-1]
        return self.last.text or ""

    async def type(self, text: str) -> str:
        before = len(self.tg.sent_messages(self.user))
        self.tg.push_message(self.user, text)
        return await self._wait(before)

    async def press_value(self, value: str) -> str:
        before = len(self.tg.sent_messages(self.user))
        self.tg.push_callback(self.user, value, message_id=self.last.message_id)
        return await self._wait(before)

    def buttons(self) -> list[tuple[str, str]]:
        return [(b["text"], b["callback_data"]) for b in self.last.buttons]

    async def step(self) -> str | None:
        async with self.app.sessions() as session:
            convo = await session.scalar(select(Conversation).where(
                Conversation.channel == "telegram", Conversation.external_id == str(self.user)))
            return convo.data.get("step") if convo is not None and convo.state else None


async def _unit_with_members(app: AppContext) -> tuple[int, int, int]:
    unit = await add_unit(app, "Sở Lao động")
    member = await add_tg_member(app, unit, Role.member, "Nguyễn Lan", MEMBER_TG)
    focal = await add_tg_member(app, unit, Role.focal, "Trần Hoa", FOCAL_TG)
    return unit, member, focal


# --- one check-in, field by field ------------------------------------------------------------


def _lines(text: str) -> list[str]:
    return text.splitlines()


async def answer_choice(person: Person, spec: FieldSpec, wanted: Pick) -> str:
    labels = [option_label(spec, v) for v in wanted.values]
    if spec.kind == "choice":
        (one,) = labels
        if isinstance(person, Console):
            offered = [text for text, _ in person.buttons()]
            return await person.type(str(offered.index(one) + 1))
        return await person.press(one)
    order = [o.value for o in spec.options]
    if isinstance(person, Console):  # '1,3': the options' numbers as the question lists them
        return await person.type(",".join(str(order.index(v) + 1) for v in wanted.values))
    for text in labels:
        out = await person.press(text)
        assert _lines(out)[0] == question(spec), out
    marked = [text.removeprefix("✅ ") for text, _ in person.buttons() if text.startswith("✅ ")]
    assert marked == [option_label(spec, v) for v in order if v in wanted.values]
    return await person.press(vi("Done choosing"))


async def check_in(person: Person, case: Case, first: str) -> list[str]:
    """Answer every question of ``case`` (``first``: the reply that asked the first), each
    bad answer first; return the summary's lines. Every reply is checked on the way."""
    out = first
    for name, good in case.answers:
        spec = spec_of(case.code, name)
        assert question(spec) in _lines(out), (case.code, name, out)
        assert await person.step() == name
        console = isinstance(person, Console)
        offered = person.buttons()
        for bad in bad_answers(case, spec, console, len(offered)):
            out = await (person.press_value(bad.answer) if bad.press else person.type(bad.answer))
            lines = _lines(out)
            assert lines[0] == bad.reason, (case.code, name, bad.answer, out)
            if bad.repeats:  # the same question, with the same choices
                assert lines[1] == question(spec), (case.code, name, bad.answer, out)
                assert person.buttons() == offered, (case.code, name, bad.answer)
            assert await person.step() == name, (case.code, name, bad.answer)
        if isinstance(good, Pick):
            out = await answer_choice(person, spec, good)
        else:
            out = await person.type(good)
    lines = _lines(out)
    assert lines[0] == SUMMARY_TITLE and lines[-1] == SAVE_IT, out
    assert [text for text, _ in person.buttons()] == [vi("Save"), vi("Cancel"),
                                                      vi("Change an answer")]
    return lines[1:-2]


def expected_numbers(kind: ActivityType, fields: dict[str, Any]) -> dict[str, int]:
    """What reports add up: counts and amounts by field, 1 for each option picked."""
    numbers: dict[str, int] = {}
    for spec in kind.fields:
        value = fields[spec.name]
        if value is None:
            continue
        if spec.kind in ("count", "money"):
            numbers[spec.name] = value
        elif spec.kind == "choice":
            numbers[f"{spec.name}={value}"] = 1
        elif spec.kind == "multi":
            numbers.update({f"{spec.name}={v}": 1 for v in value})
    return numbers


async def stored_equals_confirmed(
    app: AppContext, case: Case, summary: list[str], *, unit: int, member: int, channel: str
) -> None:
    kind = kind_of(case.code)
    async with app.sessions() as session:
        (row,) = (await session.scalars(select(Checkin).where(Checkin.channel == channel))).all()
        values = {v.name: v.value for v in await session.scalars(
            select(CheckinValue).where(CheckinValue.checkin_id == row.id))}
        (revision,) = (await session.scalars(
            select(CheckinRevision).where(CheckinRevision.checkin_id == row.id))).all()
    assert row.activity == case.code
    for name, wanted in case.fields.items():  # field by field, for a readable failure
        assert row.fields.get(name) == wanted, (case.code, name, row.fields.get(name))
    assert row.fields == case.fields
    assert (row.starts_on, row.ends_on) == case.dates
    assert (row.period_year, row.period_half) == case.period
    assert (row.channel, row.member_id, row.unit_id) == (channel, member, unit)
    assert row.deleted_at is None and row.created_at == app.clock.now()
    assert values == expected_numbers(kind, case.fields)
    assert revision.action == "created" and revision.new == case.fields
    # What was stored reads back as the summary the member confirmed, line by line.
    shown = describe(SimpleNamespace(t=VI, today=TODAY), row)  # what /mine shows too
    assert shown == summary


# --- the matrix: every type, every bad answer, on the console and on Telegram ----------------


@pytest.fixture
async def bot(database_url: str, clock, tg_api) -> AsyncIterator[AppContext]:
    """The app with its Telegram channel running against the fake Bot API."""
    app = await AppContext.create(
        make_settings(database_url, telegram_base_url=tg_api.base_url), clock=clock)
    runner = TelegramChannel(app)
    await start_channel(app, runner)
    try:
        yield app
    finally:
        await runner.stop()
        await app.close()


@pytest.mark.parametrize("code", list(CASE))
async def test_every_type_on_the_console_and_on_telegram(
    bot: AppContext, tg_api, code: str
) -> None:
    """The type checked in once at the console (numbered choices, typed 'lưu') and once on
    Telegram (buttons); each time every bad answer first, and the row as confirmed."""
    case, kind = CASE[code], kind_of(code)
    name = kind.label.translations["vi"]
    unit, member, focal = await _unit_with_members(bot)
    who, user = (focal, FOCAL_TG) if kind.role == Role.focal else (member, MEMBER_TG)

    console_id, _name = await identity_for_member(bot, who)
    person: Person = Console(Chat(bot, console_id, CONSOLE, channel="console"))
    offer = await person.type("/checkin")
    assert _lines(offer)[0] == vi("What would you like to record?")
    offered = [text for text, _ in person.buttons()]
    first = await person.type(str(offered.index(name) + 1))
    assert _lines(first)[0] == vi("New check-in: {type}.", type=name)
    summary = await check_in(person, case, first)
    saved = await person.type("lưu")  # the word; Save's number, 1, would do too
    assert saved.startswith(vi_prefix("Saved: {what}. Thank you!")), saved
    assert await person.step() is None
    await stored_equals_confirmed(bot, case, summary, unit=unit, member=who, channel="console")

    person = Telegram(bot, tg_api, user)
    await person.type("/checkin")
    assert (name, f"ck:{code}") in person.buttons()
    first = await person.press_value(f"ck:{code}")
    assert _lines(first)[0] == vi("New check-in: {type}.", type=name)
    summary = await check_in(person, case, first)
    saved = await person.press(vi("Save"))
    assert saved.startswith(vi_prefix("Saved: {what}. Thank you!")), saved
    assert await person.step() is None
    await stored_equals_confirmed(bot, case, summary, unit=unit, member=who, channel="telegram")


async def test_console_wrong_choice_number_repeats_the_question(app) -> None:
    _unit, member, _focal = await _unit_with_members(app)
    console_id, _name = await identity_for_member(app, member)
    person = Console(Chat(app, console_id, CONSOLE, channel="console"))
    await person.type("/checkin")
    await person.type("1")  # an article
    await person.type("15/12/2025")
    out = await person.type("Phụ nữ với chuyển đổi số")
    ask = _ask("article", "channel")
    assert _lines(out)[0] == ask
    out = await person.type("9")
    assert _lines(out)[0] == vi("There is no choice number {n}.", n="9")
    assert ask in _lines(out)


# --- who may check in what ---------------------------------------------------------------------

FOCAL_ONLY = ["budget", "gbv_support", "profile"]


def offered(chat: Chat) -> list[str]:
    """The activity types the last reply offered, by code."""
    assert chat.last is not None
    return [c.value.removeprefix("ck:") for c in chat.last.choices]


async def test_focal_only_types_are_refused_to_a_plain_member(app) -> None:
    assert [k.code for k in activities.catalog().values() if k.role == Role.focal] == FOCAL_ONLY
    unit = await add_unit(app, "Sở Lao động")
    await add_tg_member(app, unit, Role.member, "Nam", MEMBER_TG, lang="en")
    await add_tg_member(app, unit, Role.focal, "Hoa", FOCAL_TG, lang="en")
    member, focal = Chat(app, str(MEMBER_TG)), Chat(app, str(FOCAL_TG))

    await member.send("/checkin")
    assert offered(member) == [code for code in CASE if code not in FOCAL_ONLY]
    await focal.send("/checkin")
    assert offered(focal) == list(CASE)

    for code, alias in zip(FOCAL_ONLY, ("kinh phí", "bạo lực", "số liệu"), strict=True):
        refused = f"Only the focal point and admins can enter “{kind_of(code).label}”."
        # By the one-line form, and by a button the member was never offered.
        assert await member.say(f"/checkin {alias} 2026") == refused
        assert await member.press_value(f"ck:{code}") == refused
        assert member.labels() == []
        async with app.sessions() as session:
            convo = await session.scalar(select(Conversation).where(
                Conversation.external_id == str(MEMBER_TG)))
            assert convo is None or convo.state is None
        # The focal point gets the form.
        (reply,) = await focal.send(f"/checkin {alias}")
        assert reply.text.splitlines()[0] == f"New check-in: {kind_of(code).label}."
        assert (await focal.state())[0] == f"form:ck_{code}"
        await focal.send("/cancel")
    async with app.sessions() as session:
        assert (await session.scalars(select(Checkin))).all() == []


# --- the one-line form ---------------------------------------------------------------------


async def press(chat: Chat, text: str) -> str:
    """Press the button labelled exactly ``text``."""
    assert chat.last is not None
    (value,) = [c.value for c in chat.last.choices if c.label == text]
    return await chat.press_value(value)


async def _stored(app: AppContext) -> list[Checkin]:
    async with app.sessions() as session:
        return list((await session.scalars(select(Checkin))).all())


async def test_one_line_training_asks_only_the_rest(app, clock) -> None:
    clock.set(datetime(2026, 3, 20, 9, 0, tzinfo=VN))
    unit, member, _focal = await _unit_with_members(app)
    chat = Chat(app, str(MEMBER_TG))
    (reply,) = await chat.send("/checkin tập huấn 12/3 45 30 Tập huấn Luật Bình đẳng giới")
    assert reply.text.splitlines() == [
        vi("New check-in: {type}.", type="Lớp bồi dưỡng, tập huấn do đơn vị tổ chức"),
        _ask("training", "topic")]
    assert chat.labels()[-1] == vi("Cancel") and vi("Back") not in chat.labels()
    assert await chat.press("Kiến thức về bình đẳng giới") == _ask("training", "audience")
    await chat.press("Thành viên Ban")
    assert (await chat.press(vi("Done choosing"))) == _ask("training", "format")
    assert await press(chat, "Trực tiếp") == _ask("training", "classes")
    assert await chat.say("1") == _ask("training", "pool")  # attendances and women were given
    summary = await chat.press(vi("Skip"))
    assert summary.splitlines()[:10] == [
        SUMMARY_TITLE, "Thời gian: 12/03/2026", "Tên lớp: Tập huấn Luật Bình đẳng giới",
        "Chủ đề: Kiến thức về bình đẳng giới", "Đối tượng: Thành viên Ban",
        "Hình thức: Trực tiếp", "Số lớp: 1", "Số lượt người tham dự: 45", "Trong đó nữ: 30",
        "Trong đó nữ trong quy hoạch: —"]
    assert (await chat.press(vi("Save"))).startswith(vi_prefix("Saved: {what}. Thank you!"))
    (row,) = await _stored(app)
    assert row.fields == {
        "dates": ["2026-03-12", "2026-03-12"], "title": "Tập huấn Luật Bình đẳng giới",
        "topic": "ge", "audience": ["ban"], "format": "in_person", "classes": 1,
        "attendances": 45, "women": 30, "pool": None}
    assert (row.starts_on, row.ends_on, row.period_year, row.period_half) == (
        date(2026, 3, 12), date(2026, 3, 12), 2026, 1)
    assert (row.member_id, row.unit_id, row.channel) == (member, unit, "telegram")


async def test_one_line_article_fills_the_link_and_the_latest_date(app) -> None:
    _unit, _member, _focal = await _unit_with_members(app)
    chat = Chat(app, str(MEMBER_TG))
    # Words that name no type: the types are offered instead.
    assert [r.text for r in await chat.send("/checkin họp chi bộ 12/3")] == [
        vi("I did not recognise that kind of activity; please pick one:"),
        vi("What would you like to record?")]
    assert offered(chat) == [code for code in CASE if code not in FOCAL_ONLY]
    (reply,) = await chat.send("/checkin bài https://phunu.gov.vn/a 12/3")
    assert reply.text.splitlines()[1:] == [_ask("article", "title")]
    assert await chat.say("Phụ nữ với chuyển đổi số") == _ask("article", "channel")
    # The link is needed for a portal, and it was given: straight to the summary.
    summary = await chat.press("Cổng/trang thông tin điện tử")
    # Today is 2/3/2026: "12/3" is the latest 12/3 that has happened.
    assert "Ngày đăng: 12/03/2025" in summary.splitlines()
    assert "Đường dẫn: https://phunu.gov.vn/a" in summary.splitlines()
    await chat.press(vi("Save"))
    (row,) = await _stored(app)
    assert row.fields == {"date": "2025-03-12", "title": "Phụ nữ với chuyển đổi số",
                          "channel": "portal", "url": "https://phunu.gov.vn/a"}
    assert (row.period_year, row.period_half) == (2025, 1)


async def test_one_line_with_numbers_it_cannot_place_asks_for_each(app, clock) -> None:
    clock.set(datetime(2026, 3, 20, 9, 0, tzinfo=VN))
    await _unit_with_members(app)
    chat = Chat(app, str(MEMBER_TG))
    (reply,) = await chat.send("/checkin tập huấn 12/3 45 30 2 Tập huấn Luật")
    assert reply.text.splitlines()[0] == vi(
        "I could not tell which number is which, so I will ask for each.")
    assert reply.text.splitlines()[-1] == _ask("training", "topic")
    await chat.press("Khác")
    await chat.press("Cán bộ công đoàn, đoàn thể")
    await chat.press(vi("Done choosing"))
    await press(chat, "Trực tuyến")
    assert await chat.say("2") == _ask("training", "attendances")
    assert await chat.say("45") == _ask("training", "women")
    assert await chat.say("30") == _ask("training", "pool")
    summary = await chat.press(vi("Skip"))
    assert "Thời gian: 12/03/2026" in summary and "Tên lớp: Tập huấn Luật" in summary
    await chat.say("lưu")
    (row,) = await _stored(app)
    assert (row.fields["classes"], row.fields["attendances"], row.fields["women"]) == (2, 45, 30)
    assert row.fields["dates"] == ["2026-03-12", "2026-03-12"]


@pytest.mark.parametrize("line, reason, first", [
    ("/checkin tập huấn 12/3 45 50 Tập huấn Luật",
     vi("This cannot be more than “{other}” ({limit}).", other="Số lượt người tham dự",
        limit="45"), "topic"),
    ("/checkin tập huấn 31/2 45 30 Tập huấn Luật",
     vi("I could not read that date. Please write it like 12/3/2026, or two dates like "
        "12/3/2026 - 14/3/2026."), "dates"),
    ("/checkin bài viết https://phunu.gov.vn/a 20/3/2026 Phụ nữ với chuyển đổi số",
     vi("That date is still to come (today is {today}). Please give the day it took place.",
        today="02/03/2026"), "date"),
    ("/checkin tin https://phunu/a 12/3/2025 Phụ nữ với chuyển đổi số",
     vi("Please send a web address starting with https://, like https://phunu.gov.vn/bai-viet."),
     "channel"),
])
async def test_one_line_bad_value_is_asked_again_with_its_reason(
    app, line: str, reason: str, first: str
) -> None:
    await _unit_with_members(app)
    chat = Chat(app, str(MEMBER_TG))
    (reply,) = await chat.send(line)
    code = "training" if "tập huấn" in line else "article"
    lines = reply.text.splitlines()
    assert lines[0] == reason
    assert lines[-1] == _ask(code, first)
    state, data = await chat.state()
    assert state == f"form:ck_{code}" and data["step"] == first
    if code == "training" and first == "topic":  # the bad women count is asked in its turn
        assert "women" not in data["values"] and data["values"]["attendances"] == 45
        await chat.press("Khác")
        await chat.press("Thành viên Ban")
        await chat.press(vi("Done choosing"))
        await press(chat, "Trực tiếp")
        # Its reason again when its turn comes, so the member knows why it is asked.
        assert (await chat.say("1")).splitlines() == [reason, _ask("training", "women")]
        assert (await chat.say("50")).splitlines() == [reason, _ask("training", "women")]
        assert await chat.say("45") == _ask("training", "pool")
    if first == "channel":  # the broken link is asked again once the channel needs it
        assert (await press(chat, "Mạng xã hội")).splitlines() == [reason, _ask("article", "url")]
        assert (await chat.say("https://phunu/a")).splitlines() == [reason, _ask("article", "url")]
        assert (await chat.say("https://phunu.gov.vn/a")).startswith(SUMMARY_TITLE)
    assert await _stored(app) == []


# --- typed words at the summary --------------------------------------------------------------


async def test_typed_huy_at_the_summary_cancels_and_luu_saves(bot: AppContext, tg_api) -> None:
    unit, member, _focal = await _unit_with_members(bot)
    person = Telegram(bot, tg_api, MEMBER_TG)

    async def to_summary(drafted: str) -> str:
        assert _lines(await person.type("/checkin lồng ghép giới"))[-1] == _ask(
            "mainstreaming", "period")
        assert await person.type("2025") == _ask("mainstreaming", "drafted")
        assert await person.type(drafted) == _ask("mainstreaming", "mainstreamed")
        return await person.type("1")

    summary = await to_summary("4")
    assert "Văn bản, đề án đã xây dựng: 4" in _lines(summary)
    assert await person.type("Hủy") == vi("Cancelled. Nothing was changed.")
    assert await person.step() is None and await _stored(bot) == []
    async with bot.sessions() as session:
        assert (await session.scalars(select(CheckinValue))).all() == []

    summary = await to_summary("6")
    assert await person.type("lưu") != summary
    assert person.last.text.startswith(vi_prefix("Saved: {what}. Thank you!"))
    assert await person.step() is None
    (row,) = await _stored(bot)
    assert row.fields == {"period": ["2025-01-01", "2025-12-31"], "drafted": 6,
                          "mainstreamed": 1}
    assert (row.channel, row.member_id, row.unit_id) == ("telegram", member, unit)
    assert (row.starts_on, row.ends_on, row.period_year, row.period_half) == (
        date(2025, 1, 1), date(2025, 12, 31), 2025, 1)
