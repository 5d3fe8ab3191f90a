"""Accountability and privacy: the audit log of admin actions (/audit, `vstbpn audit`),
forgetting a person (`vstbpn member forget`), and the retention of old rows."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from bot.cli import app as cli
from bot.cli_reports import as_json
from bot.context import AppContext
from bot.models import (
    ChatAccount,
    Conversation,
    Duty,
    JoinFailure,
    Member,
    OutboxMessage,
    OutboxStatus,
    Role,
    Unit,
)
from bot.services import audit, invites, members, outbox, reports, retention
from bot.services.periods import period_of
from tests.conftest import VN, add_tg_member, add_unit, make_settings
from tests.test_forms import Chat
from tests.test_report_chat import ADMIN_A, ADMIN_B, MEMBER_A, ROOT_ADMIN, _tree

NOW = datetime(2026, 3, 20, 9, tzinfo=VN)


async def _member_id(app: AppContext, name: str) -> int:
    async with app.sessions() as session:
        found = await session.scalar(select(Member.id).where(Member.full_name == name))
        assert found is not None
        return found


async def test_admin_actions_are_logged_and_read_by_the_admins_above(app, clock) -> None:
    clock.set(NOW)
    ids = await _tree(app)
    an = await _member_id(app, "An")
    admin_a = Chat(app, str(ADMIN_A))
    async with app.sessions() as session:
        article = await session.scalar(select(Duty.code).where(
            Duty.unit_id == ids["a"], Duty.code.like("%article%")))
    assert article is not None

    # In chat: Sở A's admin removes An and turns the monthly article off; the ministry's
    # admin sets a target. On the command line (no person): a role changes.
    await admin_a.send(f"/remove {an}")
    await admin_a.press("Có, xóa")
    clock.advance(timedelta(minutes=1))
    await admin_a.send(f"/duty {article} off")
    clock.advance(timedelta(minutes=1))
    top = Chat(app, str(ROOT_ADMIN))
    await top.send(choice="tgt:women_in_pool")
    assert "45%" in await top.say("45%")
    clock.advance(timedelta(minutes=1))
    focal = await _member_id(app, "Đầu mối A")
    async with app.sessions() as session, session.begin():
        person = await session.get(Member, focal)
        assert person is not None
        members.set_role(session, person, Role.admin, app.clock.now())

    (seen,) = await top.send("/audit")
    lines = seen.text.splitlines()
    assert lines[0] == "Nhật ký thao tác quản trị (mới nhất ở trên):"
    assert lines[1] == ("20/03/2026 09:03 — Sở A — quản trị viên máy chủ (dòng lệnh): đổi vai "
                        "trò của Đầu mối A từ cán bộ đầu mối thành quản trị viên")
    assert lines[2].startswith("20/03/2026 09:02 — Bộ Tư pháp — Admin Bộ: đặt mức chỉ tiêu "
                               "“Tỷ lệ nữ trong quy hoạch")
    assert lines[2].endswith("” là 45%")
    assert lines[3].startswith("20/03/2026 09:01 — Sở A — Admin A: đổi bật/tắt của nhiệm vụ “")
    assert lines[4] == "20/03/2026 09:00 — Sở A — Admin A: đưa An ra khỏi đơn vị"
    for code in ("women_in_pool", article, "member_removed", "{", "role_changed"):
        assert code not in seen.text  # names, never codes or placeholders

    # Sở A's admin reads Sở A only; Sở B's admin, not Sở A; a member, nothing.
    (own,) = await admin_a.send("/audit")
    assert "đưa An ra khỏi đơn vị" in own.text and "Bộ Tư pháp" not in own.text
    (sibling,) = await Chat(app, str(ADMIN_B)).send("/audit")
    assert "Sở A" not in sibling.text
    assert "quản trị viên" in await Chat(app, str(MEMBER_A)).say("/audit")


async def test_audit_pages_back_through_older_entries(app, clock) -> None:
    clock.set(NOW)
    ids = await _tree(app)
    async with app.sessions() as session, session.begin():
        for uses in range(1, 21):
            await invites.create(session, unit_id=ids["a"], role=Role.member, now=NOW,
                                 uses=uses, created_by=await _member_id(app, "Admin A"))
    admin = Chat(app, str(ADMIN_A))
    (first,) = await admin.send("/audit")
    assert "mời tối đa 20 người vào với vai trò thành viên" in first.text
    assert "mời tối đa 5 người" not in first.text  # 15 a page, newest first
    (older,) = await admin.send(choice=admin.button("Xem các mục cũ hơn"))
    assert "mời tối đa 5 người" in older.text and "mời tối đa 20 người" not in older.text


async def test_forgetting_a_person_keeps_every_report_total(app, clock) -> None:
    clock.set(NOW)
    ids = await _tree(app)
    an = await _member_id(app, "An")
    period = period_of("2026")

    async def report() -> dict[str, object]:
        async with app.sessions() as session:
            unit = await session.get(Unit, ids["root"])
            assert unit is not None
            return as_json(await reports.build(session, unit, period, app.calendar.cal))

    before = await report()
    member = Chat(app, str(MEMBER_A))
    await member.send("/checkin")  # a dialogue left open, and a message waiting for An
    await member.press("Tin, bài viết")
    assert (await member.state())[0] is not None
    async with app.sessions() as session, session.begin():
        await outbox.enqueue_notices(session, [outbox.row(
            None, outbox.member_recipient(an), "removed", "x", NOW, NOW, payload={})])
        person = await session.get(Member, an)
        assert person is not None
        await members.forget(session, person, NOW)

    assert await report() == before
    async with app.sessions() as session:
        person = await session.get(Member, an)
        assert person is not None and person.full_name == f"#{an}" and not person.active
        assert await session.scalar(select(func.count()).select_from(ChatAccount).where(
            ChatAccount.member_id == an)) == 0
        assert await session.scalar(select(func.count()).select_from(Conversation).where(
            Conversation.external_id == str(MEMBER_A))) == 0
        assert await session.scalar(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.recipient == f"member:{an}")) == 0
        entries = await audit.recent(session, [ids["a"]])
        assert entries[0].action == "member_forgotten" and entries[0].details == {"member": an}
    # The chat is a stranger's now: only how to join.
    assert "mã mời" in "\n".join(r.text for r in await member.send("/summary"))
    (listed,) = await Chat(app, str(ADMIN_A)).send("/members")
    assert f"#{an} " not in listed.text and " An " not in listed.text


async def test_retention_deletes_only_what_is_old_and_finished(app, clock) -> None:
    clock.set(NOW)
    ids = await _tree(app)
    an = await _member_id(app, "An")
    old, recent = NOW - timedelta(days=401), NOW - timedelta(days=399)
    async with app.sessions() as session, session.begin():
        for when, stage in ((old, "old"), (recent, "recent")):
            for status in (OutboxStatus.sent, OutboxStatus.pending):
                row = outbox.row(None, outbox.member_recipient(an), "removed",
                                 f"{stage}-{status}", when, when, payload={})
                row["status"] = status
                await outbox.enqueue_notices(session, [row])
            session.add(Conversation(channel="telegram", external_id=f"x-{stage}", state=None,
                                     data={}, choices={}, updated_at=when))
            session.add(JoinFailure(channel="telegram", external_id=f"x-{stage}", at=when))
    async with app.sessions() as session, session.begin():
        deleted = await retention.purge(session, NOW, 400)
    assert deleted == {"conversations": 1, "join_failures": 1, "outbox": 1}
    async with app.sessions() as session:
        stages = set(await session.scalars(select(OutboxMessage.stage)))
        assert stages == {"old-pending", "recent-sent", "recent-pending"}  # never unsent ones
        assert set(await session.scalars(select(Conversation.external_id))) >= {"x-recent"}
    assert ids  # the tree stays


def test_the_command_line_reads_the_log_and_forgets_a_person(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "cli.db"
    monkeypatch.setenv("VSTBPN_DATABASE_URL", f"sqlite:///{path}")
    monkeypatch.delenv("VSTBPN_TELEGRAM_TOKEN", raising=False)
    monkeypatch.chdir(tmp_path)

    async def setup() -> int:
        ctx = await AppContext.create(make_settings(f"sqlite+aiosqlite:///{path}"))
        try:
            unit = await add_unit(ctx, "Sở Nội vụ")
            return await add_tg_member(ctx, unit, Role.member, "Trần Văn Nam", 4242)
        finally:
            await ctx.close()

    nam = asyncio.run(setup())
    runner = CliRunner()
    assert runner.invoke(cli, ["member", "set-role", str(nam), "focal"]).exit_code == 0
    refused = runner.invoke(cli, ["member", "forget", str(nam)], input="n\n")
    assert refused.exit_code != 0
    forgot = runner.invoke(cli, ["member", "forget", str(nam), "--yes"])
    assert forgot.exit_code == 0, forgot.output
    result = runner.invoke(cli, ["audit", "--lang", "en", "--json"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.output.splitlines()]
    assert [r["what"] for r in rows] == [
        f"erased the name and chat accounts of member #{nam}",
        f"changed the role of #{nam} from member to focal point",
        "added the unit",
    ]
    assert {r["who"] for r in rows} == {"the server administrator (command line)"}
    assert "Trần Văn Nam" not in result.output
    assert runner.invoke(cli, ["audit", "--unit", "99"]).exit_code != 0
