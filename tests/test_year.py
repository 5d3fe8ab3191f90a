"""A simulated year: one unit, three members, the default catalog, 2026-01-01 → 2026-12-31.

The clock is injected; the planner runs every night and the dispatcher every hour, day and
night, so the test also proves the dispatcher itself keeps to working hours.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

import holidays
import pytest
from sqlalchemy import select

from bot.models import Duty, Occurrence, OutboxKind, OutboxMessage, Role
from bot.views.reminders import render
from scheduler import planner
from scheduler.dispatcher import Dispatcher
from tests.conftest import VN, VirtualTime, add_tg_member, add_unit

ADMIN, FOCAL, MEMBER = 3001, 3002, 3003


@pytest.fixture
def clock(clock):
    clock.set(datetime(2025, 12, 31, 12, 0, tzinfo=VN))
    return clock


async def test_a_year_of_reminders(app, clock, tg_api, tg_sender, database_url) -> None:
    if "postgresql" in database_url:
        pytest.skip("one backend is enough for a year of hourly ticks; PostgreSQL has its own")
    unit = await add_unit(app, "Sở Nội vụ tỉnh Hà Nam")
    ids = {
        ADMIN: await add_tg_member(app, unit, Role.admin, "Admin", ADMIN),
        FOCAL: await add_tg_member(app, unit, Role.focal, "Focal", FOCAL),
        MEMBER: await add_tg_member(app, unit, Role.member, "Member", MEMBER),
    }
    vt = VirtualTime()
    dispatcher = Dispatcher(
        app, [tg_sender], render, monotonic=vt.monotonic, sleep=vt.sleep
    )
    moment = datetime(2026, 1, 1, 0, 0, tzinfo=VN)
    while moment < datetime(2027, 1, 1, tzinfo=VN):
        clock.set(moment)
        if moment.hour == 0:
            await planner.plan(app)
        await dispatcher.run_once()
        moment += timedelta(hours=1)

    async with app.sessions() as session:
        rows = list(await session.scalars(
            select(OutboxMessage).where(OutboxMessage.status == "sent")
        ))
        codes = {d.id: d.code for d in await session.scalars(select(Duty))}
        occs = {o.id: o for o in await session.scalars(select(Occurrence))}
        unsent = list(await session.scalars(select(OutboxMessage).where(
            OutboxMessage.status != "sent", OutboxMessage.send_at < moment)))
    assert unsent == []

    # Every message went out at its planned moment, inside 08:00–17:00 on a working day.
    vn_holidays = holidays.country_holidays("VN", years=[2026])
    for row in rows:
        local = row.sent_at.astimezone(VN)
        assert local == row.send_at.astimezone(VN)
        assert 8 <= local.hour < 17, row
        assert local.weekday() < 5 and local.date() not in vn_holidays, row
        assert local.year == 2026

    # What was due to one person at one moment reached them as one message (the monthly
    # summary, a picture, on its own).
    messages = tg_api.sent_messages()
    moments = {(r.recipient, r.sent_at, r.kind == OutboxKind.summary) for r in rows}
    assert len(messages) == len(moments)
    by_chat = Counter(m.chat_id for m in messages)
    # The goal (a reminder system that sends too much is muted): someone who answers nothing
    # gets at most 40 messages a year as a member, 80 as the focal point, never 2 in a day.
    assert by_chat[MEMBER] <= 40 and by_chat[FOCAL] <= 80, by_chat
    # Measured with the default catalog; the admin's include 12 monthly summaries.
    assert by_chat == {MEMBER: 15, FOCAL: 71, ADMIN: 34 + 12}
    per_day = Counter((who, at.astimezone(VN).date()) for who, at, _summary in moments)
    assert max(per_day.values()) <= 2, per_day.most_common(3)
    rows_by_member = Counter(int(r.recipient.partition(":")[2]) for r in rows)
    by_tg = {ids[tg]: tg for tg in ids}
    by_rows = {by_tg[member_id]: n for member_id, n in rows_by_member.items()}
    # Duties for everyone reach all three: 8/3, 20/10 (4 stages each), the June action month
    # (4), the 15/11–15/12 one (3) = 15. The focal point also gets those duties' 4 "not
    # answered yet" digests, the 3 "set the date from the letter" questions, and the duties
    # that are theirs: 12 monthly articles × 3 stages (the Dec 2025 article's overdue reminder
    # falls on 2/1/2026, the Dec 2026 one's in 2027) = 36, 28/6, the action month's plan,
    # the half-year and annual reports (4 each), its report (3), three communication ticks
    # (4 each), staff figures (3), and with the admin the annual plan and training (4 each).
    # The admin also gets one escalation per overdue duty of the focal point's: 12 + 9 = 21,
    # and last month's summary on the first working day of each month: 12.
    assert by_rows == {
        MEMBER: 15,
        FOCAL: 15 + 4 + 3 + 36 + 4 + 4 + 4 + 4 + 3 + 12 + 3 + 8,
        ADMIN: 15 + 8 + 21 + 12,
    }

    def sent(code: str, member_tg: int) -> list[tuple[str, str, str]]:
        return sorted(
            (r.send_at.astimezone(VN).strftime("%Y-%m-%d %H:%M"), r.kind, r.stage)
            for r in rows
            if r.occurrence_id is not None and codes[occs[r.occurrence_id].duty_id] == code
            and r.recipient == f"member:{ids[member_tg]}"
            and occs[r.occurrence_id].due_on.year == 2026
            and occs[r.occurrence_id].due_on.month in (2, 3)
        )

    # 8/3/2026 is a Sunday: due Friday 6/3. 14 days before is 20/2, inside Tết (16–20/2),
    # so that reminder moves back to Friday 13/2. Two days overdue is Sunday 8/3 → Monday.
    assert sent("womens_day_0803", MEMBER) == [
        ("2026-02-13 08:00", "reminder", "before-14"),
        ("2026-03-03 08:00", "reminder", "before-3"),
        ("2026-03-06 08:00", "reminder", "due"),
        ("2026-03-09 08:00", "reminder", "overdue-2"),
    ]
    assert ("2026-03-05 08:00", "focal", "digest") in sent("womens_day_0803", FOCAL)
    # February's article (the focal point's): 28/2 is a Saturday → due 27/2; 7 days before
    # is 20/2 (Tết) → 13/2. Overdue, the admin hears of it too.
    assert sent("monthly_article", MEMBER) == []
    assert sent("monthly_article", FOCAL) == [
        ("2026-02-13 08:00", "reminder", "before-7"),
        ("2026-02-27 08:00", "reminder", "due"),
        ("2026-03-02 08:00", "reminder", "overdue-2"),
        ("2026-03-24 08:00", "reminder", "before-7"),
        ("2026-03-31 08:00", "reminder", "due"),
        ("2026-04-02 08:00", "reminder", "overdue-2"),
    ]
    assert ("2026-03-02 08:00", "escalation", "overdue-2") in sent("monthly_article", ADMIN)
