"""The unit tree (ministry/province → department → unit)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import Unit
from bot.services import audit
from bot.services.audit import Action
from bot.services.duties import install_catalog


class UnitError(Exception):
    pass


async def add_unit(
    session: AsyncSession, name: str, now: datetime, parent_id: int | None = None,
    timezone: str = "Asia/Ho_Chi_Minh", by: int | None = None,
) -> Unit:
    name = name.strip()
    if not name:
        raise UnitError("unit name is empty")
    if parent_id is not None and await session.get(Unit, parent_id) is None:
        raise UnitError(f"parent unit {parent_id} does not exist")
    unit = Unit(name=name, parent_id=parent_id, timezone=timezone, created_at=now)
    session.add(unit)
    await session.flush()
    await install_catalog(session, [unit.id], now)
    audit.record(session, unit_id=unit.id, actor=by, action=Action.unit_added, now=now)
    return unit


async def by_id(session: AsyncSession, unit_id: int) -> Unit | None:
    return await session.get(Unit, unit_id)


async def list_units(session: AsyncSession) -> list[Unit]:
    return list(await session.scalars(select(Unit).order_by(Unit.id)))
