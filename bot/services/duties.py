"""Duties: the default catalog installed per unit, custom duties and deadlines from letters."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, time
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import insert_ignore
from bot.models import Duty, DutyKind, Scope, Unit
from bot.services.tree import ancestor_ids
from scheduler.recurrence import Recurrence, Stage

CATALOG = Path(__file__).resolve().parent.parent / "catalog" / "duties.json"
DEADLINE_STAGES = "-7,-3,0,+2"
SHIFTS = ("previous", "next", "none")


class DutyError(ValueError):
    """A duty setting is invalid; the message says which."""


@dataclass(frozen=True)
class CatalogEntry:
    code: str
    recurrence: dict[str, Any]
    stages: str
    vi: str
    en: str
    enabled: bool = True


@lru_cache(maxsize=1)
def catalog() -> tuple[CatalogEntry, ...]:
    data = json.loads(CATALOG.read_text(encoding="utf-8"))
    entries = tuple(CatalogEntry(**d) for d in data["duties"])
    for entry in entries:  # a broken catalog fails at start, not at the first reminder
        Recurrence.from_dict(entry.recurrence)
        Stage.parse_list(entry.stages)
    return entries


async def install_catalog(session: AsyncSession, unit_ids: list[int], now: datetime) -> int:
    """Give units the default duties they lack (new units, or new catalog entries)."""
    rows = [
        {"unit_id": uid, "code": e.code, "kind": DutyKind.catalog, "title_vi": e.vi,
         "title_en": e.en, "recurrence": e.recurrence, "stages": e.stages, "send_time": "08:00",
         "shift": "previous", "scope": Scope.unit, "enabled": e.enabled, "letter_number": None,
         "created_at": now}
        for uid in unit_ids for e in catalog()
    ]
    return await insert_ignore(session, Duty, rows, ["unit_id", "code"])


async def install_catalog_everywhere(session: AsyncSession, now: datetime) -> int:
    return await install_catalog(session, list(await session.scalars(select(Unit.id))), now)


async def applicable(
    session: AsyncSession, unit_id: int, *, enabled_only: bool = True
) -> list[Duty]:
    """The unit's own duties plus deadlines its ancestors set for their whole subtree."""
    ancestors = await ancestor_ids(session, unit_id)
    query = select(Duty).where(
        (Duty.unit_id == unit_id) | (Duty.unit_id.in_(ancestors) & (Duty.scope == Scope.subtree))
    ).order_by(Duty.id)
    if enabled_only:
        query = query.where(Duty.enabled.is_(True))
    return list(await session.scalars(query))


def parse_send_time(text: str) -> time:
    try:
        hour, minute = (int(p) for p in text.strip().split(":"))
        return time(hour, minute)
    except ValueError as exc:
        raise DutyError(f"send time must look like 08:00, not {text!r}") from exc


def check_settings(*, stages: str | None = None, send_time: str | None = None,
                   shift: str | None = None) -> None:
    if stages is not None:
        try:
            Stage.parse_list(stages)
        except ValueError as exc:
            raise DutyError(f"lead times {stages!r}: {exc}") from exc
    if send_time is not None:
        parse_send_time(send_time)
    if shift is not None and shift not in SHIFTS:
        raise DutyError(f"shift must be one of {', '.join(SHIFTS)}")


async def _add(session: AsyncSession, duty: Duty) -> Duty:
    """Store a new duty under the next free code of its kind in its unit ("deadline-3").

    Another process may take the same number at the same moment: the unique constraint
    refuses one of them, and that one tries the next number (inside a savepoint).
    """
    taken = await session.scalars(select(Duty.code).where(
        Duty.unit_id == duty.unit_id, Duty.code.like(f"{duty.kind}-%")))
    suffixes = (code.rpartition("-")[2] for code in taken)
    number = max((int(s) for s in suffixes if s.isdigit()), default=0)
    for _attempt in range(20):
        number += 1
        duty.code = f"{duty.kind}-{number}"
        try:
            async with session.begin_nested():
                session.add(duty)
            return duty
        except IntegrityError:
            continue
    raise DutyError("could not find a free code for the new duty")


async def add_deadline(
    session: AsyncSession, *, unit_id: int, title: str, due_on: date, now: datetime,
    letter_number: str | None = None, subtree: bool = False, stages: str = DEADLINE_STAGES,
    shift: str = "previous",
) -> Duty:
    """A one-off deadline from an official letter (công văn)."""
    title = title.strip()
    if not title:
        raise DutyError("the deadline needs a title")
    check_settings(stages=stages, shift=shift)
    return await _add(session, Duty(
        unit_id=unit_id, kind=DutyKind.deadline,
        title_vi=title, title_en=title, recurrence=Recurrence.once(due_on).to_dict(),
        stages=stages, send_time="08:00", shift=shift,
        scope=Scope.subtree if subtree else Scope.unit, enabled=True,
        letter_number=(letter_number or "").strip() or None, created_at=now,
    ))


async def add_custom(
    session: AsyncSession, *, unit_id: int, title: str, recurrence: Recurrence, now: datetime,
    stages: str = "-7,-3,0,+2", send_time: str = "08:00", shift: str = "previous",
) -> Duty:
    title = title.strip()
    if not title:
        raise DutyError("the duty needs a title")
    check_settings(stages=stages, send_time=send_time, shift=shift)
    return await _add(session, Duty(
        unit_id=unit_id, kind=DutyKind.custom,
        title_vi=title, title_en=title, recurrence=recurrence.to_dict(), stages=stages,
        send_time=send_time, shift=shift, scope=Scope.unit, enabled=True, letter_number=None,
        created_at=now,
    ))


async def find(session: AsyncSession, unit_id: int, code_or_id: str) -> Duty | None:
    query = select(Duty).where(Duty.unit_id == unit_id)
    if code_or_id.isdigit():
        return await session.scalar(query.where(Duty.id == int(code_or_id)))
    return await session.scalar(query.where(Duty.code == code_or_id))


def update(
    duty: Duty, *, enabled: bool | None = None, stages: str | None = None,
    send_time: str | None = None, shift: str | None = None, day: int | None = None,
    month: int | None = None,
) -> None:
    """Change a duty's settings; validates everything before changing anything."""
    check_settings(stages=stages, send_time=send_time, shift=shift)
    recurrence = duty.recurrence
    if day is not None or month is not None:
        changed = dict(duty.recurrence)
        if day is not None:
            changed["day"] = day
        if month is not None:
            changed["month"] = month
        try:
            Recurrence.from_dict(changed)
        except (ValueError, TypeError) as exc:
            raise DutyError(f"due date: {exc}") from exc
        recurrence = changed
    duty.recurrence = recurrence
    if enabled is not None:
        duty.enabled = enabled
    if stages is not None:
        duty.stages = ",".join(s.strip() for s in stages.split(","))
    if send_time is not None:
        duty.send_time = parse_send_time(send_time).strftime("%H:%M")
    if shift is not None:
        duty.shift = shift
