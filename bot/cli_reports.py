"""Reports and targets on the command line: `vstbpn report`, `vstbpn target list|set`."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from bot.cli_common import JsonOpt, emit, fail, with_app

if TYPE_CHECKING:
    from bot.context import AppContext
    from bot.models import Unit
    from bot.services import reports
    from bot.services.periods import Period

# The database, services, views and exports are imported in the functions that use them:
# `vstbpn --help` should not load them (see bot/cli_common.py).

UnitOpt = Annotated[int, typer.Option("--unit", help="Unit ID (see `unit list`).")]
FORMATS = ("json", "docx", "xlsx", "png")


def _period(text: str, calendar: bool) -> Period:
    from bot.services.periods import period_of

    try:
        return period_of(text, calendar_only=calendar)
    except ValueError:
        fail(f"invalid --period {text!r}: give 2027, 2027-H1, 2027-Q1, 2027-03 or "
             "2027-01-01..2027-03-31")


async def _unit(ctx: AppContext, unit_id: int) -> Unit:
    from bot.models import Unit

    async with ctx.sessions() as session:
        unit = await session.get(Unit, unit_id)
    if unit is None:
        fail(f"unknown unit {unit_id} (see `vstbpn unit list`)")
    return unit


def as_json(report: reports.Report) -> dict[str, Any]:
    """totals (by type, then field), targets, completeness and children."""
    rollup = report.rollup
    children = [u for u in report.units if u.parent_id == report.unit.id]
    sent = {c.unit.id: c.status for c in report.children}
    return {
        "unit": {"id": report.unit.id, "name": report.unit.name},
        "period": {"key": report.period.key, "start": report.period.start.isoformat(),
                   "end": report.period.end.isoformat(),
                   "administrative": report.period.administrative},
        "totals": {activity: {"checkins": rollup.counts.get(activity, 0), **fields}
                   for activity, fields in sorted(rollup.totals.items())}
                  | {activity: {"checkins": n} for activity, n in rollup.counts.items()
                     if activity not in rollup.totals},
        "articles_by_month": rollup.articles_by_month,
        "profile": {"units": rollup.profiled_units, **rollup.profile},
        "targets": [
            {"code": r.code, "value": None if r.percent is None else round(r.percent, 1),
             "numerator": r.numerator, "denominator": r.denominator, "target": r.level,
             "verdict": r.verdict.value, "reason": r.reason}
            for r in report.targets],
        "completeness": [asdict(c) for c in report.completeness],
        # The six-month and annual reports: approved, submitted, late, returned, excused or
        # missing; null for other periods.
        "children": [{"id": u.id, "name": u.name, "report": sent.get(u.id)} for u in children],
    }


def report(
    unit: UnitOpt,
    period: Annotated[str, typer.Option(help="2027 (15/12/2026–14/12/2027), 2027-H1, "
                                             "2027-Q1, 2027-03 or 2027-01-01..2027-03-31.")],
    format: Annotated[str, typer.Option(
        help="json (printed), docx (the report to sign, Nghị định 30/2020), xlsx (figures, "
             "completeness and every raw check-in) or png (a chart).")] = "json",
    output: Annotated[Path | None, typer.Option(
        "-o", "--output", help="Write to this file (docx, xlsx and png default to "
                               "bao-cao-<unit>-<period>.<format> here).")] = None,
    calendar: Annotated[bool, typer.Option(help="Calendar years and halves instead of the "
                                                "administrative ones (Nghị định 09/2019).")]
    = False,
) -> None:
    """A unit's report for a period: its subtree's totals, targets, completeness."""
    from bot.services import report_rows, reports
    from bot.views.reports import file_name

    if format not in FORMATS:
        fail(f"--format must be one of {', '.join(FORMATS)}")
    span = _period(period, calendar)

    async def work(ctx: AppContext) -> tuple[Unit, Any]:
        found = await _unit(ctx, unit)
        async with ctx.sessions() as session:
            built = await reports.build(session, found, span, ctx.calendar.cal)
            if format == "json":
                return found, as_json(built)
            if format == "xlsx":  # operators get the raw check-ins too
                raw = await report_rows.raw_checkins(session, [u.id for u in built.units], span)
                return found, _render(built, format, raw)
            return found, _render(built, format)

    found, result = with_app(work)
    if format == "json":
        text = json.dumps(result, ensure_ascii=False, indent=2, default=str)
        if output is None:
            typer.echo(text)
            return
        output.write_text(text + "\n", encoding="utf-8")
    else:
        output = output or Path(file_name(found, span, format))
        output.write_bytes(result)
    typer.echo(f"wrote {output.resolve()}")


def _render(built: reports.Report, format: str, raw: Any = None) -> bytes:
    """Exports are imported here, when one is asked for: they load Word, Excel and chart
    libraries that `vstbpn --help` should not wait for."""
    if format == "docx":
        from bot.exports.report_docx import render_docx

        return render_docx(built)
    if format == "xlsx":
        from bot.exports.report_xlsx import render_xlsx

        return render_xlsx(built, include_raw=True, raw=raw)
    from bot.exports.report_chart import render_png

    return render_png(built)


def target_list(
    unit: UnitOpt,
    year: Annotated[int, typer.Option(help="Whose levels: up to 2025 the 2025 ones.")] = 2026,
    as_json: JsonOpt = False,
) -> None:
    """The level of each target for a unit (its own, inherited, or the strategy's)."""
    from bot.services import targets

    async def work(ctx: AppContext) -> list[dict[str, Any]]:
        await _unit(ctx, unit)
        async with ctx.sessions() as session:
            level_of = await targets.levels(session, unit, year)
        return [{"code": t.code, "level": level_of[t.code],
                 "default": targets.default_level(t, year)} for t in targets.TARGETS]

    emit(with_app(work), as_json, ["code", "level", "default"])


def target_set(
    unit: UnitOpt,
    code: Annotated[str, typer.Argument(help="A target code (see `target list`).")],
    level: Annotated[str, typer.Argument(help="Percent 0–100, or 'default' to inherit.")],
) -> None:
    """Set a unit's own level of a target; units below it inherit it."""
    from bot.services import targets

    if code not in targets.BY_CODE:
        fail(f"unknown target {code!r}: one of {', '.join(targets.BY_CODE)}")
    value = None if level == "default" else level
    if value is not None and not (value.isdigit() and 0 <= int(value) <= 100):
        fail("level must be a percent from 0 to 100, or 'default'")

    async def work(ctx: AppContext) -> None:
        await _unit(ctx, unit)
        async with ctx.sessions() as session, session.begin():
            await targets.set_level(session, unit, code, None if value is None else int(value),
                                    None, ctx.clock.now())

    with_app(work)
    typer.echo(f"{code}: {'default' if value is None else value + '%'} for unit {unit}")


def register(app: typer.Typer) -> None:
    """Add the report and target commands to the `vstbpn` app."""
    target_app = typer.Typer(help="Target levels (percent) per unit.", no_args_is_help=True)
    target_app.command("list")(target_list)
    target_app.command("set")(target_set)
    app.command("report")(report)
    app.add_typer(target_app, name="target")
