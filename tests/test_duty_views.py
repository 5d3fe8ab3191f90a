"""Duty views and duty administration in chat (/duties, /calendar, /deadline, /duty) and .ics."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from icalendar import Calendar as ICalendar
from sqlalchemy import select

from bot.channels.console import CAPS, CHANNEL, ConsoleChat
from bot.context import AppContext
from bot.exports.ics import build_calendar
from bot.messages import Capabilities, Inbound
from bot.models import Duty, Occurrence, Role
from handlers.router import handle
from scheduler.planner import plan
from scheduler.workdays import WorkCalendar
from tests.conftest import VN, add_unit, make_invite

BUTTONS = Capabilities(buttons=True, max_text=4096)


async def _join(app: AppContext, unit_id: int, who: str, role: Role = Role.member,
                lang: str | None = None) -> ConsoleChat:
    chat = ConsoleChat(app, who, who, lang)
    await chat.say(await make_invite(app, unit_id, role))
    return chat


async def _duty(app: AppContext, unit_id: int, code: str) -> Duty:
    async with app.sessions() as session:
        duty = await session.scalar(select(Duty).where(Duty.unit_id == unit_id, Duty.code == code))
        assert duty is not None
        return duty


def _events(content: bytes) -> dict[str, tuple[date, date, str]]:
    """UID → (first day, exclusive end day, summary)."""
    cal = ICalendar.from_ical(content)
    return {
        str(ev["UID"]): (ev.decoded("DTSTART"), ev.decoded("DTEND"), str(ev["SUMMARY"]))
        for ev in cal.walk("VEVENT")
    }


# --- /duties -----------------------------------------------------------------------------


async def test_duties_lists_overdue_then_upcoming_with_shifted_dates(app, clock) -> None:
    clock.set(datetime(2026, 2, 10, 9, tzinfo=VN))
    unit = await add_unit(app, "Sở Nội vụ")
    member = await _join(app, unit, "lan")
    clock.set(datetime(2026, 3, 2, 9, tzinfo=VN))
    # The planner opens the February article (due Fri 27/2: 28/2 is a Saturday); nobody
    # marked it done.
    await plan(app)

    (out,) = await member.say("/duties")
    assert out.startswith("Nhiệm vụ của Sở Nội vụ")
    overdue, upcoming = out.split("Quá hạn:")[1].split("60 ngày tới:")
    assert "thứ Sáu, ngày 27/02/2026 — quá hạn 3 ngày" in overdue
    # 8/3/2026 is a Sunday: due Friday 6/3, four days from Monday 2/3.
    assert ("Ngày Quốc tế Phụ nữ 8/3 năm 2026 — thứ Sáu, ngày 06/03/2026 — còn 4 ngày"
            in upcoming)
    # The April article: 30/4 and 1/5 are holidays, so the last working day is Wed 29/4.
    assert "thứ Tư, ngày 29/04/2026 — còn 58 ngày" in upcoming
    assert "31/03/2026" in upcoming  # March's article: Tuesday 31/3, not shifted
    assert "20/3" not in upcoming  # the optional Happiness Day is off by default
    assert "28/6" not in upcoming  # beyond 60 days
    assert upcoming.index("06/03") < upcoming.index("31/03") < upcoming.index("29/04")


async def test_duties_in_english_and_when_nothing_is_due(app, clock) -> None:
    unit = await add_unit(app, "Dept")
    member = await _join(app, unit, "nam", lang="en")
    (out,) = await member.say("/duties")
    assert "International Women's Day (8 March) activities, 2026 — Friday, March 6, 2026 — " \
           "4 days left" in out
    assert "Overdue" not in out

    admin = await _join(app, unit, "boss", Role.admin)
    async with app.sessions() as session:
        codes = list(await session.scalars(select(Duty.code).where(Duty.unit_id == unit)))
    for code in codes:
        await admin.say(f"/duty {code} off")
    (out,) = await member.say("/duties")
    assert out == "Dept has no open duties in the next 60 days."


async def test_done_occurrences_are_not_listed(app, clock) -> None:
    clock.set(datetime(2026, 2, 10, 9, tzinfo=VN))
    unit = await add_unit(app, "Sở Y tế")
    member = await _join(app, unit, "hoa")
    clock.set(datetime(2026, 3, 2, 9, tzinfo=VN))
    await plan(app)  # opens February's article (overdue) and 8/3 (reminder on 3/3)
    (out,) = await member.say("/duties")
    assert "Quá hạn" in out and "06/03/2026" in out
    async with app.sessions() as session, session.begin():
        occurrences = list(await session.scalars(
            select(Occurrence).where(Occurrence.unit_id == unit)))
        assert {o.key for o in occurrences} == {"2026-02-28", "2026-03-08"}
        for occ in occurrences:
            occ.status = "done"
    (out,) = await member.say("/duties")
    assert "Quá hạn" not in out and "06/03/2026" not in out and "31/03/2026" in out


# --- /calendar and the .ics file ---------------------------------------------------------


async def test_calendar_sends_an_ics_file_with_shifted_all_day_events(app, clock) -> None:
    unit = await add_unit(app, "Sở Tư pháp")
    await _join(app, unit, "lan")
    replies = await handle(app, Inbound(CHANNEL, "lan", "lan", "/calendar"), CAPS)
    (reply,) = replies
    assert reply.file is not None
    assert reply.file.filename == "lich-nhiem-vu.ics" and reply.file.mime == "text/calendar"
    assert "Lịch nhiệm vụ của Sở Tư pháp" in reply.text

    cal = ICalendar.from_ical(reply.file.content)
    assert str(cal["VERSION"]) == "2.0" and cal["PRODID"]
    assert str(cal["X-WR-TIMEZONE"]) == "Asia/Ho_Chi_Minh"
    assert str(cal["X-WR-CALNAME"]) == "Nhiệm vụ của Sở Tư pháp"
    womens_day = await _duty(app, unit, "womens_day_0803")
    dv_month = await _duty(app, unit, "dv_action_month")
    events = _events(reply.file.content)
    # 8/3/2026 is a Sunday: the all-day event is on Friday 6/3.
    assert events[f"{womens_day.id}-2026-03-08@vstbpn"][:2] == (date(2026, 3, 6), date(2026, 3, 7))
    # A campaign month spans its days: 1/6 up to and including Tue 30/6.
    assert events[f"{dv_month.id}-2026-06-30@vstbpn"][:2] == (date(2026, 6, 1), date(2026, 7, 1))
    # Twelve months from 1/3/2026: next year's 8/3 (a Monday) is out, Feb 2027's article is in.
    assert f"{womens_day.id}-2027-03-08@vstbpn" not in events
    article = await _duty(app, unit, "monthly_article")
    assert events[f"{article.id}-2027-02-28@vstbpn"][0] == date(2027, 2, 26)
    assert f"{article.id}-2026-02-28@vstbpn" not in events

    event = next(e for e in cal.walk("VEVENT") if str(e["UID"]).startswith(f"{womens_day.id}-"))
    description = str(event["DESCRIPTION"])
    assert "chuyển từ Chủ nhật, ngày 08/03/2026" in description
    assert "14 ngày trước hạn, 3 ngày trước hạn, đúng ngày đến hạn, 2 ngày sau hạn" in description
    (alarm,) = event.walk("VALARM")
    assert alarm.decoded("TRIGGER") == timedelta(days=-1)
    assert event.decoded("DTSTAMP") == clock.now()


def test_build_calendar_uids_are_stable_and_letters_described() -> None:
    deadline = Duty(
        id=7, unit_id=1, code="deadline-1", kind="deadline", title_vi="Báo cáo sơ kết",
        title_en="Mid-year report", recurrence={"kind": "once", "on": "2027-02-08"},
        stages="-7,0", send_time="08:00", shift="previous", scope="unit", enabled=True,
        letter_number="123/BNV-VP",
    )
    now = datetime(2026, 3, 2, 9, tzinfo=VN)
    first = build_calendar([deadline], date(2027, 1, 1), date(2027, 12, 31), "en",
                           WorkCalendar(), "Unit", now=now)
    again = build_calendar([deadline], date(2027, 1, 1), date(2027, 12, 31), "en",
                           WorkCalendar(), "Unit", now=now)
    assert first == again
    # 8/2/2027 is the third day of Tết: the previous working day is Wednesday 3/2.
    assert _events(first) == {"7-2027-02-08@vstbpn": (date(2027, 2, 3), date(2027, 2, 4),
                                                       "Mid-year report")}
    cal = ICalendar.from_ical(first)
    (event,) = cal.walk("VEVENT")
    assert str(event["DESCRIPTION"]).split("\n") == [
        "Due: Wednesday, February 3, 2027",
        "(moved from Monday, February 8, 2027, not a working day)",
        "Letter no. 123/BNV-VP",
        "Reminders: 7 days before, on the due day",
    ]
    assert str(cal["X-WR-CALNAME"]) == "Duties of Unit"
    assert all(len(line) <= 75 for line in first.split(b"\r\n"))  # folded as RFC 5545 asks
    # Outside the range: no events, but still a valid calendar.
    empty = build_calendar([deadline], date(2026, 1, 1), date(2026, 12, 31), "vi",
                           WorkCalendar(), "Unit", now=now)
    assert _events(empty) == {} and b"BEGIN:VCALENDAR" in empty


# --- /deadline ---------------------------------------------------------------------------


async def test_deadline_dialogue_survives_a_restart_and_reaches_the_subtree(app, clock) -> None:
    ministry = await add_unit(app, "Bộ Nội vụ")
    dept = await add_unit(app, "Vụ Tổ chức cán bộ", ministry)
    admin = await _join(app, ministry, "boss", Role.admin)
    staff = await _join(app, dept, "staff")

    (out,) = await admin.say("/deadline")
    assert "Việc cần làm là gì" in out
    (out,) = await admin.say("Báo cáo sơ kết công tác bình đẳng giới")
    assert "15/12/2026" in out
    (out,) = await admin.say("32/13/2026")
    assert "chưa đọc được ngày" in out
    (out,) = await admin.say("hôm qua")
    assert "chưa đọc được ngày" in out
    (out,) = await admin.say("1/3/2026")  # yesterday
    assert "đã qua" in out and "02/03/2026" in out

    # The process restarts mid-dialogue: what was entered is kept.
    restarted = await AppContext.create(app.settings, clock=clock)
    try:
        admin = ConsoleChat(restarted, "boss")
        (out,) = await admin.say("8/3/2026")
        assert "Số công văn" in out
        (out,) = await admin.say("123/BNV-VP")
        assert "1. Chỉ Bộ Nội vụ" in out and "2. Bộ Nội vụ và tất cả đơn vị trực thuộc" in out
        (out,) = await admin.say("2")
    finally:
        await restarted.close()
    admin = ConsoleChat(app, "boss")
    assert "Nội dung: Báo cáo sơ kết công tác bình đẳng giới" in out
    assert "Hạn: Chủ nhật, ngày 08/03/2026" in out and "Công văn số 123/BNV-VP" in out
    assert "chuyển về ngày làm việc liền trước: thứ Sáu, ngày 06/03/2026" in out
    assert "1. Lưu" in out and "2. Hủy" in out
    (out,) = await admin.say("1")
    assert "hạn thứ Sáu, ngày 06/03/2026" in out
    assert ("Ngày 08/03/2026 là Chủ nhật, nên hạn chuyển về ngày làm việc liền trước: "
            "thứ Sáu, ngày 06/03/2026.") in out
    assert "7 ngày trước hạn, 3 ngày trước hạn, đúng ngày đến hạn, 2 ngày sau hạn" in out

    async with app.sessions() as session:
        duty = await session.scalar(select(Duty).where(Duty.kind == "deadline"))
    assert duty is not None and duty.unit_id == ministry and duty.scope == "subtree"
    assert duty.recurrence == {"kind": "once", "on": "2026-03-08"}
    assert duty.letter_number == "123/BNV-VP" and duty.code == "deadline-1"

    # A member of the department below sees it, with the letter's number.
    (out,) = await staff.say("/duties")
    assert ("Báo cáo sơ kết công tác bình đẳng giới — thứ Sáu, ngày 06/03/2026 — còn 4 ngày — "
            "theo Công văn số 123/BNV-VP") in out
    # The dialogue is over: neither a number nor free text does anything now.
    (out,) = await admin.say("1")
    assert "chưa hiểu" in out


async def test_deadline_on_one_line_during_tet_for_this_unit_only(app) -> None:
    top = await add_unit(app, "Tỉnh A")
    below = await add_unit(app, "Sở X", top)
    admin = await _join(app, top, "boss", Role.admin, lang="en")
    staff = await _join(app, below, "staff")

    (out,) = await admin.say("/deadline 8/2/2027 | Annual report | -")
    assert "1. Only Tỉnh A" in out
    (out,) = await admin.say("1")
    assert "No letter number" in out and "For: only Tỉnh A" in out
    (out,) = await admin.say("1")
    assert "is due Wednesday, February 3, 2027." in out
    assert ("February 8, 2027 is a public holiday (Third Day of Lunar New Year), so it falls "
            "due on the working day before: Wednesday, February 3, 2027.") in out
    (out,) = await staff.say("/duties")
    assert "Annual report" not in out  # this unit only, not the one below

    (out,) = await admin.say("/deadline 2027-02-30 | Annual report")
    assert "could not read that date" in out
    (out,) = await admin.say("/deadline 15/12/2026")
    assert "/deadline 15/12/2026 | Báo cáo năm | 123/BNV-VP" in out


async def test_deadline_cancel_and_rights(app) -> None:
    unit = await add_unit(app, "Sở Tài chính")
    admin = await _join(app, unit, "boss", Role.admin)
    focal = await _join(app, unit, "focal", Role.focal)

    (out,) = await focal.say("/deadline")
    assert "Chỉ quản trị viên" in out
    group = Inbound(CHANNEL, "boss", "group-1", "/deadline", chat_type="group")
    (reply,) = await handle(app, group, CAPS)
    assert "tin nhắn riêng" in reply.text
    (out,) = await focal.say("/duty")
    assert "Chỉ quản trị viên" in out

    await admin.say("/deadline")
    await admin.say("Báo cáo quý")
    (out,) = await admin.say("/cancel")
    assert "Đã hủy" in out
    (out,) = await admin.say("15/12/2026")
    assert "chưa hiểu" in out

    await admin.say("/deadline 15/12/2026 | Báo cáo quý")
    await admin.say("1")
    (out,) = await admin.say("2")  # Cancel at the summary
    assert "Đã hủy" in out
    async with app.sessions() as session:
        assert await session.scalar(select(Duty).where(Duty.kind == "deadline")) is None


# --- /duty -------------------------------------------------------------------------------


async def _press(app: AppContext, who: str, value: str) -> str:
    (reply,) = await handle(app, Inbound(CHANNEL, who, who, choice=value), BUTTONS)
    return reply.text + "\n" + "\n".join(f"[{c.label}|{c.value}]" for c in reply.choices)


async def test_duty_list_and_changes_with_buttons_in_words(app) -> None:
    unit = await add_unit(app, "Sở Giáo dục")
    admin = await _join(app, unit, "boss", Role.admin)
    women = await _duty(app, unit, "womens_day_0803")

    (reply,) = await handle(app, Inbound(CHANNEL, "boss", "boss", text="/duty"), BUTTONS)
    out = reply.text
    assert "✅ Lồng ghép tuyên truyền về bình đẳng giới trong các hoạt động kỷ niệm Ngày Quốc " \
           "tế Phụ nữ 8/3" in out
    assert ("hằng năm vào ngày 8/3; nhắc 14 ngày trước hạn, 3 ngày trước hạn, đúng ngày đến "
            "hạn, 2 ngày sau hạn, lúc 08:00") in out
    assert "⏸ (đang tắt) Hưởng ứng Ngày Quốc tế Hạnh phúc" in out
    # No codes and no lead-time syntax for a person to read or type.
    assert "womens_day_0803" not in out and "-14,-3" not in out and "/duty <" not in out
    assert f"duty:open:{women.id}" in [c.value for c in reply.choices]

    out = await _press(app, "boss", f"duty:open:{women.id}")
    assert "Người được nhắc: mọi thành viên của đơn vị" in out
    assert "Hạn tiếp theo: thứ Sáu, ngày 06/03/2026" in out and "Chủ nhật" in out
    out = await _press(app, "boss", f"duty:off:{women.id}")
    assert "Đã thay đổi" in out and "không nhắc việc" in out
    out = await _press(app, "boss", f"duty:on:{women.id}")
    assert "Hạn tiếp theo: thứ Sáu, ngày 06/03/2026" in out
    out = await _press(app, "boss", f"duty:stages:{women.id}")
    assert "[7 ngày trước hạn, đúng ngày đến hạn, 2 ngày sau hạn|" in out
    await _press(app, "boss", f"duty:setstages:{women.id}:1")
    out = await _press(app, "boss", f"duty:time:{women.id}")
    assert "[09:00|" in out and "[16:00|" in out
    out = await _press(app, "boss", f"duty:settime:{women.id}:0900")
    assert "lúc 09:00" in out
    await _press(app, "boss", f"duty:shift:{women.id}")
    out = await _press(app, "boss", f"duty:setshift:{women.id}:next")
    assert "Hạn tiếp theo: thứ Hai, ngày 09/03/2026" in out
    out = await _press(app, "boss", f"duty:who:{women.id}")
    assert "[Cán bộ đầu mối|" in out and "[boss|" in out
    out = await _press(app, "boss", f"duty:setwho:{women.id}:focal")
    assert "Người được nhắc: cán bộ đầu mối" in out
    duty = await _duty(app, unit, "womens_day_0803")
    assert (duty.enabled, duty.stages, duty.send_time, duty.shift, duty.responsible) == (
        True, "-7,0,+2", "09:00", "next", "focal")

    # The due date: typed as people write it; a bad one is asked again.
    article = await _duty(app, unit, "monthly_article")
    out = await _press(app, "boss", f"duty:date:{article.id}")
    assert "cuối" in out
    (out,) = await admin.say("32")
    assert "chưa đọc được" in out
    (out,) = await admin.say("25")
    # 25/3/2026 is a Wednesday.
    assert "hằng tháng, vào ngày 25" in out and "thứ Tư, ngày 25/03/2026" in out
    plan = await _duty(app, unit, "annual_plan")
    await _press(app, "boss", f"duty:date:{plan.id}")
    (out,) = await admin.say("31/2")  # 31/2 does not exist
    assert "chưa đọc được" in out
    (out,) = await admin.say("/cancel")
    assert (await _duty(app, unit, "annual_plan")).recurrence == {
        "kind": "yearly", "month": 3, "day": 31}
    assert (await _duty(app, unit, "monthly_article")).recurrence == {
        "kind": "monthly", "day": 25}
    # A yearly duty may move to another month: 8/2/2026 has passed, and 8/2/2027 is in Tết,
    # so with shift "next" it falls due on Thursday 11/2/2027.
    await _press(app, "boss", f"duty:date:{women.id}")
    (out,) = await admin.say("8/2")
    assert "hằng năm vào ngày 8/2" in out
    assert ("Ngày 08/02/2027 là ngày nghỉ lễ (Mùng ba Tết Nguyên Đán), nên hạn chuyển sang "
            "ngày làm việc liền sau: thứ Năm, ngày 11/02/2027.") in out

    # A forged button for a duty of another unit changes nothing.
    other = await add_unit(app, "Sở khác")
    foreign = await _duty(app, other, "womens_day_0803")
    assert "không còn hiệu lực" in await _press(app, "boss", f"duty:off:{foreign.id}")
    assert (await _duty(app, other, "womens_day_0803")).enabled


async def test_duty_add_custom_and_deadline_date_is_fixed(app) -> None:
    unit = await add_unit(app, "Sở Công Thương")
    admin = await _join(app, unit, "boss", Role.admin, lang="en")

    (out,) = await admin.say("/duty add monthly 25 Họp giao ban Ban VSTBPN")
    assert "Added: Họp giao ban Ban VSTBPN" in out
    assert "every month, on day 25" in out and "Wednesday, March 25, 2026" in out
    (out,) = await admin.say("/duty add yearly 20/10 Kỷ niệm 20/10")
    assert "Added: Kỷ niệm 20/10" in out and "Tuesday, October 20, 2026" in out
    (out,) = await admin.say("/duty add monthly last Tổng hợp tin bài")
    assert "every month, on its last day" in out and "Tuesday, March 31, 2026" in out
    for bad in ("/duty add yearly 31/02 X", "/duty add monthly 32 X", "/duty add weekly 3 X",
                "/duty add monthly 25"):
        (out,) = await admin.say(bad)
        assert "/duty add monthly 25 Họp giao ban" in out, bad

    async with app.sessions() as session:
        custom = list(await session.scalars(
            select(Duty).where(Duty.kind == "custom").order_by(Duty.id)))
    assert [(d.code, d.recurrence) for d in custom] == [
        ("custom-1", {"kind": "monthly", "day": 25}),
        ("custom-2", {"kind": "yearly", "month": 10, "day": 20}),
        ("custom-3", {"kind": "monthly", "day": -1}),
    ]

    await admin.say("/deadline 15/12/2026 | Annual report")
    await admin.say("1")
    await admin.say("1")
    (out,) = await admin.say("/duty deadline-1 day 20")
    assert "cannot be changed" in out
    (out,) = await admin.say("/duty deadline-1 stages -3,0")
    assert "once, on December 15, 2026" in out
