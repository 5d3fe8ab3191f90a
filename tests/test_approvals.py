"""Submit, return, resubmit, approve (locks the period's check-ins), unlock — on Telegram
through the outbox, with every step kept; only the parent's admins decide, and a parent's
report waits for every child's."""

from __future__ import annotations

from datetime import date, datetime
from io import BytesIO

from openpyxl import load_workbook
from sqlalchemy import select

from bot.exports.report_xlsx import render_xlsx
from bot.models import Checkin, Occurrence, ReportSubmission, Role, SubmissionEvent, Unit
from bot.services import activities, checkins, duties, reports
from bot.services.periods import period_of
from bot.views.reminders import render
from scheduler import planner
from scheduler.dispatcher import Dispatcher
from tests.conftest import VN, VirtualTime, add_tg_member, add_unit
from tests.test_forms import TG, Chat

ROOT_ADMIN, PARENT_ADMIN, FOCAL_A, FOCAL_B, ADMIN_A, OUTSIDER = 9201, 9202, 9203, 9204, 9205, 9206


async def _setup(app, clock):
    clock.set(datetime(2026, 6, 10, 9, tzinfo=VN))
    root = await add_unit(app, "Bộ Công Thương")
    parent = await add_unit(app, "Sở Công Thương", root)
    a = await add_unit(app, "Phòng A", parent)
    b = await add_unit(app, "Phòng B", parent)
    other = await add_unit(app, "Sở khác", root)
    await add_tg_member(app, root, Role.admin, "Admin Bộ", ROOT_ADMIN)
    await add_tg_member(app, parent, Role.admin, "Admin Sở", PARENT_ADMIN)
    focal_a = await add_tg_member(app, a, Role.focal, "Đầu mối A", FOCAL_A)
    await add_tg_member(app, b, Role.focal, "Đầu mối B", FOCAL_B)
    await add_tg_member(app, a, Role.admin, "Admin A", ADMIN_A)
    await add_tg_member(app, other, Role.admin, "Admin khác", OUTSIDER)
    kind = activities.get("article")
    assert kind is not None
    async with app.sessions() as session, session.begin():
        made = await checkins.create(session, unit_id=a, member_id=focal_a, channel="telegram",
                                     now=clock.now(), values=checkins.Values(kind, {
                                         "date": "2026-03-02", "title": "Bài tháng 3",
                                         "channel": "bulletin", "url": None}))
    return {"root": root, "parent": parent, "a": a, "b": b, "checkin": made.id}


async def test_submit_return_resubmit_approve_lock_unlock(app, clock, tg_api,
                                                           tg_sender) -> None:
    ids = await _setup(app, clock)
    vt = VirtualTime()
    dispatcher = Dispatcher(app, [tg_sender], render, monotonic=vt.monotonic, sleep=vt.sleep)
    focal, parent_admin = Chat(app, str(FOCAL_A), TG), Chat(app, str(PARENT_ADMIN), TG)

    sent = await focal.say("/submit 2026-H1")
    assert "Sở Công Thương" in sent and "6 tháng đầu năm 2026" in sent
    assert "đã được gửi" in (await focal.say("/submit 2026-H1"))  # once is enough
    assert (await dispatcher.run_once()).sent == 1
    (ask,) = tg_api.sent_messages(PARENT_ADMIN)
    assert "Phòng A" in (ask.text or "") and ask.callback_data[0].startswith("appr:ok:")
    sid = int(ask.callback_data[0].rpartition(":")[2])

    # Someone not an admin of the parent cannot decide, whatever button they forge.
    for outsider in (ROOT_ADMIN, ADMIN_A, OUTSIDER):
        (refused,) = await Chat(app, str(outsider), TG).send(choice=f"appr:ok:{sid}")
        assert refused.text == "Chỉ quản trị viên của đơn vị cấp trên được quyết định báo cáo này."
    assert "Chỉ quản trị viên" in await focal.say("/approvals")  # a focal point: not at all

    # Return with a comment: it reaches the focal point through the outbox.
    await parent_admin.send(choice=f"appr:ret:{sid}")
    assert (await parent_admin.say("Thiếu số liệu tập huấn")) == \
        "Đã trả lại báo cáo cho Phòng A kèm nhận xét của anh/chị."
    assert (await dispatcher.run_once()).sent == 1
    (back,) = tg_api.sent_messages(FOCAL_A)
    assert "Thiếu số liệu tập huấn" in (back.text or "") and "/submit" in (back.text or "")

    # Resubmitted, then approved: the period's check-ins are locked.
    assert "Sở Công Thương" in await focal.say("/submit 2026-H1")
    await dispatcher.run_once()
    (approved,) = await parent_admin.send(choice=f"appr:ok:{sid}")
    assert "Phòng A" in approved.text and "khóa" in approved.text
    await dispatcher.run_once()
    assert "duyệt" in (tg_api.sent_messages(FOCAL_A)[-1].text or "")
    (locked,) = await focal.send(choice=f"mine:del:{ids['checkin']}")
    assert "đã được duyệt" in locked.text
    async with app.sessions() as session, session.begin():
        checkin = await session.get(Checkin, ids["checkin"])
        assert checkin is not None
        try:
            await checkins.remove(session, checkin, by=None, now=clock.now())
            raise AssertionError("a locked check-in was deleted")
        except checkins.Locked:
            pass

    # The parent's report (JSON, workbook) shows where each child's report stands.
    async with app.sessions() as session:
        parent_unit = await session.get(Unit, ids["parent"])
        built = await reports.build(session, parent_unit, period_of("2026-H1"),
                                    app.calendar.cal)
    assert [(c.unit.name, c.status) for c in built.children] == [
        ("Phòng A", "approved"), ("Phòng B", "missing")]
    sheet = load_workbook(BytesIO(render_xlsx(built)))["Mức độ đầy đủ"]
    cells = [str(c) for row in sheet.iter_rows(values_only=True) for c in row if c]
    assert "Đã duyệt" in cells and "Chưa gửi" in cells

    # The parent's own report waits for Phòng B, until it is excused.
    assert "Chỉ quản trị viên" not in await parent_admin.say("/approvals 2026-H1")
    overview = parent_admin.last
    assert overview is not None
    assert "Phòng A: đã duyệt" in overview.text and "Phòng B: chưa gửi" in overview.text
    sent_up = await parent_admin.say("/submit 2026-H1")
    assert "Bộ Công Thương" in sent_up
    await dispatcher.run_once()
    (to_root,) = tg_api.sent_messages(ROOT_ADMIN)
    parent_sid = int(to_root.callback_data[0].rpartition(":")[2])
    (waiting,) = await Chat(app, str(ROOT_ADMIN), TG).send(choice=f"appr:ok:{parent_sid}")
    assert "Phòng B" in waiting.text and "Phòng A" not in waiting.text
    excuse = next(c.value for c in overview.choices if c.value.startswith("appr:exc:"))
    (excused,) = await parent_admin.send(choice=excuse)
    assert "Phòng B" in excused.text
    (done,) = await Chat(app, str(ROOT_ADMIN), TG).send(choice=f"appr:ok:{parent_sid}")
    assert "Sở Công Thương" in done.text

    # An admin above unlocks Phòng A: its check-in can change again.
    (unlocked,) = await parent_admin.send(choice=f"appr:unl:{sid}")
    assert "Phòng A" in unlocked.text
    (gone,) = await focal.send(choice=f"mine:del:{ids['checkin']}")
    assert "Xóa" in gone.text  # asked to confirm: allowed again

    async with app.sessions() as session:
        steps = list(await session.scalars(select(SubmissionEvent.action).where(
            SubmissionEvent.submission_id == sid).order_by(SubmissionEvent.id)))
        comments = list(await session.scalars(select(SubmissionEvent.comment).where(
            SubmissionEvent.submission_id == sid, SubmissionEvent.comment.is_not(None))))
        sub = await session.get(ReportSubmission, sid)
    assert steps == ["submitted", "returned", "submitted", "approved", "unlocked"]
    assert comments == ["Thiếu số liệu tập huấn"]
    assert sub is not None and sub.due_on is not None  # the six-month report's due date
    history = await Chat(app, str(ADMIN_A), TG).say("/approvals 2026-H1")
    for word in ("gửi", "trả lại", "duyệt", "mở khóa", "Thiếu số liệu tập huấn"):
        assert word in history


async def test_the_report_reminder_sends_the_report_up(app, clock, tg_api, tg_sender) -> None:
    ids = await _setup(app, clock)
    async with app.sessions() as session, session.begin():
        for duty in await duties.applicable(session, ids["a"], enabled_only=False):
            duty.enabled = duty.code == "half_year_report"
    vt = VirtualTime()
    dispatcher = Dispatcher(app, [tg_sender], render, monotonic=vt.monotonic, sleep=vt.sleep)
    # Due 20/6/2026, a Saturday: Friday 19/6; three days before is Tuesday 16/6.
    clock.set(datetime(2026, 6, 16, 8, tzinfo=VN))
    await planner.plan(app)
    await dispatcher.run_once()
    (reminder,) = [m for m in tg_api.sent_messages(FOCAL_A) if "sendup:" in str(m.callback_data)]
    sendup = next(d for d in reminder.callback_data if d.startswith("sendup:"))
    assert not any(d.startswith("checkin:") for d in reminder.callback_data)
    (sent,) = await Chat(app, str(FOCAL_A), TG).send(choice=sendup)
    assert "6 tháng đầu năm 2026" in sent.text and "Sở Công Thương" in sent.text
    async with app.sessions() as session:
        sub = await session.scalar(select(ReportSubmission).where(
            ReportSubmission.unit_id == ids["a"]))
        occ = await session.get(Occurrence, int(sendup.partition(":")[2]))
    assert sub is not None and sub.period == "2026-H1" and sub.status == "submitted"
    assert sub.due_on == date(2026, 6, 19)
    assert occ is not None and occ.status == "done"  # the reminder is answered
    # A member cannot press it for the focal point.
    await add_tg_member(app, ids["a"], Role.member, "Cán bộ", 9299)
    (refused,) = await Chat(app, "9299", TG).send(choice=sendup)
    assert "không còn hiệu lực" in refused.text
