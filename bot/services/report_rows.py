"""The raw check-ins behind a report, one row each with its unit's and member's names (the
workbook's "Dữ liệu gốc" sheet for operators)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import Checkin, Member, Unit
from bot.services.periods import Period


@dataclass
class RawCheckin:
    checkin: Checkin
    unit_name: str
    member_name: str | None  # None: imported, or the member is gone


async def raw_checkins(
    session: AsyncSession, unit_ids: Sequence[int], period: Period
) -> list[RawCheckin]:
    """Live check-ins of these units whose activity starts in the period (as the roll-up
    counts them), oldest first."""
    rows = await session.execute(
        select(Checkin, Unit.name, Member.full_name)
        .join(Unit, Unit.id == Checkin.unit_id)
        .outerjoin(Member, Member.id == Checkin.member_id)
        .where(Checkin.unit_id.in_(unit_ids), Checkin.deleted_at.is_(None),
               Checkin.starts_on >= period.start, Checkin.starts_on <= period.end)
        .order_by(Checkin.starts_on, Checkin.id))
    return [RawCheckin(checkin, unit, member) for checkin, unit, member in rows]
