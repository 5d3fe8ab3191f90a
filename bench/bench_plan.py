"""Planning a nation: python bench/bench_plan.py [--units N] [--members M] [--pg URL] [--runs R].

Builds a four-level unit tree (national → provinces → departments → units) of N units with M
members each (an admin, a focal point, the rest members) and the default duty catalog, then,
each in a fresh process so its peak memory is its own:

- first plan: an empty outbox, on the morning of 2 March 2026 (the 8/3 campaign, the monthly
  article and the action month's leftovers are all in the window);
- replan: the next run five minutes later, nothing changed;
- after a change: one member joins one unit, the next run;
- floor: the same occurrence and outbox rows inserted into empty tables with one prepared
  statement each (executemany), the least any planner could spend writing them.

Prints seconds, SQL statements, rows and peak RSS; --runs repeats and gives median and spread.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import delete, event, func, insert, select, text  # noqa: E402

from bot.config import Settings  # noqa: E402
from bot.context import AppContext  # noqa: E402
from bot.models import Member, Occurrence, OutboxMessage, Unit  # noqa: E402
from bot.services import duties  # noqa: E402
from scheduler import planner  # noqa: E402
from scheduler.clock import FakeClock  # noqa: E402
from scheduler.service import freeze_survivors  # noqa: E402

VN = ZoneInfo("Asia/Ho_Chi_Minh")
JOINED = datetime(2026, 1, 5, 9, tzinfo=VN)
AT = datetime(2026, 3, 2, 9, 0, tzinfo=VN)


def tree(n: int) -> list[int | None]:
    """Parents of units 1..n (index 0 is unit 1): 1 national, up to 63 provinces, a quarter
    of the rest departments, the others units below the departments."""
    provinces = max(1, min(63, n // 10))
    departments = max(1, (n - 1 - provinces) // 4)
    parents: list[int | None] = [None]
    parents += [1] * min(provinces, n - 1)
    first_dept = 2 + provinces
    parents += [2 + i % provinces for i in range(min(departments, max(0, n - len(parents))))]
    parents += [first_dept + i % departments for i in range(n - len(parents))]
    return parents[:n]


async def setup(url: str, n_units: int, n_members: int) -> None:
    app = await AppContext.create(Settings(database_url=url, _env_file=None),
                                  clock=FakeClock(JOINED))
    try:
        async with app.sessions() as session, session.begin():
            await session.execute(insert(Unit), [
                {"id": i + 1, "name": f"Đơn vị {i + 1}", "parent_id": parent,
                 "timezone": "Asia/Ho_Chi_Minh", "created_at": JOINED}
                for i, parent in enumerate(tree(n_units))])
            if app.engine.dialect.name == "postgresql":
                await session.execute(text(
                    "SELECT setval('units_id_seq', (SELECT max(id) FROM units))"))
            await duties.install_catalog(session, list(range(1, n_units + 1)), JOINED)
            rows = [{"unit_id": u, "role": "admin" if i == 0 else "focal" if i == 1 else "member",
                     "full_name": f"Cán bộ {u}-{i}", "language": "vi", "active": True,
                     "created_at": JOINED}
                    for u in range(1, n_units + 1) for i in range(n_members)]
            for start in range(0, len(rows), 10_000):
                await session.execute(insert(Member), rows[start:start + 10_000])
    finally:
        await app.close()


async def measure(url: str, step: str) -> dict[str, float]:
    clock = FakeClock(AT)
    app = await AppContext.create(Settings(database_url=url, _env_file=None), clock=clock,
                                  migrate=False)
    statements = 0

    def count(*_args: object) -> None:
        nonlocal statements
        statements += 1

    try:
        if step == "floor":
            return await floor(app)
        plans = planner.Planner(app)
        pauses: dict[str, float] = {}
        if step == "replan":  # as `vstbpn run` does once started
            gc.collect()
            gc.freeze()
        if step != "first":
            await plans.run()  # the process's first run (its own start-up)
            if step == "replan":  # a full collection with the snapshot alive, then frozen
                gc.collect()  # the first run's garbage
                pauses["gc_ms"] = _timed_collection()
                freeze_survivors()  # as the scheduler does after a full plan
                pauses["gc_frozen_ms"] = _timed_collection()
            clock.set(AT + timedelta(minutes=5))
            if step == "change":
                async with app.sessions() as session, session.begin():
                    session.add(Member(unit_id=7, role="member", full_name="Người mới",
                                       language="vi", active=True, created_at=clock.now()))
            clock.set(AT + timedelta(minutes=10))
        event.listen(app.engine.sync_engine, "before_cursor_execute", count)
        t0 = time.perf_counter()
        added = await plans.run()
        seconds = time.perf_counter() - t0
        return {"seconds": seconds, "statements": statements, "rows": added, **pauses}
    finally:
        await app.close()


def _timed_collection() -> float:
    t0 = time.perf_counter()
    gc.collect()
    return (time.perf_counter() - t0) * 1000


async def floor(app: AppContext) -> dict[str, float]:
    """Copy the planned rows out, empty the tables, and insert them back with executemany."""
    async with app.sessions() as session:
        occ = [dict(r._mapping) for r in await session.execute(select(Occurrence.__table__))]
        out = [dict(r._mapping) for r in await session.execute(select(OutboxMessage.__table__))]
    async with app.sessions() as session, session.begin():
        await session.execute(delete(OutboxMessage))
        await session.execute(delete(Occurrence))
    gc.disable()  # as the planner does while it runs
    try:
        t0 = time.perf_counter()
        async with app.sessions() as session, session.begin():
            conn = await session.connection()
            await conn.execute(insert(Occurrence.__table__), occ)
            await conn.execute(insert(OutboxMessage.__table__), out)
        seconds = time.perf_counter() - t0
    finally:
        gc.enable()
    return {"seconds": seconds, "statements": 2, "rows": len(out) + len(occ)}


def child(url: str, step: str) -> dict[str, float]:
    """One step in a fresh process: its peak memory is its own."""
    out = subprocess.run([sys.executable, __file__, "--step", step, "--url", url],
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--units", type=int, default=1000)
    parser.add_argument("--members", type=int, default=20)
    parser.add_argument("--pg", help="an empty scratch PostgreSQL database (it is reset)")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--tiny", action="store_true", help="a few units, for CI")
    parser.add_argument("--step", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.tiny:
        args.units, args.members, args.runs = 20, 5, 1
    if args.step:
        result = asyncio.run(measure(args.url, args.step))
        result["rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps(result))
        return
    results: dict[str, list[dict[str, float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(args.runs):
            url = args.pg or f"sqlite+aiosqlite:///{tmp}/plan-{run}.db"
            if args.pg:
                asyncio.run(reset_pg(args.pg))
            t0 = time.perf_counter()
            asyncio.run(setup(url, args.units, args.members))
            print(f"run {run + 1}: setup {time.perf_counter() - t0:.1f} s", file=sys.stderr)
            for step in ("first", "replan", "change", "floor"):
                if step == "first":
                    asyncio.run(clear(url))
                results.setdefault(step, []).append(child(url, step))
    print(f"{args.units} units × {args.members} members, "
          f"{'PostgreSQL' if args.pg else 'SQLite'}, {args.runs} run(s)")
    for step, found in results.items():
        secs = [r["seconds"] for r in found]
        spread = f" (min {min(secs):.2f}, max {max(secs):.2f})" if len(secs) > 1 else ""
        print(f"  {step:7} {statistics.median(secs):8.2f} s{spread}  "
              f"{int(found[0]['statements']):6} statements  {int(found[0]['rows']):8} rows  "
              f"peak RSS {max(r['rss_mb'] for r in found):.0f} MB")
    pauses = results["replan"]
    print(f"  a full collection after the first plan: "
          f"{statistics.median(r['gc_ms'] for r in pauses):.0f} ms, "
          f"{statistics.median(r['gc_frozen_ms'] for r in pauses):.1f} ms with the snapshot "
          f"frozen (as the scheduler does)")


async def clear(url: str) -> None:
    app = await AppContext.create(Settings(database_url=url, _env_file=None), migrate=False)
    try:
        async with app.sessions() as session, session.begin():
            await session.execute(delete(OutboxMessage))
            await session.execute(delete(Occurrence))
            count = await session.scalar(select(func.count()).select_from(Member))
            assert count
    finally:
        await app.close()


async def reset_pg(url: str) -> None:
    app = await AppContext.create(Settings(database_url=url, _env_file=None), migrate=False)
    try:
        async with app.engine.begin() as conn:
            await conn.execute(text("DROP SCHEMA public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
    finally:
        await app.close()


if __name__ == "__main__":
    main()
