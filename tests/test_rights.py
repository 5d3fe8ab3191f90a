"""Who may do what: a unit's things are changed by its own people or by admins above it."""

from __future__ import annotations

from sqlalchemy import select

from bot.channels.console import CAPS, CHANNEL, ConsoleChat
from bot.context import AppContext
from bot.messages import Inbound
from bot.models import GroupChat, Role
from handlers.router import handle
from tests.conftest import add_unit, make_invite


async def _join(app: AppContext, unit_id: int, who: str, role: Role) -> ConsoleChat:
    chat = ConsoleChat(app, who, who)
    await chat.say(await make_invite(app, unit_id, role))
    return chat


async def _in_group(app: AppContext, who: str, text: str, group: str = "g-1") -> str:
    inbound = Inbound(CHANNEL, who, group, text, chat_type="group", chat_title="Nhóm")
    (reply,) = await handle(app, inbound, CAPS)
    return reply.text


async def _group_owner(app: AppContext) -> int | None:
    async with app.sessions() as session:
        group = await session.scalar(select(GroupChat))
        return group.unit_id if group else None


async def test_only_the_owning_unit_or_admins_above_change_its_group(app) -> None:
    province = await add_unit(app, "Tỉnh A")
    finance = await add_unit(app, "Sở Tài chính", province)
    justice = await add_unit(app, "Sở Tư pháp", province)
    await _join(app, finance, "focal-f", Role.focal)
    await _join(app, justice, "focal-j", Role.focal)
    await _join(app, justice, "admin-j", Role.admin)
    await _join(app, province, "admin-p", Role.admin)

    assert "Sở Tài chính" in await _in_group(app, "focal-f", "/group")
    assert await _group_owner(app) == finance

    # A sibling unit's focal point or admin can neither turn it off nor take it over.
    for who in ("focal-j", "admin-j"):
        for text in ("/group off", "/group"):
            out = await _in_group(app, who, text)
            assert "Sở Tài chính" in out and "chỉ" in out, (who, text)
            assert await _group_owner(app) == finance

    # An admin above it may.
    assert "Tỉnh A" in await _in_group(app, "admin-p", "/group")
    assert await _group_owner(app) == province
    await _in_group(app, "admin-p", "/group off")
    assert await _group_owner(app) is None


async def test_roles_in_chat(app) -> None:
    province = await add_unit(app, "Tỉnh B")
    dept = await add_unit(app, "Sở Y tế", province)
    focal = await _join(app, dept, "focal", Role.focal)
    member = await _join(app, dept, "member", Role.member)

    # The focal point hands out invites for members of the unit, and only those: one link
    # for the whole committee.
    (out,) = await focal.say("/invite")
    assert "bao nhiêu người" in out and "4. 30 người" in out
    (out,) = await focal.say("3")
    assert "Mã:" in out and "Sở Y tế" in out and "15 người" in out
    (out,) = await focal.say("/invite admin")
    assert "đề nghị quản trị viên" in out and "Mã:" not in out
    (out,) = await focal.say(f"/invite member {province}")
    assert "Mã:" not in out

    # A command above one's role says who may use it, rather than "unknown command".
    (out,) = await member.say("/members")
    assert "Chỉ quản trị viên" in out and "/members" in out
    (out,) = await member.say("/invite")
    assert "Chỉ cán bộ đầu mối và quản trị viên" in out
    (out,) = await member.say("/nosuchthing")
    assert "không biết lệnh này" in out
