"""The report of a unit for a period, as every format shows it: its subtree's roll-up, the
same period a year before, targets, completeness and timeliness, documents and narrative."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import Checkin, Duty, DutyKind, Member, Occurrence, OccurrenceStatus, Unit
from bot.services.approvals import REPORT_DUTIES, ChildStatus, children_status
from bot.services.calendar import occurrences_between
from bot.services.duties import applicable
from bot.services.periods import Period
from bot.services.rollup import Rollup, rollup
from bot.services.targets import Result, evaluate, levels
from bot.services.tree import subtree_units
from scheduler.workdays import WorkCalendar

# --- completeness and timeliness ---------------------------------------------------------


@dataclass
class UnitDuty:
    """One unit's due date of one duty in the period: done on time, late, or not done."""

    unit_id: int
    unit_name: str
    code: str
    title: str
    due_on: date
    status: str  # on_time | late | missing
    done_on: date | None
    checked_in: list[str]  # members who checked in for it


@dataclass
class Completeness:
    """DHIS2's definitions, per duty: expected = units that owe it in the period, actual =
    units that did it, on time = did it by the due date."""

    code: str
    title: str
    expected: int
    actual: int
    on_time: int

    @property
    def percent(self) -> float | None:
        return None if self.expected == 0 else 100 * self.actual / self.expected


async def completeness(
    session: AsyncSession, units: Sequence[Unit], period: Period, cal: WorkCalendar,
    codes: Sequence[str] | None = None,
) -> tuple[list[Completeness], list[UnitDuty]]:
    """For each catalog duty (or these codes) due in the period: what each unit owed, did,
    and who checked in for it. Expected dates come from each unit's calendar, so a unit the
    planner never reached still counts as owing."""
    rows: list[UnitDuty] = []
    for unit in units:
        duties = [d for d in await applicable(session, unit.id)
                  if d.kind == DutyKind.catalog and (codes is None or d.code in codes)]
        dates = occurrences_between(duties, period.start, period.end, cal)
        if not dates:
            continue
        stored = {(o.duty_id, o.key): o for o in await session.scalars(
            select(Occurrence).where(Occurrence.unit_id == unit.id,
                                     Occurrence.duty_id.in_([d.id for d in duties])))}
        who = await _checked_in(session, [o.id for o in stored.values()])
        for item in dates:
            occ = stored.get((item.duty.id, item.occurrence.key))
            done_on = (occ.closed_at.astimezone(unit.tz).date()
                       if occ is not None and occ.status == OccurrenceStatus.done
                       and occ.closed_at is not None else None)
            status = ("missing" if done_on is None
                      else "on_time" if done_on <= item.occurrence.due_on else "late")
            rows.append(UnitDuty(unit.id, unit.name, item.duty.code, item.duty.title_vi,
                                 item.occurrence.due_on, status, done_on,
                                 who.get(occ.id, []) if occ is not None else []))
    summary: dict[str, Completeness] = {}
    for row in rows:
        entry = summary.setdefault(row.code, Completeness(row.code, row.title, 0, 0, 0))
        entry.expected += 1
        entry.actual += row.status != "missing"
        entry.on_time += row.status == "on_time"
    return list(summary.values()), rows


async def _checked_in(session: AsyncSession, occurrence_ids: list[int]) -> dict[int, list[str]]:
    if not occurrence_ids:
        return {}
    found: dict[int, list[str]] = {}
    rows = await session.execute(
        select(Checkin.occurrence_id, Member.full_name).join(Member, Member.id == Checkin.member_id)
        .where(Checkin.occurrence_id.in_(occurrence_ids), Checkin.deleted_at.is_(None))
        .distinct().order_by(Member.full_name))
    for occurrence_id, name in rows:
        found.setdefault(occurrence_id, []).append(name)
    return found


# --- the report, as every format shows it ------------------------------------------------


@dataclass
class Report:
    unit: Unit
    parent_name: str | None
    period: Period
    units: list[Unit]  # the subtree, in tree order
    rollup: Rollup
    before: Rollup  # the same period a year earlier ("cùng kỳ")
    targets: list[Result]
    targets_before: list[Result]
    completeness: list[Completeness]
    unit_duties: list[UnitDuty]
    documents: list[Checkin]  # documents issued, oldest first
    narrative: list[Checkin]  # difficulties and proposals
    letter_number: str | None  # the guiding letter of the report duty, if it has one
    # Child units and their report for the period (six-month and annual reports only).
    children: list[ChildStatus]


async def build(
    session: AsyncSession, unit: Unit, period: Period, cal: WorkCalendar, subtree: bool = True
) -> Report:
    """The unit's report: its whole subtree, or (``subtree`` False) the unit alone."""
    units = await subtree_units(session, unit.id) if subtree else [unit]
    ids = [u.id for u in units]
    current, before = await rollup(session, ids, period), await rollup(
        session, ids, period.year_before())
    level_of = await levels(session, unit.id, period.year)
    kept = await session.scalars(
        select(Checkin).where(Checkin.unit_id.in_(ids), Checkin.deleted_at.is_(None),
                              Checkin.activity.in_(["document", "difficulties"]),
                              Checkin.starts_on >= period.start, Checkin.starts_on <= period.end)
        .order_by(Checkin.starts_on, Checkin.id))
    kept_list = list(kept)
    summary, rows = await completeness(session, units, period, cal)
    parent = await session.get(Unit, unit.parent_id) if unit.parent_id else None
    report_code = REPORT_DUTIES.get(period.kind, REPORT_DUTIES["year"])
    duty = await session.scalar(select(Duty).where(Duty.unit_id == unit.id,
                                                   Duty.code == report_code))
    return Report(
        unit=unit, parent_name=parent.name if parent else None, period=period, units=units,
        rollup=current, before=before, targets=evaluate(current, level_of),
        targets_before=evaluate(before, level_of), completeness=summary, unit_duties=rows,
        documents=[c for c in kept_list if c.activity == "document"],
        narrative=[c for c in kept_list if c.activity == "difficulties"],
        letter_number=duty.letter_number if duty else None,
        children=await children_status(session, unit, period) if subtree and (
            period.kind in ("half", "year") and period.administrative) else [],
    )
