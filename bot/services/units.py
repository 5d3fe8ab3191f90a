"""The unit tree (ministry/province → department → unit)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import Unit


class UnitError(Exception):
    pass


async def add_unit(
    session: AsyncSession, name: str, now: datetime, parent_id: int | None = None,
    timezone: str = "Asia/Ho_Chi_Minh",
) -> Unit:
    name = name.strip()
    if not name:
        raise UnitError("unit name is empty")
    if parent_id is not None and await session.get(Unit, parent_id) is None:
        raise UnitError(f"parent unit {parent_id} does not exist")
    unit = Unit(name=name, parent_id=parent_id, timezone=timezone, created_at=now)
    session.add(unit)
    await session.flush()
    from bot.services.duties import install_catalog  # duties build on units

    await install_catalog(session, [unit.id], now)
    return unit


async def list_units(session: AsyncSession) -> list[Unit]:
    return list(await session.scalars(select(Unit).order_by(Unit.id)))


async def subtree_ids(session: AsyncSession, root_id: int) -> list[int]:
    """The unit and every unit below it (recursive CTE: same SQL on SQLite and PostgreSQL)."""
    tree = select(Unit.id).where(Unit.id == root_id).cte("tree", recursive=True)
    tree = tree.union_all(select(Unit.id).where(Unit.parent_id == tree.c.id))
    return list(await session.scalars(select(tree.c.id)))


async def ancestor_ids(session: AsyncSession, unit_id: int) -> list[int]:
    """Every unit above this one (recursive CTE, the mirror of subtree_ids)."""
    up = select(Unit.parent_id).where(Unit.id == unit_id).cte("up", recursive=True)
    up = up.union_all(select(Unit.parent_id).where(Unit.id == up.c.parent_id))
    return [i for i in await session.scalars(select(up.c.parent_id)) if i is not None]


async def path_names(session: AsyncSession, unit: Unit) -> list[str]:
    """Names from the root down to this unit, for display."""
    names = [unit.name]
    parent_id = unit.parent_id
    while parent_id is not None:
        parent = await session.get(Unit, parent_id)
        if parent is None:
            break
        names.append(parent.name)
        parent_id = parent.parent_id
    return names[::-1]


def depth_order(units: list[Unit]) -> list[tuple[int, Unit]]:
    """Units as an indented tree: (depth, unit) in display order."""
    children: dict[int | None, list[Unit]] = {}
    known = {u.id for u in units}
    for unit in units:
        parent = unit.parent_id if unit.parent_id in known else None
        children.setdefault(parent, []).append(unit)
    out: list[tuple[int, Unit]] = []

    def walk(parent: int | None, depth: int) -> None:
        for unit in children.get(parent, []):
            out.append((depth, unit))
            walk(unit.id, depth + 1)

    walk(None, 0)
    return out
