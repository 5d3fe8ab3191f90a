"""The roll-up reads a subtree three ways (bot/services/rollup.py): every unit there is (no
unit condition), most units (NOT IN the few others) and a few units (IN the list). With a
second, unrelated root unit, the first root's report takes the "most units" way: its totals
must still equal the independent computation of tests/test_rollup.py, and the other root's
check-ins must stay out of it."""

from __future__ import annotations

import asyncio
import json
import os
from datetime import date, datetime
from pathlib import Path

import pytest

from bot.context import AppContext
from bot.services import units
from tests.conftest import VN, make_settings
from tests.test_rollup import (  # noqa: F401  (database: the fixture, by name)
    LEVELS,
    database,
    expected,
    generate,
    run,
    verdict,
    write,
)

STRAY = 6  # a root of its own, beside unit 1's tree


def _add_stray_root(url: str) -> None:
    async def add() -> None:
        ctx = await AppContext.create(make_settings(url))
        try:
            async with ctx.sessions() as session, session.begin():
                made = await units.add_unit(session, "Đơn vị khác",
                                            datetime(2025, 12, 1, 9, tzinfo=VN))
                assert made.id == STRAY
        finally:
            await ctx.close()

    asyncio.run(add())


@pytest.mark.usefixtures("database")
def test_most_units_way_keeps_another_roots_checkins_out(tmp_path: Path) -> None:
    _add_stray_root(os.environ["VSTBPN_DATABASE_URL"])
    rows = generate()
    # The stray unit's communication is "integrated", which no unit of the tree picks: a
    # key that only the other units have must not show up (not even as 0).
    stray = [{**r, "unit_id": STRAY} | ({"mode": "integrated"} if r["type"] == "communication"
                                         else {})
             for r in generate(seed=7) if r["unit_id"] == 1]
    write(rows + stray, tmp_path / "year.csv")
    run("checkin", "import", str(tmp_path / "year.csv"))
    for unit, period, start, end, administrative, months in [
        (1, "2026", date(2025, 12, 15), date(2026, 12, 14), True, 12),  # most units
        (1, "2026-Q3", date(2026, 7, 1), date(2026, 9, 30), False, 3),
        (2, "2026", date(2025, 12, 15), date(2026, 12, 14), True, 12),  # a few units
    ]:
        got = json.loads(run("report", "--unit", str(unit), "--period", period))
        want = expected(rows, unit, start, end, administrative, months)
        assert got["totals"] == want["totals"], (unit, period)
        profiled = want["profile"]["units"] > 0
        assert got["profile"] == {k: v for k, v in want["profile"].items()
                                  if k == "units" or profiled}, (unit, period)
        for target in got["targets"]:
            num, den = want["ratios"][target["code"]]
            assert (target["numerator"], target["denominator"]) == (num, den), target
            assert target["verdict"] == verdict(num, den, LEVELS[target["code"]]), target
    # The stray root alone: every unit but five, so a few units again.
    got = json.loads(run("report", "--unit", str(STRAY), "--period", "2026"))
    articles = sum(1 for r in stray if r["type"] == "article"
                   and date(2025, 12, 15) <= r["day"] <= date(2026, 12, 14))
    assert got["totals"]["article"]["checkins"] == articles
    assert got["totals"]["communication"]["mode=integrated"] > 0
