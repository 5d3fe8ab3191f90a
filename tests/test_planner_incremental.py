"""The planner kept between runs: after its first run it plans only the units that changed
and the minutes that came into the window, and misses nothing a full plan would do."""

from __future__ import annotations

import gc
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import event, func, select

from bot.models import Duty, Member, PlanChange, Responsible, Role
from bot.services import duties, groups, members
from scheduler import planner
from tests.conftest import VN, add_tg_member, add_unit

START = datetime(2026, 2, 25, 7, 0, tzinfo=VN)


async def test_every_change_reaches_the_plan_as_a_full_plan_would(app, clock) -> None:
    """Two hours at a time over a week around 8/3, with people joining, leaving and changing
    role, a duty changed, a deadline for the whole province, a group and a new unit: after
    each run of the kept planner, a full plan from scratch finds nothing left to add."""
    clock.set(START)
    province = await add_unit(app, "Tỉnh Hà Nam")
    units = [await add_unit(app, f"Sở {i}", province) for i in range(3)]
    await add_tg_member(app, province, Role.admin, "Admin tỉnh", 100)
    for i, unit in enumerate(units):
        await add_tg_member(app, unit, Role.focal, f"Đầu mối {i}", 200 + i)
        await add_tg_member(app, unit, Role.member, f"Cán bộ {i}", 300 + i)

    async def change(step: int) -> None:
        now = clock.now()
        async with app.sessions() as session, session.begin():
            if step == 2:
                await members.register(
                    session, unit_id=units[1], role=Role.member, full_name="Người mới",
                    language="vi", channel="telegram", external_id="400", chat_id="400", now=now)
            elif step == 6:
                duty = await session.scalar(select(Duty).where(
                    Duty.unit_id == units[2], Duty.code.like("%article%")))
                assert duty is not None
                duties.change(session, duty, by=None, now=now, stages="-1,0")
            elif step == 12:
                await duties.add_deadline(
                    session, unit_id=province, title="Báo cáo nhanh", now=now, subtree=True,
                    due_on=date(2026, 3, 5), stages="-2,0", responsible=Responsible.everyone)
            elif step == 20:
                await groups.register(session, unit_id=units[0], channel="telegram",
                                      chat_id="-100", title="Nhóm Sở 0", now=now)
            elif step == 30:
                leaving = await session.scalar(select(Member).where(Member.full_name == "Cán bộ 1"))
                assert leaving is not None
                await members.remove(session, leaving, now)
            elif step == 40:
                focal = await session.scalar(select(Member).where(
                    Member.full_name == "Đầu mối 2"))
                assert focal is not None
                members.set_role(session, focal, Role.member, now)
            elif step == 50:
                unit = await add_unit(app, "Sở mới", province)
                await add_tg_member(app, unit, Role.focal, "Đầu mối mới", 500)

    kept = planner.Planner(app)
    planned_after_first = 0
    for step in range(84):  # a week, two hours at a time
        await change(step)
        added = await kept.run()
        if step:
            planned_after_first += added
        assert await planner.plan(app) == 0, f"step {step}: the kept planner missed rows"
        clock.advance(timedelta(hours=2))
    assert planned_after_first > 0  # later runs did plan (the new minutes, the changes)
    async with app.sessions() as session:  # and read every change mark
        assert await session.scalar(select(func.count()).select_from(PlanChange)) == 0


async def test_a_run_with_nothing_changed_reads_only_the_change_marks(app, clock) -> None:
    clock.set(START)
    unit = await add_unit(app, "Sở Tư pháp")
    await add_tg_member(app, unit, Role.focal, "Đầu mối", 200)
    kept = planner.Planner(app)
    clock.advance(timedelta(days=3))
    assert await kept.run() > 0
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(app.engine.sync_engine, "before_cursor_execute", count)
    try:
        clock.advance(timedelta(minutes=5))
        assert await kept.run() == 0
    finally:
        event.remove(app.engine.sync_engine, "before_cursor_execute", count)
    # The change marks, and the unit list (a new unit may have come): no duty, member or
    # outbox query when no send falls into the five new minutes.
    assert len(statements) <= 2, statements


async def test_nobody_is_planned_what_fell_due_before_they_joined(app, clock) -> None:
    """The window reaches a week back (a restart sends what is still useful): someone who
    joined long before gets every stage in it, someone who joined inside it only those
    after they joined."""
    from bot.models import Occurrence, OutboxMessage

    planned_at = datetime(2026, 2, 26, 7, 0, tzinfo=VN)  # Thursday
    unit = await add_unit(app, "Sở Tư pháp")
    clock.set(planned_at - timedelta(days=60))
    old = await add_tg_member(app, unit, Role.member, "Cán bộ cũ", 300)
    async with app.sessions() as session, session.begin():
        await duties.add_deadline(
            session, unit_id=unit, title="Báo cáo nhanh", now=clock.now(),
            due_on=date(2026, 2, 26), stages="-3,0", responsible=Responsible.everyone)
    clock.set(datetime(2026, 2, 24, 12, 0, tzinfo=VN))
    new = await add_tg_member(app, unit, Role.member, "Cán bộ mới", 301)
    clock.set(planned_at)
    assert await planner.plan(app) > 0
    async with app.sessions() as session:
        rows = list(await session.execute(
            select(OutboxMessage.recipient, OutboxMessage.stage)
            .join(Occurrence, Occurrence.id == OutboxMessage.occurrence_id)
            .join(Duty, Duty.id == Occurrence.duty_id)
            .where(OutboxMessage.kind == "reminder", Duty.kind == "deadline")))
    stages = {who: sorted(s for r, s in rows if r == f"member:{who}") for who in (old, new)}
    assert stages == {old: ["before-3", "due"], new: ["due"]}  # -3 was Monday 23/2


async def test_the_collector_waits_while_planning_and_runs_again_after(app, clock) -> None:
    """A plan pauses the cyclic collector (a nation's plan spent a fifth of its time in it)
    and gives it back afterwards, also when the run fails."""
    clock.set(START)
    unit = await add_unit(app, "Sở Tư pháp")
    await add_tg_member(app, unit, Role.focal, "Đầu mối", 200)
    clock.advance(timedelta(days=3))
    seen: list[bool] = []

    def record(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        seen.append(gc.isenabled())
        if fail and statement.startswith("INSERT INTO outbox"):
            raise RuntimeError("the disk is full")

    fail = True
    event.listen(app.engine.sync_engine, "before_cursor_execute", record)
    try:
        assert gc.isenabled()
        with pytest.raises(RuntimeError):
            await planner.Planner(app).run()
        assert seen and not any(seen)  # paused for every statement of the run
        assert gc.isenabled()  # and back after the failure
        fail = False
        assert await planner.Planner(app).run() > 0
        assert gc.isenabled()
    finally:
        event.remove(app.engine.sync_engine, "before_cursor_execute", record)
