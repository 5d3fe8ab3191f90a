"""Where a unit sits in the tree: the units below it, above it, and its path of names."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import Unit


async def subtree_ids(session: AsyncSession, root_id: int) -> list[int]:
    """The unit and every unit below it (recursive CTE: same SQL on SQLite and PostgreSQL)."""
    tree = select(Unit.id).where(Unit.id == root_id).cte("tree", recursive=True)
    tree = tree.union_all(select(Unit.id).where(Unit.parent_id == tree.c.id))
    return list(await session.scalars(select(tree.c.id)))


async def subtree_units(session: AsyncSession, root_id: int) -> list[Unit]:
    """The unit and every unit below it, in tree order."""
    ids = await subtree_ids(session, root_id)
    found = list(await session.scalars(select(Unit).where(Unit.id.in_(ids))))
    return [unit for _depth, unit in depth_order(found)]


async def ancestor_ids(session: AsyncSession, unit_id: int) -> list[int]:
    """Every unit above this one (recursive CTE, the mirror of subtree_ids)."""
    up = select(Unit.parent_id).where(Unit.id == unit_id).cte("up", recursive=True)
    up = up.union_all(select(Unit.parent_id).where(Unit.id == up.c.parent_id))
    return [i for i in await session.scalars(select(up.c.parent_id)) if i is not None]


async def parents(session: AsyncSession, units: Sequence[Unit]) -> dict[int, int | None]:
    """Each unit's parent, and the parent of every unit above them: what the units given
    already say, the rest in one recursive CTE (none for a whole subtree below a root)."""
    found: dict[int, int | None] = {u.id: u.parent_id for u in units}
    missing = {p for p in found.values() if p is not None and p not in found}
    if missing:
        up = select(Unit.id, Unit.parent_id).where(Unit.id.in_(missing)).cte("up", recursive=True)
        up = up.union(select(Unit.id, Unit.parent_id).where(Unit.id == up.c.parent_id))
        found.update({i: p for i, p in await session.execute(select(up.c.id, up.c.parent_id))})
    return found


def chain(parent_of: dict[int, int | None], unit_id: int) -> list[int]:
    """Every unit above this one, nearest first, from a map made by ``parents``."""
    found, current = [], parent_of.get(unit_id)
    while current is not None:
        found.append(current)
        current = parent_of.get(current)
    return found


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
