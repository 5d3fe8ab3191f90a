"""The audit log: what admins did, kept for the admins above to read (/audit, `vstbpn audit`).

The services that carry out an admin action record it here, in the same transaction, so a
change made in chat and one made on the command line are logged alike.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import AuditEntry, Duty, Member, Unit


class Action(enum.StrEnum):
    unit_added = "unit_added"
    invite_created = "invite_created"
    invite_revoked = "invite_revoked"
    member_removed = "member_removed"
    role_changed = "role_changed"
    member_forgotten = "member_forgotten"
    duty_added = "duty_added"
    deadline_added = "deadline_added"
    duty_changed = "duty_changed"
    target_set = "target_set"
    report_submitted = "report_submitted"
    report_approved = "report_approved"
    report_returned = "report_returned"
    report_excused = "report_excused"
    report_unlocked = "report_unlocked"


def record(
    session: AsyncSession, *, unit_id: int, actor: int | None, action: Action, now: datetime,
    **details: Any,
) -> None:
    """Log one action (``actor`` None: the command line). Details name people by member id."""
    session.add(AuditEntry(at=now, unit_id=unit_id, actor_id=actor, action=action.value,
                           details=details))


async def recent(
    session: AsyncSession, unit_ids: list[int], *, limit: int = 20,
    before_id: int | None = None,
) -> list[AuditEntry]:
    """The newest entries about these units, newest first (``before_id`` pages back)."""
    query = select(AuditEntry).where(AuditEntry.unit_id.in_(unit_ids))
    if before_id is not None:
        query = query.where(AuditEntry.id < before_id)
    return list(await session.scalars(query.order_by(AuditEntry.id.desc()).limit(limit)))


@dataclass
class Names:
    """What the entries' ids stand for, looked up once for a page of entries."""

    members: dict[int, str] = field(default_factory=dict)
    units: dict[int, str] = field(default_factory=dict)
    duties: dict[int, Duty] = field(default_factory=dict)


async def names(session: AsyncSession, entries: list[AuditEntry]) -> Names:
    member_ids = {e.actor_id for e in entries if e.actor_id is not None}
    member_ids |= {int(e.details["member"]) for e in entries if "member" in e.details}
    duty_ids = {int(e.details["duty"]) for e in entries if "duty" in e.details}
    unit_ids = {e.unit_id for e in entries}
    found = Names()
    if member_ids:
        found.members = {row.id: row.full_name for row in await session.execute(
            select(Member.id, Member.full_name).where(Member.id.in_(member_ids)))}
    if unit_ids:
        found.units = {row.id: row.name for row in await session.execute(
            select(Unit.id, Unit.name).where(Unit.id.in_(unit_ids)))}
    if duty_ids:
        found.duties = {d.id: d for d in await session.scalars(
            select(Duty).where(Duty.id.in_(duty_ids)))}
    return found
