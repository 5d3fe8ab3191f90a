"""Check-ins on the command line: list a unit's, and import many at once from a spreadsheet
(.csv or .xlsx), each row read by the chat form's rules and all stored or none."""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from bot.cli_common import JsonOpt, emit, fail, with_app

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from bot.context import AppContext
    from bot.i18n import Translator
    from bot.models import Checkin, Unit
    from bot.services import checkins

# The database, services and the chat form's rules are imported in the functions that use
# them: `vstbpn --help` should not load them (see bot/cli_common.py).

UnitOpt = Annotated[int, typer.Option("--unit", help="Unit ID (see `unit list`).")]
PeriodOpt = Annotated[
    str | None,
    typer.Option(help="Only activities starting in: 2027, 2027-H1, 2027-Q1, 2027-03 or "
                      "2027-01-01..2027-03-31."),
]

LIST_COLUMNS = ["id", "date", "type", "member", "summary"]
FIXED = ("unit_id", "member_id", "type", "date")  # the columns every row has, besides fields
REQUIRED = ("unit_id", "type", "date")
# Reasons a row's values are wrong come in Vietnamese, as the chat tells its (Vietnamese) users.
REASONS_LANGUAGE = "vi"


# --- list --------------------------------------------------------------------------------


def checkin_row(checkin: Checkin) -> dict[str, Any]:
    # "end" too: a range or period check-in would otherwise need the catalog to find its end.
    return {"id": checkin.id, "unit_id": checkin.unit_id, "member_id": checkin.member_id,
            "type": checkin.activity, "date": checkin.starts_on.isoformat(),
            "end": checkin.ends_on.isoformat(), "fields": checkin.fields}


def summary(checkin: Checkin) -> str:
    """Its name and numbers, e.g. 'Tập huấn Luật Bình đẳng giới · attendances 45, women 30'."""
    from bot.services import activities
    from bot.services.activities import NUMBER_KINDS
    from bot.views.duties import shorten

    kind = activities.get(checkin.activity)
    specs = kind.fields if kind else ()
    values = checkin.fields
    name = next((str(values[f.name]) for f in specs
                 if f.kind in ("text", "longtext") and values.get(f.name)), "")
    numbers = ", ".join(f"{f.name} {values[f.name]}" for f in specs
                        if f.kind in NUMBER_KINDS and values.get(f.name) is not None)
    return shorten(" · ".join(p for p in (shorten(name, 40), numbers) if p), 80)


def _table_row(checkin: Checkin, names: dict[int, str]) -> dict[str, Any]:
    start, end = checkin.starts_on.isoformat(), checkin.ends_on.isoformat()
    return {"id": checkin.id, "date": start if start == end else f"{start}..{end}",
            "type": checkin.activity,
            "member": names.get(checkin.member_id, "-") if checkin.member_id else "-",
            "summary": summary(checkin)}


def checkin_list(unit: UnitOpt, period: PeriodOpt = None, as_json: JsonOpt = False) -> None:
    """A unit's check-ins, oldest first (by the day the activity started)."""
    from sqlalchemy import select

    from bot.models import Member, Unit
    from bot.parsing import parse_period
    from bot.services import checkins

    span = None
    if period is not None:
        span = parse_period(period)
        if span is None:
            fail(f"invalid --period {period!r}: give 2027, 2027-H1, 2027-Q1, 2027-03 or "
                 "2027-01-01..2027-03-31")
    start, end = span or (None, None)

    async def work(ctx: AppContext) -> list[dict[str, Any]]:
        async with ctx.sessions() as session:
            if await session.get(Unit, unit) is None:
                fail(f"no unit {unit}")
            found = await checkins.of_units(session, [unit], start, end)
            if as_json:
                return [checkin_row(c) for c in found]
            ids = {c.member_id for c in found if c.member_id is not None}
            names = {m.id: m.full_name
                     for m in await session.scalars(select(Member).where(Member.id.in_(ids)))}
            return [_table_row(c, names) for c in found]

    emit(with_app(work), as_json, LIST_COLUMNS)


# --- import: reading the file ------------------------------------------------------------


def _cell(value: Any) -> str:
    """An Excel cell as the text a CSV would hold (dates as Vietnamese write them)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # Excel keeps every number as a float: 45.0 is 45
    return str(value)


def _read_xlsx(path: Path) -> list[list[str]]:
    import openpyxl  # only the import needs it

    book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        sheet = book.worksheets[0]
        sheet.reset_dimensions()  # files from other tools may state a wrong size: read it all
        return [[_cell(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    finally:
        book.close()


def read_table(path: Path) -> list[list[str]]:
    """The file's rows as text cells, the header first; one line and exit 2 if unreadable."""
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        fail(f"{path}: give a .csv (UTF-8) or .xlsx file")
    if not path.is_file():
        fail(f"no file {path}")
    try:
        if suffix == ".xlsx":
            return _read_xlsx(path)
        with path.open(encoding="utf-8-sig", newline="") as f:  # Excel's "CSV UTF-8" has a BOM
            text = f.read()
        # Excel set to Vietnamese (a decimal comma) separates cells with semicolons.
        first = text.partition("\n")[0]
        delimiter = ";" if first.count(";") > first.count(",") else ","
        return list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except UnicodeDecodeError:
        fail(f"{path} is not UTF-8 text: save it as \"CSV UTF-8\"")
    except (csv.Error, zipfile.BadZipFile, OSError, KeyError, ValueError) as exc:
        fail(f"cannot read {path}: {exc}")


def _line(row: int, column: str, reason: str) -> str:
    return f"row {row}, column {column}: {reason}"


def check_header(header: list[str]) -> list[str]:
    from bot.services import activities

    known = set(FIXED) | {f.name for k in activities.catalog().values() for f in k.fields}
    problems = [_line(1, name, "missing column") for name in REQUIRED if name not in header]
    seen: set[str] = set()
    for name in header:
        if name and name not in known:
            problems.append(_line(1, name, "unknown column (not a field of any check-in type)"))
        elif name in seen:
            problems.append(_line(1, name, "the column is there twice"))
        seen.add(name)
    return problems


# --- import: checking a row --------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    unit_id: int
    member_id: int | None
    values: checkins.Values


async def _unit(session: AsyncSession, text: str) -> tuple[Unit | None, str | None]:
    from bot.models import Unit
    from bot.parsing import parse_id

    unit_id = parse_id(text)
    unit = await session.get(Unit, unit_id) if unit_id is not None else None
    if unit is not None:
        return unit, None
    return None, "missing" if not text else f"no unit {text}"


async def _member(
    session: AsyncSession, text: str, unit: Unit | None
) -> tuple[int | None, str | None]:
    from bot.models import Member
    from bot.parsing import parse_id

    if not text:
        return None, None
    member_id = parse_id(text)
    member = await session.get(Member, member_id) if member_id is not None else None
    if member is None:
        return None, f"no member {text}"
    if unit is not None and member.unit_id != unit.id:
        return None, f"member {member.id} ({member.full_name}) is not in unit {unit.id}"
    return member.id, None


async def check_row(
    session: AsyncSession, number: int, cells: dict[str, str], t: Translator, now: datetime,
    fallback: date,
) -> Row | list[str]:
    """One data row as a check-in, or every problem it has (``fallback``: today, for a row
    whose unit is unknown, so its dates are still checked)."""
    from bot.services import activities, approvals, checkins
    from handlers.checkins import read_row

    problems: list[str] = []
    unit, why = await _unit(session, cells.get("unit_id", ""))
    if why:
        problems.append(_line(number, "unit_id", why))
    member_id, why = await _member(session, cells.get("member_id", ""), unit)
    if why:
        problems.append(_line(number, "member_id", why))
    code = cells.get("type", "").lower()
    kind = activities.get(code)
    if kind is None:
        known = ", ".join(activities.catalog())
        problems.append(_line(number, "type", f"unknown type {code!r} (known: {known})"
                              if code else "missing"))
        return problems
    fields = {f.name: cells.get(f.name, "") for f in kind.fields}
    problems += [_line(number, name, f"not a field of type {kind.code}")
                 for name, text in cells.items()
                 if text and name not in FIXED and name not in fields]
    # The `date` column dates every type; the date field's own column (e.g. `period`) is
    # taken when `date` is empty.
    when, date_text = kind.when.name, cells.get("date", "")
    if when != "date" and date_text and fields[when]:
        problems.append(_line(number, when, "the date is already in column date"))
    date_column = "date" if date_text or not fields[when] else when
    fields[when] = date_text or fields[when]
    today = unit.today(now) if unit is not None else fallback
    stored, errors = read_row(kind, fields, t, today)
    problems += [_line(number, date_column if name == when else name, reason)
                 for name, reason in errors.items()]
    if problems or unit is None:
        return problems
    values = checkins.Values(kind, stored)
    if await approvals.locked(session, unit.id, values.dates[0]):
        return [_line(number, date_column, "the unit's report for that period is approved and "
                                           "its check-ins are locked")]
    return Row(unit.id, member_id, values)


def checkin_import(
    file: Annotated[Path, typer.Argument(help="A .csv (UTF-8) or .xlsx file, header first.")],
) -> None:
    """Import check-ins: columns unit_id, member_id (optional), type, date, then the type's
    fields. Every row is checked as the chat form checks it; nothing is stored unless all
    rows are right."""
    from bot.i18n import Translator
    from bot.services import checkins

    table = read_table(file)
    if not table:
        fail(f"{file} is empty")
    header = [c.strip().lower() for c in table[0]]
    problems = check_header(header)
    if problems:
        for line in problems:
            typer.echo(line, err=True)
        fail(f"nothing stored: {len(problems)} problem(s) in the header")
    # Row numbers as the sheet shows them (the header is row 1); empty rows are skipped.
    rows = [(number, [c.strip() for c in cells])
            for number, cells in enumerate(table[1:], start=2) if any(c.strip() for c in cells)]
    if not rows:
        fail(f"nothing to import: {file} has no rows below the header")

    async def work(ctx: AppContext) -> list[str] | int:
        now = ctx.clock.now()
        fallback = now.astimezone(ctx.settings.tz).date()
        t = Translator(REASONS_LANGUAGE)
        async with ctx.sessions() as session, session.begin():
            found: list[Row] = []
            problems: list[str] = []
            for number, cells in rows:
                named = {h: c for h, c in zip(header, cells, strict=False) if h}
                extra = [c for i, c in enumerate(cells) if c and (i >= len(header)
                                                                  or not header[i])]
                if extra:
                    problems.append(f"row {number}: a value in a column without a name")
                checked = await check_row(session, number, named, t, now, fallback)
                if isinstance(checked, Row):
                    found.append(checked)
                else:
                    problems += checked
            if problems:
                return problems
            for row in found:  # one transaction: all of them or, on any failure, none
                await checkins.create(session, unit_id=row.unit_id, member_id=row.member_id,
                                      values=row.values, channel="import", now=now)
            return len(found)

    result = with_app(work)
    if isinstance(result, list):
        for line in result:
            typer.echo(line, err=True)
        fail(f"nothing stored: {len(result)} problem(s)")
    typer.echo(f"{result} check-in(s) stored from {file.name}")


def register(app: typer.Typer) -> None:
    """Add the `checkin` commands to the `vstbpn` app."""
    checkin_app = typer.Typer(help="Check-ins: list a unit's, import from a spreadsheet.",
                              no_args_is_help=True)
    checkin_app.command("list")(checkin_list)
    checkin_app.command("import")(checkin_import)
    app.add_typer(checkin_app, name="checkin")
