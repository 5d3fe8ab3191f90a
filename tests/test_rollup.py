"""A generated year of check-ins for a three-level tree, loaded with `vstbpn checkin import`;
every total and target verdict of `vstbpn report --format json` equals an independent
computation written here, and no unit's numbers reach a sibling's or a child's report."""

from __future__ import annotations

import asyncio
import csv
import json
import os
import random
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from bot.cli import app as cli
from bot.context import AppContext
from bot.services import units
from tests.conftest import PG_ENV, VN, _create_pg_database, _drop_pg_database, make_settings

runner = CliRunner()
# Unit 1 (ministry) → 2, 3 (departments) → 4 under 2, 5 under 3.
PARENT = {1: None, 2: 1, 3: 1, 4: 2, 5: 3}
PROFILED = (1, 2, 4)  # units 3 and 5 never enter their staff figures
FIRST, LAST = date(2025, 12, 15), date(2026, 11, 30)  # the CLI's clock is real: all past
ORGANISERS = ["ban", "cong_doan", "doan_tn", "nu_cong"]
PROFILE_FIELDS = ["staff", "staff_women", "leaders", "leaders_women", "pool", "pool_women",
                  "pool_women_trained", "trained_ge", "party_committee",
                  "party_committee_women", "union_committee", "union_committee_women"]


def subtree(unit: int) -> set[int]:
    found = {unit}
    for child, parent in PARENT.items():
        if parent == unit:
            found |= subtree(child)
    return found


def _day(rng: random.Random) -> date:
    return FIRST + timedelta(days=rng.randrange((LAST - FIRST).days + 1))


def generate(seed: int = 2026) -> list[dict[str, Any]]:
    """Rows as the import file holds them, with typed values kept for the computation."""
    rng = random.Random(seed)
    rows: list[dict[str, Any]] = []
    for unit in PARENT:
        for i in range(rng.randint(4, 9)):
            rows.append({"unit_id": unit, "type": "article", "day": _day(rng),
                         "title": f"Bài {unit}-{i}", "channel": "bulletin"})
        for i in range(rng.randint(1, 4)):
            people = rng.randint(0, 120)
            organisers = sorted(rng.sample(ORGANISERS, rng.randint(1, 2)))
            rows.append({"unit_id": unit, "type": "communication", "day": _day(rng),
                         "title": f"Tuyên truyền {unit}-{i}", "mode": "dedicated",
                         "format": "talk", "organisers": organisers, "campaign": "none",
                         "participants": people, "women": rng.randint(0, people)})
        for i in range(rng.randint(0, 2)):
            attendances = rng.randint(10, 90)
            rows.append({"unit_id": unit, "type": "training", "day": _day(rng),
                         "title": f"Tập huấn {unit}-{i}", "topic": "ge", "audience": ["staff"],
                         "format": "in_person", "classes": rng.randint(1, 3),
                         "attendances": attendances, "women": rng.randint(0, attendances)})
        if unit in PROFILED:
            for as_of in sorted({_day(rng), _day(rng)}):  # the latest one counts
                staff = rng.randint(20, 200)
                leaders = rng.randint(2, 6)
                pool = rng.randint(4, 20)
                pool_women = rng.randint(0, pool)
                party = rng.randint(3, 9)
                union = rng.randint(3, 9)
                rows.append({
                    "unit_id": unit, "type": "profile", "day": as_of, "staff": staff,
                    "staff_women": rng.randint(0, staff), "leaders": leaders,
                    "leaders_women": rng.randint(0, 1), "pool": pool, "pool_women": pool_women,
                    "pool_women_trained": rng.randint(0, pool_women),
                    "trained_ge": rng.randint(0, staff), "party_committee": party,
                    "party_committee_women": rng.randint(0, party), "union_committee": union,
                    "union_committee_women": rng.randint(0, union)})
    return rows


def write(rows: list[dict[str, Any]], path: Path) -> None:
    columns = ["unit_id", "type", "date", "title", "channel", "mode", "format", "organisers",
               "campaign", "participants", "women", "topic", "audience", "classes",
               "attendances", *PROFILE_FIELDS]
    with path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(columns)
        for row in rows:
            cells = {**row, "date": row["day"].strftime("%d/%m/%Y")}
            out.writerow([",".join(v) if isinstance(v := cells.get(c, ""), list) else v
                          for c in columns])


# --- the independent computation ---------------------------------------------------------


def admin_month(day: date) -> str:
    if day.day < 15:
        return f"{day.year}-{day.month:02d}"
    return f"{day.year + 1}-01" if day.month == 12 else f"{day.year}-{day.month + 1:02d}"


def expected(rows: list[dict[str, Any]], unit: int, start: date, end: date,
             administrative: bool, months: int) -> dict[str, Any]:
    scope = subtree(unit)
    inside = [r for r in rows if r["unit_id"] in scope and start <= r["day"] <= end
              and r["type"] != "profile"]
    totals: dict[str, dict[str, int]] = {}
    for r in inside:
        t = totals.setdefault(r["type"], {"checkins": 0})
        t["checkins"] += 1
        for name, value in r.items():
            if name in ("unit_id", "type", "day", "title"):
                continue
            keys = [f"{name}={v}" for v in value] if isinstance(value, list) else (
                [f"{name}={value}"] if isinstance(value, str) else [name])
            for key in keys:
                t[key] = t.get(key, 0) + (1 if "=" in key else value)
    latest: dict[int, dict[str, Any]] = {}
    for r in sorted((r for r in rows if r["type"] == "profile" and r["unit_id"] in scope
                     and r["day"] <= end), key=lambda r: r["day"]):
        latest[r["unit_id"]] = r
    profile = {f: sum(p[f] for p in latest.values()) for f in PROFILE_FIELDS}
    article_months = {(r["unit_id"], admin_month(r["day"]) if administrative
                       else r["day"].strftime("%Y-%m")) for r in inside if r["type"] == "article"}
    ratios = {
        "female_leaders": (sum(p["leaders_women"] > 0 for p in latest.values()), len(latest)),
        "women_in_pool": (profile["pool_women"], profile["pool"]),
        "pool_women_trained": (profile["pool_women_trained"], profile["pool_women"]),
        "staff_trained": (profile["trained_ge"], profile["staff"]),
        "party_committee_women": (profile["party_committee_women"], profile["party_committee"]),
        "union_committee_women": (profile["union_committee_women"], profile["union_committee"]),
        "article_months": (len(article_months), len(scope) * months),
    }
    for code, org in (("communication_ban", "ban"), ("communication_union", "cong_doan"),
                      ("communication_youth", "doan_tn")):
        ratios[code] = (len({r["unit_id"] for r in inside if r["type"] == "communication"
                             and org in r["organisers"]}), len(scope))
    return {"totals": totals, "profile": {"units": len(latest), **profile}, "ratios": ratios}


LEVELS = {"female_leaders": 75, "women_in_pool": 50, "pool_women_trained": 90,
          "staff_trained": 100, "party_committee_women": 15, "union_committee_women": 15,
          "article_months": 100, "communication_ban": 100, "communication_union": 100,
          "communication_youth": 100}


def verdict(num: int, den: int, level: int) -> str:
    if den == 0:
        return "unknown"
    return "met" if num * 100 >= level * den else "not_met"


# --- the test ----------------------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgres"])
def database(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    pg_name = None
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'rollup.db'}"
    else:
        admin_url = os.environ.get(PG_ENV)
        if not admin_url:
            pytest.skip(f"{PG_ENV} is not set")
        url, pg_name = asyncio.run(_create_pg_database(admin_url))
    monkeypatch.setenv("VSTBPN_DATABASE_URL", url)
    monkeypatch.delenv("VSTBPN_TELEGRAM_TOKEN", raising=False)
    monkeypatch.chdir(tmp_path)

    async def setup() -> None:
        ctx = await AppContext.create(make_settings(url))
        try:
            async with ctx.sessions() as session, session.begin():
                from datetime import datetime

                joined = datetime(2025, 12, 1, 9, tzinfo=VN)
                for unit, parent in PARENT.items():
                    made = await units.add_unit(session, f"Đơn vị {unit}", joined, parent)
                    assert made.id == unit
        finally:
            await ctx.close()

    asyncio.run(setup())
    yield url
    if pg_name is not None:
        asyncio.run(_drop_pg_database(os.environ[PG_ENV], pg_name))


def run(*args: str) -> str:
    result = runner.invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize("period, start, end, administrative, months", [
    ("2026", date(2025, 12, 15), date(2026, 12, 14), True, 12),
    ("2026-H1", date(2025, 12, 15), date(2026, 6, 14), True, 6),
    ("2026-Q3", date(2026, 7, 1), date(2026, 9, 30), False, 3),
])
def test_every_total_and_verdict_equals_an_independent_computation(
    database: str, tmp_path: Path, period: str, start: date, end: date, administrative: bool,
    months: int,
) -> None:
    rows = generate()
    write(rows, tmp_path / "year.csv")
    assert f"{len(rows)} check-in" in run("checkin", "import", str(tmp_path / "year.csv"))
    for unit in PARENT:
        got = json.loads(run("report", "--unit", str(unit), "--period", period))
        want = expected(rows, unit, start, end, administrative, months)
        assert got["period"]["start"] == start.isoformat()
        assert got["period"]["end"] == end.isoformat()
        assert got["totals"] == want["totals"], unit
        profiled = want["profile"]["units"] > 0  # without profiles, no fields at all
        assert got["profile"] == {k: v for k, v in want["profile"].items()
                                  if k == "units" or profiled}, unit
        yearly = period == "2026"
        for target in got["targets"]:
            num, den = want["ratios"][target["code"]]
            assert (target["numerator"], target["denominator"]) == (num, den), target
            assert target["verdict"] == verdict(num, den, LEVELS[target["code"]]), target
        codes = {t["code"] for t in got["targets"]}
        assert ("communication_union" in codes) == yearly


def test_siblings_and_children_never_see_each_others_numbers(database: str,
                                                             tmp_path: Path) -> None:
    rows = generate()
    write(rows, tmp_path / "year.csv")
    run("checkin", "import", str(tmp_path / "year.csv"))
    articles = {unit: sum(1 for r in rows if r["unit_id"] == unit and r["type"] == "article")
                for unit in PARENT}
    got = {unit: json.loads(run("report", "--unit", str(unit), "--period", "2026"))
           for unit in PARENT}
    # A leaf sees itself; a department itself and its child; the ministry everyone.
    assert got[4]["totals"]["article"]["checkins"] == articles[4]
    assert got[2]["totals"]["article"]["checkins"] == articles[2] + articles[4]
    assert got[3]["totals"]["article"]["checkins"] == articles[3] + articles[5]
    assert got[1]["totals"]["article"]["checkins"] == sum(articles.values())
    assert [c["id"] for c in got[1]["children"]] == [2, 3]
    assert [c["id"] for c in got[2]["children"]] == [4] and got[4]["children"] == []
    # Unit 3 and 5 never entered staff figures; unit 2's report holds 2 and 4 only.
    assert got[3]["profile"]["units"] == 0 and got[2]["profile"]["units"] == 2
    assert all(t["verdict"] == "unknown" for t in got[5]["targets"]
               if t["code"] in ("women_in_pool", "staff_trained", "female_leaders"))
