"""Targets of the national strategy and their verdict: đạt, chưa đạt, không đánh giá được.

Numerators and denominators are summed over the subtree, never percentages averaged; no data
gives "không đánh giá được" with the reason, never a silent 0 %. Levels default to the
strategy's (2025 up to that year, 2030 after), and a unit may set its own, which the units
below it inherit unless they set theirs.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import insert_ignore
from bot.models import TargetLevel
from bot.services import audit
from bot.services.audit import Action
from bot.services.rollup import Rollup
from bot.services.tree import ancestor_ids


class Verdict(enum.StrEnum):
    met = "met"  # đạt
    not_met = "not_met"  # chưa đạt
    unknown = "unknown"  # không đánh giá được


@dataclass(frozen=True)
class Target:
    code: str
    level_2025: int  # percent
    level_2030: int
    data: str  # "profile" or "checkins": where the numbers come from


TARGETS = (
    Target("female_leaders", 60, 75, "profile"),
    Target("women_in_pool", 40, 50, "profile"),
    Target("pool_women_trained", 75, 90, "profile"),
    Target("staff_trained", 100, 100, "profile"),
    Target("party_committee_women", 15, 15, "profile"),
    Target("union_committee_women", 15, 15, "profile"),
    Target("article_months", 100, 100, "checkins"),
    Target("communication_ban", 100, 100, "checkins"),
    Target("communication_union", 100, 100, "checkins"),
    Target("communication_youth", 100, 100, "checkins"),
)
BY_CODE = {t.code: t for t in TARGETS}
_ORGANISERS = {"communication_ban": "ban", "communication_union": "cong_doan",
               "communication_youth": "doan_tn"}
# Profile targets: (numerator, denominator) among the summed staff figures.
_RATIOS = {
    "women_in_pool": ("pool_women", "pool"),
    "pool_women_trained": ("pool_women_trained", "pool_women"),
    "staff_trained": ("trained_ge", "staff"),
    "party_committee_women": ("party_committee_women", "party_committee"),
    "union_committee_women": ("union_committee_women", "union_committee"),
}


@dataclass(frozen=True)
class Result:
    code: str
    level: int  # the target, percent
    numerator: int
    denominator: int
    verdict: Verdict
    reason: str  # met | below | no_profile | zero_total | no_checkins (views word it)

    @property
    def percent(self) -> float | None:
        return None if self.denominator == 0 else 100 * self.numerator / self.denominator


def default_level(target: Target, year: int) -> int:
    return target.level_2025 if year <= 2025 else target.level_2030


async def levels(session: AsyncSession, unit_id: int, year: int) -> dict[str, int]:
    """The level of each target for the unit: its own, else the nearest ancestor's, else the
    strategy's for that year."""
    chain = [unit_id, *await ancestor_ids(session, unit_id)]  # nearest first
    rows = await session.execute(
        select(TargetLevel.unit_id, TargetLevel.code, TargetLevel.level)
        .where(TargetLevel.unit_id.in_(chain)))
    found: dict[str, tuple[int, int]] = {}
    for owner, code, level in rows:
        rank = chain.index(owner)
        if code not in found or rank < found[code][0]:
            found[code] = (rank, level)
    return {t.code: found[t.code][1] if t.code in found else default_level(t, year)
            for t in TARGETS}


async def set_level(
    session: AsyncSession, unit_id: int, code: str, level: int | None, by: int | None,
    now: datetime,
) -> None:
    """Set (or, with None, drop) the unit's own level of a target."""
    if code not in BY_CODE:
        raise ValueError(f"unknown target {code}")
    if level is not None and not 0 <= level <= 100:
        raise ValueError("a target level is a percent from 0 to 100")
    existing = await session.scalar(select(TargetLevel).where(
        TargetLevel.unit_id == unit_id, TargetLevel.code == code))
    if level is None:
        if existing is not None:
            await session.delete(existing)
    elif existing is None:
        await insert_ignore(session, TargetLevel, [
            {"unit_id": unit_id, "code": code, "level": level, "set_by": by, "set_at": now}],
            ["unit_id", "code"])
    else:
        existing.level, existing.set_by, existing.set_at = level, by, now
    await session.flush()
    audit.record(session, unit_id=unit_id, actor=by, action=Action.target_set, now=now,
                 target=code, level=level)


def _verdict(code: str, level: int, num: int, den: int, missing: str) -> Result:
    if den == 0:
        return Result(code, level, num, den, Verdict.unknown, missing)
    met = num * 100 >= level * den  # integers: no rounding at the edge
    return Result(code, level, num, den, Verdict.met if met else Verdict.not_met,
                  "met" if met else "below")


def evaluate(rollup: Rollup, level_of: dict[str, int]) -> list[Result]:
    """Every target's verdict for a roll-up (the subtree's units, summed); the yearly
    communication activities only for a year."""
    results = []
    units = len(rollup.unit_ids)
    months = len(rollup.period.months())
    yearly = rollup.period.kind == "year" or (
        rollup.period.kind == "custom" and (rollup.period.end - rollup.period.start).days >= 330)
    for target in TARGETS:
        if target.code in _ORGANISERS and not yearly:
            continue  # once a year: a month or a half without one has not failed it
        level = level_of[target.code]
        if target.code == "female_leaders":
            num, den = rollup.units_with_woman_leader, rollup.profiled_units
            missing = "no_profile"
        elif target.code in _RATIOS:
            top, bottom = _RATIOS[target.code]
            num, den = rollup.profile.get(top, 0), rollup.profile.get(bottom, 0)
            missing = "no_profile" if rollup.profiled_units == 0 else "zero_total"
        elif target.code == "article_months":
            # (unit, month) pairs with an article; nothing checked in at all is no data.
            num = len(rollup.article_months)
            den = units * months if rollup.counts else 0
            missing = "no_checkins"
        else:
            num = rollup.units_by_organiser.get(_ORGANISERS[target.code], 0)
            den = units if rollup.counts else 0
            missing = "no_checkins"
        results.append(_verdict(target.code, level, num, den, missing))
    return results
