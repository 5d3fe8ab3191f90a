"""Onboarding through the console adapter: the same handlers, numbered choices, real database."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.channels.console import ConsoleChat, identity_for_member
from bot.context import AppContext
from bot.models import Member, Role
from tests.conftest import add_unit, make_invite


async def test_stranger_gets_only_how_to_join(app) -> None:
    chat = ConsoleChat(app, "stranger-1", "Lan")
    for text in ("xin chào", "/help", "/members", "/whoami"):
        (out,) = await chat.say(text)
        assert "Để tham gia" in out, text
        assert "/members" not in out


async def test_join_with_code_help_by_role_and_language(app) -> None:
    ministry = await add_unit(app, "Bộ Nội vụ")
    dept = await add_unit(app, "Vụ Tổ chức cán bộ", ministry)
    admin_code = await make_invite(app, ministry, Role.admin)

    admin = ConsoleChat(app, "stranger-admin", "Nguyễn Thị Lan")
    (out,) = await admin.say(f"/start {admin_code}")
    assert "Chào mừng Nguyễn Thị Lan" in out and "Bộ Nội vụ" in out and "quản trị" in out

    # The admin invites a member into the department, in chat.
    (out,) = await admin.say(f"/invite member {dept}")
    code = out.rsplit("Mã: ", 1)[1].strip()

    member = ConsoleChat(app, "stranger-member", "Trần Văn Nam")
    (out,) = await member.say(code.upper())  # the bare code, typed in capitals
    assert "Bộ Nội vụ › Vụ Tổ chức cán bộ" in out and "thành viên" in out

    (admin_help,) = await admin.say("/help")
    (member_help,) = await member.say("/help")
    assert "/members" in admin_help and "/invite" in admin_help
    assert "/members" not in member_help and "/invite" not in member_help
    assert "/whoami" in member_help

    # /lang without argument offers numbered choices; "2" picks English.
    (out,) = await member.say("/lang")
    assert "1. Tiếng Việt" in out and "2. English" in out
    (out,) = await member.say("2")
    assert out == "Language set to English."
    (out,) = await member.say("/whoami")
    assert "Role: member" in out and "Unit: Bộ Nội vụ › Vụ Tổ chức cán bộ" in out

    # The language is stored: a new adapter instance (a restart) still speaks English.
    (out,) = await ConsoleChat(app, "stranger-member").say("/help")
    assert out.startswith("Commands you can use:")


async def test_bad_expired_and_used_codes_are_refused_then_throttled(app, clock) -> None:
    unit = await add_unit(app, "Sở Nội vụ")
    used = await make_invite(app, unit)
    expired = await make_invite(app, unit, expires_days=1)
    await ConsoleChat(app, "first", "A").say(used)

    chat = ConsoleChat(app, "second", "B")
    (out,) = await chat.say(used)
    assert "đã được sử dụng" in out
    clock.advance(timedelta(days=2))
    (out,) = await chat.say(f"/start {expired}")
    assert "hết hạn" in out
    for _ in range(4):
        (out,) = await chat.say("/start abcdefghjkmn")
        assert "không hợp lệ" in out
    # Five failures within 15 minutes (the expired one and four wrong): even a good code waits.
    good = await make_invite(app, unit)
    (out,) = await chat.say(good)
    assert "quá nhiều lần" in out
    clock.advance(timedelta(minutes=16))
    (out,) = await chat.say(good)
    assert "Chào mừng B" in out


async def test_admin_removes_only_within_subtree(app) -> None:
    top = await add_unit(app, "Tỉnh A")
    dept = await add_unit(app, "Sở X", top)
    other = await add_unit(app, "Tỉnh B")
    dept_admin = ConsoleChat(app, "dept-admin", "Admin X")
    await dept_admin.say(await make_invite(app, dept, Role.admin))
    await ConsoleChat(app, "m1", "Member X").say(await make_invite(app, dept))
    await ConsoleChat(app, "m2", "Member B").say(await make_invite(app, other))

    async with app.sessions() as session:
        ids = {m.full_name: m.id for m in await session.scalars(select(Member))}

    (out,) = await dept_admin.say("/members")
    assert "Member X" in out and "Member B" not in out
    (out,) = await dept_admin.say(f"/remove {ids['Member B']}")
    assert "Không có thành viên" in out
    (out,) = await dept_admin.say(f"/remove {ids['Member X']}")
    assert "1. Có, xóa" in out
    (out,) = await dept_admin.say("1")
    assert "Đã xóa Member X" in out
    # The removed member is a stranger now.
    (out,) = await ConsoleChat(app, "m1").say("/help")
    assert "Để tham gia" in out


async def test_console_as_chosen_member(app) -> None:
    unit = await add_unit(app, "Sở Y tế")
    await ConsoleChat(app, "tg-like", "Lê Thị Hoa").say(await make_invite(app, unit, Role.focal))
    async with app.sessions() as session:
        member_id = await session.scalar(select(Member.id))
    external_id, name = await identity_for_member(app, member_id)
    (out,) = await ConsoleChat(app, external_id, name).say("/whoami")
    assert "Lê Thị Hoa" in out and "đầu mối" in out


async def test_restart_mid_dialogue_loses_nothing(app, clock) -> None:
    unit = await add_unit(app, "Sở Tư pháp")
    await ConsoleChat(app, "boss", "Admin").say(await make_invite(app, unit, Role.admin))
    await ConsoleChat(app, "leaver", "Người chuyển công tác").say(await make_invite(app, unit))
    async with app.sessions() as session:
        leaver_id = await session.scalar(
            select(Member.id).where(Member.full_name == "Người chuyển công tác")
        )
    (out,) = await ConsoleChat(app, "boss").say(f"/remove {leaver_id}")
    assert "1. Có, xóa" in out

    # The process restarts: a new application context on the same database.
    restarted = await AppContext.create(app.settings, clock=clock)
    try:
        (out,) = await ConsoleChat(restarted, "boss").say("1")
    finally:
        await restarted.close()
    assert "Đã xóa Người chuyển công tác" in out


async def test_guessing_is_throttled_across_everyone_and_old_failures_go(
    app, clock, monkeypatch
) -> None:
    from sqlalchemy import func

    from bot.models import JoinFailure
    from bot.services import invites

    monkeypatch.setattr(invites, "GLOBAL_MAX_FAILURES", 6)
    unit = await add_unit(app, "Sở Nội vụ")
    # Three people (a script with many accounts) guess twice each: under the per-person limit.
    for who in ("g1", "g2", "g3"):
        for _ in range(2):
            (out,) = await ConsoleChat(app, who, who).say("/start abcdefghjkmn")
            assert "không hợp lệ" in out
    # Now everyone waits, even a newcomer with a good code.
    (out,) = await ConsoleChat(app, "newcomer", "N").say(await make_invite(app, unit))
    assert "quá nhiều lần" in out
    clock.advance(timedelta(minutes=16))
    (out,) = await ConsoleChat(app, "g4", "G").say("/start abcdefghjkmn")
    assert "không hợp lệ" in out
    async with app.sessions() as session:  # the old failures were cleaned up
        assert await session.scalar(select(func.count()).select_from(JoinFailure)) == 1
    (out,) = await ConsoleChat(app, "newcomer", "N").say(await make_invite(app, unit))
    assert "Chào mừng N" in out
