"""Roll-up: a unit's subtree of check-ins for a period, added up by the database.

Every sum is one GROUP BY over ``checkin_values`` (numbers copied there on write), never a
loop over check-ins. A unit's numbers reach only its own and its ancestors' reports.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import String, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import Checkin, CheckinValue
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
    counts in the period its first day falls in)."""
    result = Rollup(list(unit_ids), period)
    in_period = (CheckinValue.unit_id.in_(unit_ids), CheckinValue.day >= period.start,
                 CheckinValue.day <= period.end, CheckinValue.activity != PROFILE)
    rows = await session.execute(
        select(CheckinValue.activity, CheckinValue.name, func.sum(CheckinValue.value))
        .where(*in_period).group_by(CheckinValue.activity, CheckinValue.name))
    for activity, name, total in rows:
        result.totals.setdefault(activity, {})[name] = int(total)
    live = (Checkin.unit_id.in_(unit_ids), Checkin.deleted_at.is_(None),
            Checkin.starts_on >= period.start, Checkin.starts_on <= period.end)
    rows = await session.execute(
        select(Checkin.activity, func.count()).where(*live, Checkin.activity != PROFILE)
        .group_by(Checkin.activity))
    result.counts = {activity: int(n) for activity, n in rows}
    if period.administrative:  # months of the reporting regime: 15th to 14th
        rows = await session.execute(
            select(Checkin.unit_id, Checkin.period_year, Checkin.period_month, func.count())
            .where(*live, Checkin.activity == "article")
            .group_by(Checkin.unit_id, Checkin.period_year, Checkin.period_month))
        result.article_months = {(unit, f"{y}-{m:02d}"): int(n) for unit, y, m, n in rows}
    else:
        month = func.substr(cast(Checkin.starts_on, String), 1, 7)  # "YYYY-MM", any database
        rows = await session.execute(
            select(Checkin.unit_id, month, func.count())
            .where(*live, Checkin.activity == "article").group_by(Checkin.unit_id, month))
        result.article_months = {(unit, str(m)): int(n) for unit, m, n in rows}
    rows = await session.execute(
        select(CheckinValue.name, func.count(func.distinct(CheckinValue.unit_id)))
        .where(*in_period, CheckinValue.activity == "communication",
               CheckinValue.name.like("organisers=%"))
        .group_by(CheckinValue.name))
    result.units_by_organiser = {name.partition("=")[2]: int(n) for name, n in rows}
    await _profiles(session, unit_ids, period, result)
    return result


async def _profiles(
    session: AsyncSession, unit_ids: Sequence[int], period: Period, result: Rollup
) -> None:
    """Each unit's latest staff figures up to the period's end (a window function: one row
    per unit), added up; and how many units have a woman among their key leaders."""
    ranked = select(
        Checkin.id, func.row_number().over(
            partition_by=Checkin.unit_id,
            order_by=(Checkin.starts_on.desc(), Checkin.id.desc())).label("rank"),
    ).where(Checkin.unit_id.in_(unit_ids), Checkin.activity == PROFILE,
            Checkin.deleted_at.is_(None), Checkin.starts_on <= period.end).subquery()
    latest = select(ranked.c.id).where(ranked.c.rank == 1)
    result.profiled_units = int(await session.scalar(
        select(func.count()).select_from(latest.subquery())) or 0)
    rows = await session.execute(
        select(CheckinValue.name, func.sum(CheckinValue.value))
        .where(CheckinValue.checkin_id.in_(latest)).group_by(CheckinValue.name))
    result.profile = {name: int(total) for name, total in rows}
    result.units_with_woman_leader = int(await session.scalar(
        select(func.count()).where(CheckinValue.checkin_id.in_(latest),
                                   CheckinValue.name == "leaders_women",
                                   CheckinValue.value > 0)) or 0)


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
