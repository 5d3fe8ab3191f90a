"""Where a unit sits in the tree: the units below it, above it, and its path of names."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import Unit


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
