"""The report of a unit for a period, as every format shows it: its subtree's roll-up, the
same period a year before, targets, completeness and timeliness, documents and narrative."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import (
    Checkin,
    Duty,
    DutyKind,
    Member,
    Occurrence,
    OccurrenceStatus,
    Scope,
    Unit,
)
from bot.services import tree
from bot.services.approvals import REPORT_DUTIES, ChildStatus, children_status
from bot.services.calendar import occurrences_between
from bot.services.periods import Period
from bot.services.rollup import Rollup, rollup
from bot.services.targets import Result, evaluate, levels
from scheduler import recurrence as rec
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
    planner never reached still counts as owing.

    Set-based, whatever the number of units: one query for the duties (each unit's own and
    its ancestors' subtree-wide ones, as ``duties.applicable`` gives them), one for the
    stored occurrences, one for who checked in; each recurrence rule's due dates are
    worked out once, not once per unit."""
    duties_of = await _catalog_duties(session, units, codes)
    due: dict[tuple[Any, str], list[rec.Occurrence]] = {}  # rule → its dates in the period

    def dates_of(duty: Any) -> list[rec.Occurrence]:
        rule = (tuple(sorted(duty.recurrence.items())), duty.shift)
        if rule not in due:
            due[rule] = [d.occurrence for d in occurrences_between(
                [duty], period.start, period.end, cal)]
        return due[rule]

    owed: list[tuple[Unit, list[tuple[rec.Occurrence, Any]]]] = []
    for unit in units:
        dates = [(occ, duty) for duty in duties_of.get(unit.id, []) for occ in dates_of(duty)]
        if dates:
            dates.sort(key=lambda d: (d[0].due_on, d[1].id))  # as occurrences_between sorts
            owed.append((unit, dates))
    keys = sorted({occ.key for dates in due.values() for occ in dates})
    stored: dict[tuple[int, int, str], Any] = {}
    who: dict[int, list[str]] = {}
    if owed:
        ids = [unit.id for unit, _dates in owed]
        rows = await session.execute(
            select(Occurrence.id, Occurrence.unit_id, Occurrence.duty_id, Occurrence.key,
                   Occurrence.status, Occurrence.closed_at)
            .where(Occurrence.unit_id.in_(ids), Occurrence.key.in_(keys)))
        stored = {(o.unit_id, o.duty_id, o.key): o for o in rows}
        who = await _checked_in(session, ids, keys)
    rows_out: list[UnitDuty] = []
    for unit, dates in owed:
        tz = unit.tz
        for item, duty in dates:
            occ = stored.get((unit.id, duty.id, item.key))
            done_on = (occ.closed_at.astimezone(tz).date()
                       if occ is not None and occ.status == OccurrenceStatus.done
                       and occ.closed_at is not None else None)
            status = ("missing" if done_on is None
                      else "on_time" if done_on <= item.due_on else "late")
            rows_out.append(UnitDuty(unit.id, unit.name, duty.code, duty.title_vi, item.due_on,
                                     status, done_on,
                                     who.get(occ.id, []) if occ is not None else []))
    summary: dict[str, Completeness] = {}
    for row in rows_out:
        entry = summary.setdefault(row.code, Completeness(row.code, row.title, 0, 0, 0))
        entry.expected += 1
        entry.actual += row.status != "missing"
        entry.on_time += row.status == "on_time"
    return list(summary.values()), rows_out


async def _catalog_duties(
    session: AsyncSession, units: Sequence[Unit], codes: Sequence[str] | None
) -> dict[int, list[Any]]:
    """Each unit's enabled catalog duties (or those of these codes), as
    ``duties.applicable`` gives them: its own and its ancestors' subtree-wide ones, by id.
    Rows of the columns used, not ORM objects: a national report has tens of thousands."""
    parent_of = await tree.parents(session, units)
    ids = {unit.id for unit in units}
    above = set(parent_of) - ids
    query = select(Duty.id, Duty.unit_id, Duty.code, Duty.title_vi, Duty.recurrence,
                   Duty.shift, Duty.scope).where(
        Duty.enabled.is_(True), Duty.kind == DutyKind.catalog,
        Duty.unit_id.in_(ids) | (Duty.unit_id.in_(above) & (Duty.scope == Scope.subtree)),
    ).order_by(Duty.id)
    if codes is not None:
        query = query.where(Duty.code.in_(codes))
    own: dict[int, list[Any]] = {}
    wide: dict[int, list[Any]] = {}  # subtree-wide duties by the unit that set them
    for duty in await session.execute(query):
        own.setdefault(duty.unit_id, []).append(duty)
        if duty.scope == Scope.subtree:
            wide.setdefault(duty.unit_id, []).append(duty)
    found: dict[int, list[Any]] = {}
    for unit in units:
        mine = own.get(unit.id, [])
        inherited = [d for a in tree.chain(parent_of, unit.id) for d in wide.get(a, [])]
        found[unit.id] = sorted(mine + inherited, key=lambda d: d.id) if inherited else mine
    return found


async def _checked_in(
    session: AsyncSession, unit_ids: list[int], keys: list[str]
) -> dict[int, list[str]]:
    """Who checked in for each occurrence of these units and keys (by occurrence id)."""
    found: dict[int, list[str]] = {}
    rows = await session.execute(
        select(Checkin.occurrence_id, Member.full_name)
        .join(Member, Member.id == Checkin.member_id)
        .join(Occurrence, Occurrence.id == Checkin.occurrence_id)
        .where(Occurrence.unit_id.in_(unit_ids), Occurrence.key.in_(keys),
               Checkin.deleted_at.is_(None))
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
    units = await tree.subtree_units(session, unit.id) if subtree else [unit]
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
