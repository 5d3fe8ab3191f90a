"""Roll-up: a unit's subtree of check-ins for a period, added up by the database.

Every sum is one GROUP BY over ``checkin_values`` (numbers copied there on write), never a
loop over check-ins. A unit's numbers reach only its own and its ancestors' reports.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, String, and_, case, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import Checkin, CheckinValue, Unit
from bot.services.periods import Period
from bot.services.tree import subtree_ids

PROFILE = "profile"


@dataclass
class Rollup:
    unit_ids: list[int]
    period: Period
    counts: dict[str, int] = field(default_factory=dict)  # activity → check-ins
    totals: dict[str, dict[str, int]] = field(default_factory=dict)  # activity → name → sum
    # (unit id, "YYYY-MM") → articles: months with an article, per unit.
    article_months: dict[tuple[int, str], int] = field(default_factory=dict)
    # organiser → units with at least one communication activity it organised.
    units_by_organiser: dict[str, int] = field(default_factory=dict)
    # The latest staff figures of each unit up to the period's end, added up.
    profile: dict[str, int] = field(default_factory=dict)
    profiled_units: int = 0
    units_with_woman_leader: int = 0

    def total(self, activity: str, name: str) -> int:
        return self.totals.get(activity, {}).get(name, 0)

    @property
    def articles_by_month(self) -> dict[str, int]:
        found: dict[str, int] = {}
        for (_unit, month), n in self.article_months.items():
            found[month] = found.get(month, 0) + n
        return dict(sorted(found.items()))


async def rollup(session: AsyncSession, unit_ids: Sequence[int], period: Period) -> Rollup:
    """Counts and sums per activity type and field for these units in the period (a check-in
    counts in the period its first day falls in).

    Each query reads indexes, never the table (the indexes are in ``bot.models``, the plans
    in bench/README.md). A few units' rows come through the per-unit indexes. For most of
    the units there are (a national report), the sums are those of the whole period through
    the by-day indexes, less those of the few other units (in the same statement); for
    every unit there is, no query names units at all."""
    result = Rollup(list(unit_ids), period)
    units = await _units(session, unit_ids)
    # SQLite has no hash aggregation: a GROUP BY not in an index's order sorts every row.
    # Through the by-day index it adds up per day first, in the index's order, then per key.
    by_day = units.most and session.bind.dialect.name == "sqlite"

    # Staff profiles are added up apart (the latest per unit): their sums and counts are
    # dropped here rather than filtered out row by row.
    in_period = (CheckinValue.day >= period.start, CheckinValue.day <= period.end)
    rows = await session.execute(_sums(
        [CheckinValue.activity, CheckinValue.name], func.sum(CheckinValue.value),
        CheckinValue.unit_id, in_period, units, CheckinValue.day if by_day else None))
    for activity, name, total in rows:
        if activity != PROFILE:
            result.totals.setdefault(activity, {})[name] = int(total)
    live = (Checkin.deleted_at.is_(None), Checkin.starts_on >= period.start,
            Checkin.starts_on <= period.end)
    rows = await session.execute(_sums(
        [Checkin.activity], func.count(), Checkin.unit_id, live, units,
        Checkin.starts_on if by_day else None))
    result.counts = {activity: int(n) for activity, n in rows if activity != PROFILE}
    live = (*units.of(Checkin.unit_id), *live)
    if period.administrative:  # months of the reporting regime: 15th to 14th
        rows = await session.execute(
            select(Checkin.unit_id, Checkin.period_year, Checkin.period_month, func.count())
            .where(Checkin.activity == "article", *live)
            .group_by(Checkin.unit_id, Checkin.period_year, Checkin.period_month))
        result.article_months = {(unit, f"{y}-{m:02d}"): int(n) for unit, y, m, n in rows}
    else:
        month = func.substr(cast(Checkin.starts_on, String), 1, 7)  # "YYYY-MM", any database
        rows = await session.execute(
            select(Checkin.unit_id, month, func.count())
            .where(Checkin.activity == "article", *live).group_by(Checkin.unit_id, month))
        result.article_months = {(unit, str(m)): int(n) for unit, m, n in rows}
    result.units_by_organiser = await _organisers(
        session, (*units.of(CheckinValue.unit_id), *in_period))
    await _profiles(session, period, result, units.of(Checkin.unit_id))
    return result


@dataclass(frozen=True)
class _Units:
    """Which rows are these units': IN the list (a few units), NOT IN the others (most
    units: a subquery, so it names the units as they are when each statement runs; every row
    belongs to a unit), or no condition at all (every unit)."""

    ids: Sequence[int]
    others: Select[Any] | None  # the other units, when these are most of them
    every: bool

    @property
    def most(self) -> bool:
        return self.others is not None or self.every

    def of(self, column: Any) -> tuple[Any, ...]:
        if self.every:
            return ()
        if self.others is not None:
            return (column.not_in(self.others),)
        return (column.in_(self.ids),)


async def _units(session: AsyncSession, unit_ids: Sequence[int]) -> _Units:
    others = select(Unit.id).where(Unit.id.not_in(unit_ids))
    outside = await session.scalar(select(func.count()).select_from(others.subquery())) or 0
    if unit_ids and outside == 0:
        return _Units(unit_ids, None, every=True)
    if outside < len(set(unit_ids)):
        return _Units(unit_ids, others, every=False)
    return _Units(unit_ids, None, every=False)


def _sums(keys: list[Any], total: Any, unit_id: Any, where: Sequence[Any], units: _Units,
          day: Any | None) -> Select[Any]:
    """SELECT keys, total … GROUP BY keys over these units' rows. For most units: every
    unit's totals less the other units', in one statement (so both halves see the same
    rows), keeping a key while any of its rows is left. With ``day``, every unit's totals
    are added up per day and key first, then per key (the same numbers, in two steps)."""
    if not units.most:
        return select(*keys, total).where(unit_id.in_(units.ids), *where).group_by(*keys)
    # Rows per key: only to know whether any is left once the other units' are taken away.
    counted = units.others is not None
    n = [func.count().label("n")] if counted else []
    if day is None:
        every = select(*keys, total.label("total"), *n).where(*where).group_by(*keys).subquery()
    else:
        per_day = (select(day, *keys, total.label("total"), *n)
                   .where(*where).group_by(day, *keys).subquery())
        outer = [per_day.c[key.key] for key in keys]
        n_per_key = [func.sum(per_day.c.n).label("n")] if counted else []
        every = (select(*outer, func.sum(per_day.c.total).label("total"), *n_per_key)
                 .group_by(*outer).subquery())
    columns = [every.c[key.key] for key in keys]
    if units.others is None:
        return select(*columns, every.c.total)
    others = (select(*keys, total.label("total"), func.count().label("n"))
              .where(unit_id.in_(units.others), *where).group_by(*keys).subquery())
    left = every.c.n - func.coalesce(others.c.n, 0)
    return (select(*columns, every.c.total - func.coalesce(others.c.total, 0))
            .select_from(every.outerjoin(others, and_(
                *(every.c[key.key] == others.c[key.key] for key in keys))))
            .where(left > 0))


async def _organisers(session: AsyncSession, where: Sequence[Any]) -> dict[str, int]:
    """Organiser → units with at least one communication activity it organised: the
    (name, unit) pairs, counted per name. LIKE reads the organisers alone from the
    (activity, name, …) index: on PostgreSQL through its pattern operator class, on SQLite
    (whose LIKE never uses an index) through the same prefix as a range of names."""
    prefix = ((CheckinValue.name >= "organisers=", CheckinValue.name < "organisers>")
              if session.bind.dialect.name == "sqlite" else ())
    pairs = (select(CheckinValue.name, CheckinValue.unit_id)
             .where(*where, CheckinValue.activity == "communication", *prefix,
                    CheckinValue.name.like("organisers=%"))
             .group_by(CheckinValue.name, CheckinValue.unit_id).subquery())
    rows = await session.execute(select(pairs.c.name, func.count()).group_by(pairs.c.name))
    return {name.partition("=")[2]: int(n) for name, n in rows}


async def _profiles(
    session: AsyncSession, period: Period, result: Rollup, of_units: tuple[Any, ...]
) -> None:
    """Each unit's latest staff figures up to the period's end (a window function: one row
    per unit), added up; and how many units have a woman among their key leaders (each
    check-in has one ``leaders_women`` value at most)."""
    ranked = select(
        Checkin.id, func.row_number().over(
            partition_by=Checkin.unit_id,
            order_by=(Checkin.starts_on.desc(), Checkin.id.desc())).label("rank"),
    ).where(Checkin.activity == PROFILE, *of_units,
            Checkin.deleted_at.is_(None), Checkin.starts_on <= period.end).subquery()
    latest = select(ranked.c.id).where(ranked.c.rank == 1)
    result.profiled_units = int(await session.scalar(
        select(func.count()).select_from(latest.subquery())) or 0)
    if not result.profiled_units:
        return
    positive = func.sum(case((CheckinValue.value > 0, 1), else_=0))
    rows = await session.execute(
        select(CheckinValue.name, func.sum(CheckinValue.value), positive)
        .where(CheckinValue.checkin_id.in_(latest)).group_by(CheckinValue.name))
    for name, total, above_zero in rows:
        result.profile[name] = int(total)
        if name == "leaders_women":
            result.units_with_woman_leader = int(above_zero)


async def of_subtree(session: AsyncSession, unit_id: int, period: Period) -> Rollup:
    return await rollup(session, await subtree_ids(session, unit_id), period)


async def member_counts(session: AsyncSession, member_id: int, period: Period) -> dict[str, int]:
    """A member's own check-ins in the period, per activity type."""
    rows = await session.execute(
        select(Checkin.activity, func.count()).where(
            Checkin.member_id == member_id, Checkin.deleted_at.is_(None),
            Checkin.starts_on >= period.start, Checkin.starts_on <= period.end)
        .group_by(Checkin.activity))
    return {activity: int(n) for activity, n in rows}
