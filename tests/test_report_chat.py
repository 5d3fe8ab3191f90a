"""/summary and /report in chat: who sees what, files where the channel takes them, and a
plain sentence where it does not."""

from __future__ import annotations

from datetime import datetime
from io import BytesIO

from docx import Document
from openpyxl import load_workbook

from bot.messages import Capabilities
from bot.models import Role
from bot.services import activities, checkins
from tests.conftest import VN, add_tg_member, add_unit
from tests.test_forms import TG, Chat

NO_FILES = Capabilities(buttons=False, max_text=2000, files=False)  # as Zalo will be
ROOT_ADMIN, ADMIN_A, FOCAL_A, MEMBER_A, ADMIN_B = 9101, 9102, 9103, 9104, 9105


async def _tree(app) -> dict[str, int]:
    """Bộ (1) → Sở A, Sở B; an article in each department, one by member An of A."""
    root = await add_unit(app, "Bộ Tư pháp")
    a = await add_unit(app, "Sở A", root)
    b = await add_unit(app, "Sở B", root)
    await add_tg_member(app, root, Role.admin, "Admin Bộ", ROOT_ADMIN)
    await add_tg_member(app, a, Role.admin, "Admin A", ADMIN_A)
    await add_tg_member(app, a, Role.focal, "Đầu mối A", FOCAL_A)
    an = await add_tg_member(app, a, Role.member, "An", MEMBER_A)
    await add_tg_member(app, b, Role.admin, "Admin B", ADMIN_B)
    kind = activities.get("article")
    assert kind is not None
    async with app.sessions() as session, session.begin():
        for unit, member, title in ((a, an, "Bài của An"), (a, None, "Bài của Sở A"),
                                    (b, None, "Bài của Sở B")):
            await checkins.create(session, unit_id=unit, member_id=member, channel="import",
                                  now=app.clock.now(), values=checkins.Values(kind, {
                                      "date": "2026-03-02", "title": title,
                                      "channel": "bulletin", "url": None}))
    return {"root": root, "a": a, "b": b}


def _chat(app, user: int, caps: Capabilities = TG) -> Chat:
    return Chat(app, str(user), caps)


async def test_who_sees_which_summary(app, clock) -> None:
    clock.set(datetime(2026, 3, 20, 9, tzinfo=VN))
    ids = await _tree(app)
    # A member: their own check-ins only, never the unit's or another's.
    member = _chat(app, MEMBER_A)
    own = "\n".join(r.text for r in await member.send("/summary"))
    assert "Kết quả anh/chị đã cập nhật" in own and "Tin, bài viết về bình đẳng giới: 1" in own
    assert "Chỉ tiêu" not in own
    assert (await member.say(f"/summary #{ids['a']}")) == \
        "Chỉ quản trị viên được xem tổng hợp của đơn vị khác."
    assert "Chỉ cán bộ đầu mối và quản trị viên" in await member.say("/report")
    # The focal point: the unit, with its chart.
    (focal,) = await _chat(app, FOCAL_A).send("/summary")
    assert "Sở A" in focal.text and "Tin, bài viết về bình đẳng giới: 2" in focal.text
    assert focal.file is not None and focal.file.content.startswith(b"\x89PNG")
    # An admin: their subtree, or a unit in it; never a sibling or the parent.
    admin = _chat(app, ADMIN_A)
    for other in (ids["b"], ids["root"]):
        assert (await admin.say(f"/summary 2026 #{other}")) == \
            "Anh/chị chỉ xem được tổng hợp của đơn vị mình và các đơn vị trực thuộc."
        assert (await admin.say(f"/report 2026 #{other}")) == \
            "Anh/chị chỉ xem được tổng hợp của đơn vị mình và các đơn vị trực thuộc."
    (top,) = await _chat(app, ROOT_ADMIN).send("/summary 2026-Q1")
    assert "Bộ Tư pháp" in top.text and "Tin, bài viết về bình đẳng giới: 3" in top.text
    assert "(3 đơn vị, kể cả đơn vị mình)" in top.text
    (b_only,) = await _chat(app, ROOT_ADMIN).send(f"/summary 2026-Q1 #{ids['b']}")
    assert "Sở B" in b_only.text and "Tin, bài viết về bình đẳng giới: 1" in b_only.text
    # A stranger: only how to join.
    stranger = "\n".join(r.text for r in await _chat(app, 9999).send("/summary"))
    assert "Sở" not in stranger and "mã mời" in stranger
    # A period nobody can read is said, politely.
    assert "Không đọc được kỳ báo cáo" in await admin.say("/summary mùa xuân")


async def test_the_report_as_files_or_a_sentence(app, clock) -> None:
    clock.set(datetime(2026, 3, 20, 9, tzinfo=VN))
    ids = await _tree(app)
    word, excel = await _chat(app, ADMIN_A).send("/report 2026-Q1")
    assert word.file is not None and word.file.filename == "bao-cao-so-a-2026-Q1.docx"
    assert excel.file is not None and excel.file.filename.endswith(".xlsx")
    text = "\n".join(p.text for p in Document(BytesIO(word.file.content)).paragraphs)
    assert "BÁO CÁO" in text and "SỞ A" in text.upper()
    book = load_workbook(BytesIO(excel.file.content))
    assert "Dữ liệu gốc" in book.sheetnames  # admins and focal points get the raw check-ins
    raw = [row for row in book["Dữ liệu gốc"].iter_rows(values_only=True)]
    assert sum("Bài của" in " ".join(str(c) for c in row) for row in raw) == 2  # A's only
    # Without files (Zalo): a plain sentence with the way to get it.
    (said,) = await _chat(app, FOCAL_A, NO_FILES).send("/report 2026-Q1")
    assert said.file is None and "không nhận được tệp" in said.text
    assert f"vstbpn report --unit {ids['a']} --period 2026-Q1" in said.text


async def test_an_admin_sets_a_target_level_that_the_units_below_inherit(app, clock) -> None:
    clock.set(datetime(2026, 3, 20, 9, tzinfo=VN))
    await _tree(app)
    top = _chat(app, ROOT_ADMIN)
    (listed,) = await top.send("/target")
    assert "Tỷ lệ nữ trong quy hoạch các chức danh lãnh đạo, quản lý: 50%" in listed.text
    assert "women_in_pool" not in listed.text  # names, never codes
    pick = next(c.value for c in listed.choices if c.value == "tgt:women_in_pool")
    await top.send(choice=pick)
    assert "từ 0 đến 100" in await top.say("nhiều")  # asked again, politely
    assert "nay là 45%" in await top.say("45%")
    (below,) = await _chat(app, ADMIN_A).send("/target")
    assert "quy hoạch các chức danh lãnh đạo, quản lý: 45% (Chiến lược: 50%)" in below.text
    # A member cannot; the department may go back to what is above.
    assert "Chỉ quản trị viên" in await _chat(app, MEMBER_A).say("/target")
    await top.send(choice=pick)
    assert "áp dụng lại" in await top.say("mặc định")
    (again,) = await _chat(app, ADMIN_A).send("/target")
    assert "quy hoạch các chức danh lãnh đạo, quản lý: 50%" in again.text
