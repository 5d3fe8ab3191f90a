"""Roll-up and report speed: python bench/bench_rollup.py [--units N] [--checkins C] [--pg URL].

Generates a four-level tree (1 national unit → provinces → departments → units) of N units
with members, the default duty catalog and its occurrences (done on time, late, not
applicable or missing), report submissions, and C check-ins of every activity type in the
administrative year 2026 (15/12/2025–14/12/2026) plus ``--before`` × C in the year before
(the report's "cùng kỳ"). Then it times, alternating SQLite and PostgreSQL, run by run:

* the national year roll-up: ``rollup.of_subtree`` (subtree + ``rollup.rollup``), and the
  full ``reports.build`` of the national unit;
* one province's report: ``reports.build`` + the Word file + the workbook with raw check-ins
  (``report_rows.raw_checkins`` + ``render_xlsx(include_raw=True)``, as `vstbpn report` does);

and prints each timing's median and spread (min–max) over ``--runs`` runs (each timing in a
fresh session, after a gc.collect()), then the plans of the national and the province
roll-up's queries (SQLite: EXPLAIN QUERY PLAN; PostgreSQL: EXPLAIN ANALYZE).

Generation is not timed. SQLite gets no ANALYZE (the bot never runs one); PostgreSQL gets
VACUUM ANALYZE, as autovacuum would after a load. With ``--pg``, a scratch database is
created on that server and dropped afterwards (``--pg-db NAME`` keeps and reuses one).
``--tiny`` is a few-second smoke run for CI.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import event, func, insert, select  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncEngine  # noqa: E402

from bot.config import Settings  # noqa: E402
from bot.context import AppContext  # noqa: E402
from bot.exports.report_docx import render_docx  # noqa: E402
from bot.exports.report_xlsx import render_xlsx  # noqa: E402
from bot.models import (  # noqa: E402
    Checkin,
    CheckinValue,
    Duty,
    Member,
    Occurrence,
    ReportSubmission,
    Unit,
)
from bot.services import activities, report_rows, reports, rollup  # noqa: E402
from bot.services.calendar import occurrences_between  # noqa: E402
from bot.services.duties import install_catalog  # noqa: E402
from bot.services.periods import admin_month, period_of  # noqa: E402

YEAR = "2026"
PERIOD = period_of(YEAR)  # 15/12/2025 – 14/12/2026
BEFORE = PERIOD.year_before()
NOW = datetime(2026, 12, 20, 3, 0, tzinfo=UTC)
# Share of each activity type among check-ins (profiles are extra: 1–2 per unit and year).
MIX = {"article": 40, "communication": 22, "training": 8, "sent_training": 6, "document": 4,
       "mainstreaming": 2, "model": 2, "commendation": 3, "inspection": 2, "budget": 2,
       "gbv_support": 3, "cooperation": 1, "difficulties": 1}
CHUNK = 20_000


# --- the tree and its data --------------------------------------------------------------


def tree_shape(n_units: int) -> dict[int, int | None]:
    """unit id → parent id: 1 national unit, up to 63 provinces, up to 6 departments each,
    the rest as units spread evenly under the departments."""
    provinces = max(2, min(63, n_units // 48))
    departments = max(1, min(6, (n_units - 1 - provinces) // (provinces * 5)))
    parent: dict[int, int | None] = {1: None}
    prov_ids = list(range(2, 2 + provinces))
    for p in prov_ids:
        parent[p] = 1
    dept_ids = []
    for p in prov_ids:
        for _ in range(departments):
            dept_ids.append(len(parent) + 1)
            parent[len(parent) + 1] = p
    i = 0
    while len(parent) < n_units:
        parent[len(parent) + 1] = dept_ids[i % len(dept_ids)]
        i += 1
    return parent


def _fields(rng: random.Random, kind: activities.ActivityType, day: date, i: int
            ) -> dict[str, Any]:
    """Answers for every field of the type, as a check-in stores them."""
    out: dict[str, Any] = {}
    counts: dict[str, int] = {}
    for f in kind.fields:
        if f.kind == "day":
            out[f.name] = day.isoformat()
        elif f.kind in ("days", "period"):
            out[f.name] = [day.isoformat(), (day + timedelta(days=rng.randint(0, 3))).isoformat()]
        elif f.kind == "text":
            out[f.name] = f"{kind.code} {f.name} {i}"
        elif f.kind == "longtext":
            out[f.name] = f"Nội dung {i}: khó khăn về kinh phí.\n- Đề xuất {i}"
        elif f.kind == "url":
            out[f.name] = f"https://example.vn/bai/{i}"
        elif f.kind == "count":
            top = counts.get(f.at_most, 150) if f.at_most else 150
            counts[f.name] = out[f.name] = rng.randint(f.minimum, max(f.minimum, top))
        elif f.kind == "money":
            out[f.name] = rng.randrange(0, 50_000_000, 1000)
        elif f.kind == "choice":
            out[f.name] = rng.choice(f.options).value
        elif f.kind == "multi":
            out[f.name] = sorted(o.value for o in rng.sample(f.options, rng.randint(1, 2)))
        elif f.kind == "yesno":
            out[f.name] = rng.random() < 0.5
    if kind.code == "communication":  # women ≤ participants (at_most is on women)
        out["women"] = min(out["women"], out["participants"])
    return out


async def _insert(conn: Any, table: Any, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), CHUNK):
        await conn.execute(insert(table), rows[start:start + CHUNK])


async def generate(engine: AsyncEngine, app: AppContext, n_units: int, n_checkins: int,
                   before: float, seed: int = 2026) -> None:
    rng = random.Random(seed)
    cal = app.calendar.cal
    parent = tree_shape(n_units)
    created = datetime(2024, 11, 1, 2, tzinfo=UTC)
    async with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            await conn.exec_driver_sql("PRAGMA synchronous=OFF")
        await _insert(conn, Unit.__table__, [
            {"id": u, "name": ("Quốc gia" if p is None else f"Đơn vị {u}"), "parent_id": p,
             "timezone": "Asia/Ho_Chi_Minh", "created_at": created} for u, p in parent.items()])
    async with app.sessions() as session, session.begin():  # the default duty catalog
        await install_catalog(session, list(parent), created)
    async with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            await conn.exec_driver_sql("PRAGMA synchronous=OFF")
        # Members: a focal point, an admin and two members per unit.
        members: dict[int, list[int]] = {}
        rows = []
        for u in parent:
            for role in ("focal", "admin", "member", "member"):
                mid = len(rows) + 1
                members.setdefault(u, []).append(mid)
                rows.append({"id": mid, "unit_id": u, "role": role,
                             "full_name": f"Cán bộ {u}-{len(members[u])}", "language": "vi",
                             "active": True, "created_at": created})
        await _insert(conn, Member.__table__, rows)
        # Occurrences of every catalog duty in both years, as the planner stores them.
        duties = list((await conn.execute(select(Duty).where(Duty.enabled.is_(True)))).all())
        by_unit: dict[int, list[Any]] = {}
        for d in duties:
            by_unit.setdefault(d.unit_id, []).append(d)
        template = occurrences_between(
            sorted(by_unit[1], key=lambda d: d.id), BEFORE.start, PERIOD.end, cal)
        codes = {d.id: d.code for d in by_unit[1]}
        occ_rows: list[dict[str, Any]] = []
        article_occ: dict[tuple[int, str], int] = {}  # (unit, "YYYY-MM") → occurrence id
        for u, own in by_unit.items():
            duty_of = {d.code: d.id for d in own}
            for item in template:
                roll = rng.random()
                if roll < 0.15:
                    continue  # the planner never reached it: still owed
                code = codes[item.duty.id]
                occ = item.occurrence
                status, closed = "open", None
                if roll < 0.85:
                    status = "done"
                    late = rng.random() < 0.2
                    closed = datetime.combine(
                        occ.due_on + timedelta(days=rng.randint(1, 20) if late
                                               else -rng.randint(0, 10)),
                        datetime.min.time(), tzinfo=UTC) + timedelta(hours=3)
                elif roll < 0.9:
                    status = "na"
                oid = len(occ_rows) + 1
                occ_rows.append({"id": oid, "duty_id": duty_of[code], "unit_id": u,
                                 "key": occ.key, "starts_on": occ.starts_on,
                                 "due_on": occ.due_on, "status": status, "closed_at": closed,
                                 "closed_by": members[u][0] if closed else None,
                                 "created_at": created})
                if code == "monthly_article":
                    article_occ[(u, occ.key[:7])] = oid
        await _insert(conn, Occurrence.__table__, occ_rows)
        # Report submissions of the year, for every unit below the national one.
        statuses = ["approved", "approved", "submitted", "returned", "excused", None]
        subs = []
        for u in parent:
            status = rng.choice(statuses)
            if u == 1 or status is None:
                continue
            subs.append({"unit_id": u, "period": YEAR, "starts_on": PERIOD.start,
                         "ends_on": PERIOD.end, "status": status,
                         "submitted_by": members[u][0], "submitted_at": NOW,
                         "due_on": date(2026, 12, 15), "decided_by": None,
                         "decided_at": None, "comment": None})
        await _insert(conn, ReportSubmission.__table__, subs)

        # Check-ins: C in the year, before × C in the year before, spread over every unit.
        catalog = activities.catalog()
        codes_mix = list(MIX)
        weights = [MIX[c] for c in codes_mix]
        units = list(parent)
        spans = [(PERIOD, n_checkins), (BEFORE, int(n_checkins * before))]
        cid = 0
        for span, count in spans:
            days = (span.end - span.start).days
            profiles = [(u, span.start + timedelta(days=rng.randrange(days + 1)), "profile")
                        for u in units if rng.random() < 0.8 for _ in range(rng.randint(1, 2))]
            pending = profiles
            made = 0
            while made < count or pending:
                take = min(CHUNK, count - made)
                batch = pending + [
                    (rng.choice(units), span.start + timedelta(days=rng.randrange(days + 1)), a)
                    for a in rng.choices(codes_mix, weights, k=take)]
                made += take
                pending = []
                checkin_rows, value_rows = [], []
                for u, day, code in batch:
                    cid += 1
                    kind = catalog[code]
                    fields = _fields(rng, kind, day, cid)
                    first, last = kind.dates(fields)
                    y, m = admin_month(first)
                    deleted = NOW if rng.random() < 0.01 else None
                    occurrence = (article_occ.get((u, first.isoformat()[:7]))
                                  if code == "article" and rng.random() < 0.5 else None)
                    member = rng.choice(members[u])
                    checkin_rows.append({
                        "id": cid, "unit_id": u, "member_id": member, "activity": code,
                        "starts_on": first, "ends_on": last, "period_year": y,
                        "period_half": 1 if m <= 6 else 2, "period_month": m,
                        "occurrence_id": occurrence, "fields": fields, "channel": "telegram",
                        "created_at": NOW, "updated_at": NOW, "updated_by": member,
                        "deleted_at": deleted})
                    if deleted is None:
                        value_rows += [{"checkin_id": cid, "name": name, "unit_id": u,
                                        "activity": code, "day": first, "value": value}
                                       for name, value in kind.numbers(fields).items()]
                await _insert(conn, Checkin.__table__, checkin_rows)
                await _insert(conn, CheckinValue.__table__, value_rows)
        if engine.dialect.name == "postgresql":
            for table in ("units", "members", "occurrences", "checkins"):
                await conn.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT max(id) FROM {table}))")
    if engine.dialect.name == "postgresql":
        async with engine.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.exec_driver_sql("VACUUM ANALYZE")


# --- timing -----------------------------------------------------------------------------


class Bench:
    """One database: its app, its national unit and one province."""

    def __init__(self, name: str, app: AppContext) -> None:
        self.name, self.app = name, app
        self.times: dict[str, list[float]] = {}
        self.sizes: dict[str, Any] = {}

    async def timed(self, label: str, work: Callable[[], Awaitable[Any]]) -> Any:
        gc.collect()  # the garbage of the timing before is not this one's
        t0 = time.perf_counter()
        result = await work()
        self.times.setdefault(label, []).append(time.perf_counter() - t0)
        return result

    async def run_once(self, province_id: int) -> None:
        cal = self.app.calendar.cal
        sessions = self.app.sessions

        async def national_rollup() -> rollup.Rollup:
            async with sessions() as session:
                return await rollup.of_subtree(session, 1, PERIOD)

        async def national_build() -> reports.Report:
            async with sessions() as session:
                unit = await session.get(Unit, 1)
                assert unit is not None
                return await reports.build(session, unit, PERIOD, cal)

        async def province() -> tuple[int, int, int]:
            async with sessions() as session:
                unit = await session.get(Unit, province_id)
                assert unit is not None
                built = await reports.build(session, unit, PERIOD, cal)
                raw = await report_rows.raw_checkins(session, [u.id for u in built.units],
                                                     PERIOD)
            docx = render_docx(built)
            xlsx = render_xlsx(built, include_raw=True, raw=raw)
            return len(docx), len(xlsx), len(raw)

        r = await self.timed("national roll-up", national_rollup)
        built = await self.timed("national build", national_build)
        sizes = await self.timed("province build + Word + Excel", province)
        self.sizes = {"national check-ins": sum(r.counts.values()),
                      "national units": len(r.unit_ids),
                      "national completeness rows": len(built.unit_duties),
                      "province raw check-ins": sizes[2],
                      "docx bytes": sizes[0], "xlsx bytes": sizes[1]}

    async def explain(self, unit_id: int) -> list[tuple[str, list[str]]]:
        """The plan of each query the roll-up of this unit's subtree runs."""
        engine = self.app.engine
        seen: list[tuple[str, Any]] = []

        def capture(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any,
                    executemany: bool) -> None:
            seen.append((statement, parameters))

        event.listen(engine.sync_engine, "before_cursor_execute", capture)
        try:
            async with self.app.sessions() as session:
                await rollup.of_subtree(session, unit_id, PERIOD)
        finally:
            event.remove(engine.sync_engine, "before_cursor_execute", capture)
        plans = []
        prefix = ("EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite"
                  else "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) ")
        async with engine.connect() as conn:
            for statement, parameters in seen:
                rows = await conn.exec_driver_sql(prefix + statement, parameters)
                if engine.dialect.name == "sqlite":
                    depth: dict[int, int] = {}  # row id → depth, from (id, parent, _, detail)
                    lines = []
                    for row_id, parent, _unused, detail in rows.all():
                        depth[row_id] = depth.get(parent, -1) + 1
                        lines.append("  " * depth[row_id] + detail)
                else:
                    lines = [r[0] for r in rows.all()]
                plans.append((_short(statement), [_clip(line) for line in lines]))
        return plans


def _clip(line: str, width: int = 150) -> str:
    return line if len(line) <= width else line[:width] + " …"


def _short(statement: str) -> str:
    """The query on one line, its long IN list of unit ids shown as (…)."""
    import re

    one = " ".join(statement.split())
    one = re.sub(r"IN \((?:[?$%][^()]*?,\s*){3,}[^()]*?\)", "IN (…unit ids…)", one)
    one = re.sub(r"IN \(__\[POSTCOMPILE_[^\]]*\]\)", "IN (…unit ids…)", one)
    return _clip(one, 400)


def summary(values: list[float]) -> str:
    med = statistics.median(values)
    return f"{med:6.2f} s  ({min(values):.2f}–{max(values):.2f})"


# --- databases ---------------------------------------------------------------------------


async def open_app(url: str) -> AppContext:
    return await AppContext.create(Settings(database_url=url, _env_file=None))


async def ensure_data(app: AppContext, args: argparse.Namespace) -> None:
    async with app.sessions() as session:
        have = await session.scalar(select(func.count()).select_from(Unit))
    if have:
        print(f"{app.engine.dialect.name}: reusing {have} units already there")
        return
    t0 = time.perf_counter()
    await generate(app.engine, app, args.units, args.checkins, args.before)
    async with app.sessions() as session:
        n = await session.scalar(select(func.count()).select_from(Checkin))
        v = await session.scalar(select(func.count()).select_from(CheckinValue))
        o = await session.scalar(select(func.count()).select_from(Occurrence))
    print(f"{app.engine.dialect.name}: generated {args.units} units, {n:,} check-ins, "
          f"{v:,} values, {o:,} occurrences in {time.perf_counter() - t0:.0f} s")


async def pg_database(admin_url: str, name: str, create: bool) -> str:
    import asyncpg

    dsn = admin_url.replace("postgresql+asyncpg://", "postgresql://")
    conn = await asyncpg.connect(dsn)
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if create and not exists:
            await conn.execute(f'CREATE DATABASE "{name}"')
        elif not create and exists:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()
    base = dsn.rsplit("/", 1)[0]
    return base.replace("postgresql://", "postgresql+asyncpg://", 1) + "/" + name


async def main(args: argparse.Namespace, sqlite_file: Path) -> int:
    targets: list[tuple[str, str]] = [("SQLite", f"sqlite+aiosqlite:///{sqlite_file}")]
    pg_name = None
    if args.pg:
        pg_name = args.pg_db or f"vstbpn_bench_{uuid.uuid4().hex[:10]}"
        targets.append(("PostgreSQL", await pg_database(args.pg, pg_name, create=True)))
    benches: list[Bench] = []
    try:
        for name, url in targets:
            app = await open_app(url)
            benches.append(Bench(name, app))
            await ensure_data(app, args)
        async with benches[0].app.sessions() as session:
            province_id = await session.scalar(
                select(Unit.id).where(Unit.parent_id == 1).order_by(Unit.id).limit(1))
        assert province_id is not None
        for run in range(args.runs):
            for bench in benches if run % 2 == 0 else benches[::-1]:
                await bench.run_once(province_id)
                print(f"run {run + 1} {bench.name}: " + ", ".join(
                    f"{label} {times[-1]:.2f} s" for label, times in bench.times.items()),
                    flush=True)
        print(f"\n{args.units} units, {args.checkins:,} check-ins in {YEAR} "
              f"(+{int(args.checkins * args.before):,} in the year before), "
              f"{args.runs} alternated runs; median (min–max)")
        print(f"| {'measure':32} | {'database':10} | median (spread) |")
        for label in benches[0].times:
            for bench in benches:
                print(f"| {label:32} | {bench.name:10} | {summary(bench.times[label])} |")
        for bench in benches:
            print(f"{bench.name}: {json.dumps(bench.sizes)}")
        if not args.no_plans:
            for bench in benches:
                for unit_id, whose in ((1, "national"), (province_id, "province")):
                    print(f"\n=== {bench.name}: plans of the {whose} roll-up's queries ===")
                    for statement, lines in await bench.explain(unit_id):
                        print(f"\n{statement}")
                        print("\n".join(f"    {line}" for line in lines))
        return 0
    finally:
        for bench in benches:
            await bench.app.close()
        if pg_name is not None and not args.pg_db:
            await pg_database(args.pg, pg_name, create=False)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=3000)
    parser.add_argument("--checkins", type=int, default=1_000_000,
                        help="check-ins in the year 2026 (default 1,000,000)")
    parser.add_argument("--before", type=float, default=0.5,
                        help="check-ins in the year before, as a share of --checkins")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--pg", help="a PostgreSQL server (admin URL): a scratch database "
                                     "is created there and dropped afterwards")
    parser.add_argument("--pg-db", help="with --pg: use (create, fill once, keep) this database")
    parser.add_argument("--sqlite", help="use (fill once, keep) this SQLite file")
    parser.add_argument("--no-plans", action="store_true", help="skip the EXPLAIN output")
    parser.add_argument("--tiny", action="store_true",
                        help="40 units, 4,000 check-ins: a smoke run for CI")
    args = parser.parse_args()
    if args.tiny:
        args.units, args.checkins = 40, 4000
    if args.sqlite:
        sys.exit(asyncio.run(main(args, Path(args.sqlite).resolve())))
    with tempfile.TemporaryDirectory(prefix="bench-rollup-") as tmp:
        code = asyncio.run(main(args, Path(tmp) / "bench.db"))
    sys.exit(code)
