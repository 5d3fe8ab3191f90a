"""`vstbpn checkin list` and `vstbpn checkin import` (plain tests: the CLI runs its own loop).

The CLI reads the real clock, so every activity here is dated before December 2026.
"""

from __future__ import annotations

import asyncio
import csv
import json
import os
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, TypeVar

import openpyxl
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from typer.testing import CliRunner

from bot.cli import app as cli
from bot.context import AppContext
from bot.models import Checkin, CheckinRevision, CheckinValue, Occurrence, OccurrenceStatus, Role
from bot.services import checkins, members, units
from tests.conftest import (
    PG_ENV,
    VN,
    _create_pg_database,
    _drop_pg_database,
    make_settings,
)

T = TypeVar("T")
runner = CliRunner()
JOINED = datetime(2026, 1, 5, 9, tzinfo=VN)
KEYS = {"id", "unit_id", "member_id", "type", "date", "end", "fields"}


@dataclass(frozen=True)
class Db:
    url: str
    hoa: int  # focal point of unit 1
    nam: int  # member of unit 2

    def query(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        async def go() -> T:
            ctx = await AppContext.create(make_settings(self.url))
            try:
                async with ctx.sessions() as session, session.begin():
                    return await work(session)
            finally:
                await ctx.close()

        return asyncio.run(go())


@pytest.fixture(params=["sqlite", "postgres"])
def db(request: pytest.FixtureRequest, tmp_path: Path,
       monkeypatch: pytest.MonkeyPatch) -> Iterator[Db]:
    """The database the CLI uses: unit 1 "Sở Nội vụ" with focal point Hoa, and unit 2
    "Phòng A" below it with member Nam."""
    pg_name = None
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    else:
        admin_url = os.environ.get(PG_ENV)
        if not admin_url:
            pytest.skip(f"{PG_ENV} is not set")
        url, pg_name = asyncio.run(_create_pg_database(admin_url))
    monkeypatch.setenv("VSTBPN_DATABASE_URL", url)
    monkeypatch.delenv("VSTBPN_TELEGRAM_TOKEN", raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env

    async def setup(session: AsyncSession) -> tuple[int, int]:
        top = await units.add_unit(session, "Sở Nội vụ", JOINED)
        below = await units.add_unit(session, "Phòng A", JOINED, top.id)
        ids = []
        for unit_id, role, name in [(top.id, Role.focal, "Lê Thị Hoa"),
                                    (below.id, Role.member, "Trần Văn Nam")]:
            member = await members.register(
                session, unit_id=unit_id, role=role, full_name=name, language="vi",
                channel="telegram", external_id=name, chat_id=name, now=JOINED,
            )
            ids.append(member.id)
        return ids[0], ids[1]

    base = Db(url, 0, 0)
    hoa, nam = base.query(setup)
    yield Db(url, hoa, nam)
    if pg_name is not None:
        asyncio.run(_drop_pg_database(os.environ[PG_ENV], pg_name))


def run(*args: str, ok: bool = True) -> str:
    result = runner.invoke(cli, list(args))
    assert result.exit_code == (0 if ok else 2), result.output
    return result.output


def write_csv(path: Path, rows: list[list[Any]]) -> Path:
    with path.open("w", encoding="utf-8-sig", newline="") as f:  # with a BOM, as Excel saves
        csv.writer(f).writerows(rows)
    return path


async def _stored(session: AsyncSession) -> list[Checkin]:
    return list(await session.scalars(select(Checkin).order_by(Checkin.id)))


async def _numbers(session: AsyncSession) -> dict[tuple[int, str], int]:
    return {(v.checkin_id, v.name): v.value for v in await session.scalars(select(CheckinValue))}


async def _count_checkins(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(Checkin)) or 0)


HEADER = ["unit_id", "member_id", "type", "date", "title", "mode", "format", "organisers",
          "campaign", "participants", "women", "topic", "audience", "classes", "attendances",
          "pool", "drafted", "mainstreamed"]


def _row(**cells: Any) -> list[Any]:
    return [cells.get(name, "") for name in HEADER]


def test_csv_import_stores_exactly_its_rows(db: Db, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "ket_qua.csv", [
        HEADER,
        _row(unit_id=1, member_id=db.hoa, type="communication", date="8/3/2026 - 10/3/2026",
             title="Nói chuyện chuyên đề 8/3", mode="Chuyên đề", format="talk",
             organisers="ban, cong_doan", campaign="womens_day", participants=40, women=30),
        _row(unit_id=2, member_id=db.nam, type="training", date="12/3/2026",
             title="Tập huấn Luật Bình đẳng giới", topic="ge", audience="staff",
             format="Trực tiếp", classes=1, attendances=45, women=30),
        ["", "", "", ""],  # an empty row in between is skipped
        _row(unit_id=1, type="mainstreaming", date="2026-H1", drafted=5, mainstreamed=2),
    ])
    assert "3 check-in(s) stored from ket_qua.csv" in run("checkin", "import", str(path))

    rows = db.query(_stored)
    got = [(c.unit_id, c.member_id, c.activity, c.starts_on, c.ends_on, c.period_year,
            c.period_half, c.channel, c.occurrence_id, c.deleted_at) for c in rows]
    assert got == [
        (1, db.hoa, "communication", date(2026, 3, 8), date(2026, 3, 10), 2026, 1, "import",
         None, None),
        (2, db.nam, "training", date(2026, 3, 12), date(2026, 3, 12), 2026, 1, "import", None,
         None),
        (1, None, "mainstreaming", date(2026, 1, 1), date(2026, 6, 30), 2026, 1, "import",
         None, None),
    ]
    communication, training, mainstreaming = rows
    assert communication.fields == {
        "dates": ["2026-03-08", "2026-03-10"], "title": "Nói chuyện chuyên đề 8/3",
        "mode": "dedicated", "format": "talk", "organisers": ["ban", "cong_doan"],
        "campaign": "womens_day", "participants": 40, "women": 30,
    }
    assert training.fields == {
        "dates": ["2026-03-12", "2026-03-12"], "title": "Tập huấn Luật Bình đẳng giới",
        "topic": "ge", "audience": ["staff"], "format": "in_person", "classes": 1,
        "attendances": 45, "women": 30, "pool": None,
    }
    assert mainstreaming.fields == {"period": ["2026-01-01", "2026-06-30"], "drafted": 5,
                                    "mainstreamed": 2}
    c, t, m = communication.id, training.id, mainstreaming.id
    assert db.query(_numbers) == {
        (c, "participants"): 40, (c, "women"): 30, (c, "mode=dedicated"): 1,
        (c, "format=talk"): 1, (c, "organisers=ban"): 1, (c, "organisers=cong_doan"): 1,
        (c, "campaign=womens_day"): 1,
        (t, "classes"): 1, (t, "attendances"): 45, (t, "women"): 30, (t, "topic=ge"): 1,
        (t, "audience=staff"): 1, (t, "format=in_person"): 1,
        (m, "drafted"): 5, (m, "mainstreamed"): 2,
    }

    async def history(session: AsyncSession) -> tuple[list[tuple[int, str]], int]:
        revisions = [(r.checkin_id, r.action)
                     for r in await session.scalars(select(CheckinRevision))]
        # The 8/3 activity would close unit 1's 8/3 duty in chat; an import leaves duties be.
        closed = await session.scalar(select(func.count()).select_from(Occurrence).where(
            Occurrence.status != OccurrenceStatus.open))
        return revisions, int(closed or 0)

    revisions, closed = db.query(history)
    assert sorted(revisions) == [(c, "created"), (t, "created"), (m, "created")]
    assert closed == 0


def test_xlsx_import_reads_dates_and_numbers_as_excel_holds_them(db: Db, tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["unit_id", "member_id", "type", "date", "title", "channel", "url", "course",
                  "organiser", "sent", "women"])
    sheet.append([1.0, None, "article", datetime(2026, 3, 5), "Phụ nữ và chuyển đổi số",
                  "portal", "https://noivu.gov.vn/bai-viet", None, None, None, None])
    sheet.append([2, db.nam, "sent_training", date(2026, 4, 20), None, None, None,
                  "Bồi dưỡng kiến thức giới", "Học viện Phụ nữ", 12.0, 5])
    book.create_sheet("Ghi chú").append(["not read: only the first sheet is"])
    path = tmp_path / "ket_qua.xlsx"
    book.save(path)

    assert "2 check-in(s) stored" in run("checkin", "import", str(path))
    article, sent = db.query(_stored)
    assert (article.unit_id, article.member_id, article.activity, article.starts_on) == (
        1, None, "article", date(2026, 3, 5))
    assert article.fields == {"date": "2026-03-05", "title": "Phụ nữ và chuyển đổi số",
                              "channel": "portal", "url": "https://noivu.gov.vn/bai-viet"}
    assert (sent.unit_id, sent.member_id, sent.activity, sent.starts_on, sent.ends_on) == (
        2, db.nam, "sent_training", date(2026, 4, 20), date(2026, 4, 20))
    assert sent.fields == {"date": "2026-04-20", "course": "Bồi dưỡng kiến thức giới",
                           "organiser": "Học viện Phụ nữ", "sent": 12, "women": 5}
    assert db.query(_numbers) == {(article.id, "channel=portal"): 1, (sent.id, "sent"): 12,
                                  (sent.id, "women"): 5}


def test_semicolon_csv_with_a_cell_over_two_lines(db: Db, tmp_path: Path) -> None:
    # As Excel saves a CSV when set to Vietnamese (decimal comma): cells split by ';'.
    path = tmp_path / "kho_khan.csv"
    path.write_text('unit_id;type;date;difficulties;proposals\n'
                    '1;difficulties;30/6/2026;"Thiếu kinh phí;\nthiếu người";\n',
                    encoding="utf-8")
    assert "1 check-in(s) stored" in run("checkin", "import", str(path))
    (stored,) = db.query(_stored)
    assert stored.fields == {"date": "2026-06-30", "difficulties": "Thiếu kinh phí;\nthiếu người",
                             "causes": None, "proposals": None}


def test_one_bad_cell_stores_nothing(db: Db, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "sai.csv", [
        ["unit_id", "type", "date", "title", "mode", "format", "organisers", "campaign",
         "participants", "women"],
        [1, "communication", "8/3/2026", "Nói chuyện", "dedicated", "talk", "ban",
         "womens_day", 40, 30],
        [1, "communication", "20/10/2026", "Văn nghệ 20/10", "integrated", "arts", "ban",
         "vn_womens_day", 40, 50],
    ])
    out = run("checkin", "import", str(path), ok=False)
    lines = out.splitlines()
    assert lines[0].startswith("row 3, column women: ")
    assert "Số người tham dự" in lines[0]  # the reason, in Vietnamese, names the total
    assert lines[1:] == ["nothing stored: 1 problem(s)"]
    assert db.query(_count_checkins) == 0


def test_wrong_unit_member_type_and_columns_are_named(db: Db, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "sai.csv", [
        ["unit_id", "member_id", "type", "date", "title", "channel", "drafted", "mainstreamed"],
        [99, "", "article", "5/3/2026", "Tin", "bulletin", "", ""],
        [1, db.nam, "article", "5/3/2026", "Tin", "bulletin", "", ""],
        [1, "", "poem", "5/3/2026", "Thơ", "", "", ""],
        [1, "", "article", "5/3/2026", "Tin", "bulletin", "3", ""],
        [1, "", "mainstreaming", "1/1/2999 - 30/6/2999", "", "", "5", "2"],
        [1, "", "article", "5/3/2026", "Tin đúng", "bulletin", "", ""],
    ])
    lines = run("checkin", "import", str(path), ok=False).splitlines()
    assert lines[0] == "row 2, column unit_id: no unit 99"
    assert lines[1] == f"row 3, column member_id: member {db.nam} (Trần Văn Nam) is not in unit 1"
    assert lines[2].startswith("row 4, column type: unknown type 'poem' (known: article, ")
    assert lines[3] == "row 5, column drafted: not a field of type article"
    assert lines[4].startswith("row 6, column date: ") and "chưa đến" in lines[4]
    assert lines[5:] == ["nothing stored: 5 problem(s)"]  # row 7 is right and not named

    # A column no type has is refused from the header, before any row is read.
    bad = write_csv(tmp_path / "cot.csv", [["unit_id", "type", "date", "colour"],
                                           [1, "article", "5/3/2026", "red"]])
    lines = run("checkin", "import", str(bad), ok=False).splitlines()
    assert lines == ["row 1, column colour: unknown column (not a field of any check-in type)",
                     "nothing stored: 1 problem(s) in the header"]
    assert db.query(_count_checkins) == 0


def test_import_refuses_a_missing_or_foreign_file(db: Db, tmp_path: Path) -> None:
    for args, message in [
        ([str(tmp_path / "none.csv")], f"no file {tmp_path / 'none.csv'}"),
        ([str(tmp_path / "notes.txt")], f"{tmp_path / 'notes.txt'}: give a .csv (UTF-8) or "
                                        ".xlsx file"),
    ]:
        assert run("checkin", "import", *args, ok=False).splitlines() == [message]
    latin = tmp_path / "latin.csv"
    latin.write_bytes("unit_id,type,date,title\n1,article,5/3/2026,Café\n".encode("latin-1"))
    out = run("checkin", "import", str(latin), ok=False)
    assert out.splitlines() == [f'{latin} is not UTF-8 text: save it as "CSV UTF-8"']
    broken = tmp_path / "broken.xlsx"
    broken.write_text("not a workbook")
    lines = run("checkin", "import", str(broken), ok=False).splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"cannot read {broken}: ")
    assert db.query(_count_checkins) == 0


def _seed(db: Db, tmp_path: Path) -> dict[str, int]:
    """Check-ins of unit 1 starting 20/12/2025, 5/3, 20/3 (to 2/4), 1/7 (to 31/12: a period
    check-in of the second half) and 10/7/2026; one of unit 2; one of unit 1 deleted."""
    path = write_csv(tmp_path / "seed.csv", [
        ["unit_id", "type", "date", "title", "channel", "kind", "number", "subject", "purpose",
         "drafted", "mainstreamed"],
        [1, "document", "20/12/2025", "", "", "plan", "12/KH-BVSTBPN", "Kế hoạch năm 2026",
         "annual_plan", "", ""],
        [1, "article", "5/3/2026", "Tin 8/3", "bulletin", "", "", "", "", "", ""],
        [1, "article", "20/3/2026 ", "Tin cuối tháng", "bulletin", "", "", "", "", "", ""],
        [1, "mainstreaming", "2026-H2", "", "", "", "", "", "", "4", "1"],
        [1, "document", "10/7/2026", "", "", "notice", "3/TB", "Thông báo", "other", "", ""],
        [2, "article", "6/3/2026", "Tin phòng A", "bulletin", "", "", "", "", "", ""],
        [1, "article", "7/3/2026", "Tin bị xóa", "bulletin", "", "", "", "", "", ""],
    ])
    run("checkin", "import", str(path))

    async def ids(session: AsyncSession) -> dict[str, int]:
        found = await _stored(session)
        deleted = found[-1]
        await checkins.remove(session, deleted, by=None, now=datetime.now(VN))
        return {"plan": found[0].id, "tin83": found[1].id, "tin_cuoi": found[2].id,
                "h2": found[3].id, "notice": found[4].id}

    return db.query(ids)


def listed(*args: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in run("checkin", "list", *args, "--json").splitlines()]


def test_list_json_by_period(db: Db, tmp_path: Path) -> None:
    seeded = _seed(db, tmp_path)
    everything = listed("--unit", "1")
    assert [r["id"] for r in everything] == [seeded[k] for k in
                                            ("plan", "tin83", "tin_cuoi", "h2", "notice")]
    assert all(set(r) == KEYS for r in everything)
    h2 = everything[3]
    assert h2 == {"id": seeded["h2"], "unit_id": 1, "member_id": None, "type": "mainstreaming",
                  "date": "2026-07-01", "end": "2026-12-31",
                  "fields": {"period": ["2026-07-01", "2026-12-31"], "drafted": 4,
                             "mainstreamed": 1}}

    def ids(period: str) -> list[int]:
        return [r["id"] for r in listed("--unit", "1", "--period", period)]

    assert ids("2026-03") == [seeded["tin83"], seeded["tin_cuoi"]]
    assert ids("2026-H1") == [seeded["tin83"], seeded["tin_cuoi"]]
    assert ids("2026-H2") == [seeded["h2"], seeded["notice"]]
    assert ids("2026") == [seeded[k] for k in ("tin83", "tin_cuoi", "h2", "notice")]
    assert ids("2025") == [seeded["plan"]]
    assert ids("2026-03-01..2026-03-10") == [seeded["tin83"]]
    assert ids("2026-Q2") == []


def test_list_table_and_bad_input(db: Db, tmp_path: Path) -> None:
    seeded = _seed(db, tmp_path)
    lines = run("checkin", "list", "--unit", "1", "--period", "2026-H2").splitlines()
    assert lines[0].split() == ["id", "date", "type", "member", "summary"]
    assert lines[1].split() == [str(seeded["h2"]), "2026-07-01..2026-12-31", "mainstreaming",
                                "-", "drafted", "4,", "mainstreamed", "1"]
    assert lines[2].split()[:4] == [str(seeded["notice"]), "2026-07-10", "document", "-"]
    assert lines[2].rstrip().endswith("3/TB")
    assert len(lines) == 3

    out = run("checkin", "list", "--unit", "1", "--period", "2026-13", ok=False)
    assert out.splitlines() == ["invalid --period '2026-13': give 2027, 2027-H1, 2027-Q1, "
                                "2027-03 or 2027-01-01..2027-03-31"]
    assert run("checkin", "list", "--unit", "9", ok=False).splitlines() == ["no unit 9"]
