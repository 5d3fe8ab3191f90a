"""Duties: the default catalog installed per unit, custom duties and deadlines from letters."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, datetime, time
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import insert_ignore
from bot.models import Duty, DutyKind, Responsible, Scope, Unit
from bot.parsing import parse_id
from bot.services import audit
from bot.services.audit import Action
from bot.services.calendar import DutyDate
from bot.services.tree import ancestor_ids
from scheduler.recurrence import Recurrence, Stage, occurrences
from scheduler.workdays import WorkCalendar

CATALOG = Path(__file__).resolve().parent.parent / "catalog" / "duties.json"
DEADLINE_STAGES = "-7,-3,0,+2"
MAX_TITLE = 255  # the columns' lengths: checked here, before the database refuses
MAX_LETTER = 64
MAX_STAGES_TEXT = 64
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
    responsible: Responsible
    enabled: bool = True
    organisation: str | None = None
    confirm_date: bool = False  # the date is a guess until the year's guiding letter
    activity: str | None = None  # the check-in type that answers it
    match: dict[str, str] | None = None  # answered without a reminder by check-ins like this


def catalog_entry(duty: Duty) -> CatalogEntry | None:
    """The catalog entry a unit's duty was installed from (None for deadlines and custom)."""
    if duty.kind != DutyKind.catalog:
        return None
    return next((e for e in catalog() if e.code == duty.code), None)


def answered_by(duty: Duty) -> str | None:
    """The check-in type that answers the duty, if any (a report sent up has none)."""
    entry = catalog_entry(duty)
    return entry.activity if entry else None


@lru_cache(maxsize=1)
def catalog() -> tuple[CatalogEntry, ...]:
    data = json.loads(CATALOG.read_text(encoding="utf-8"))
    entries = tuple(
        CatalogEntry(**{**d, "responsible": Responsible(d["responsible"])}) for d in data["duties"]
    )
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
         "responsible": e.responsible, "organisation": e.organisation,
         "date_confirmed": not e.confirm_date, "created_at": now}
        for uid in unit_ids for e in catalog()
    ]
    return await insert_ignore(session, Duty, rows, ["unit_id", "code"])


async def install_catalog_everywhere(session: AsyncSession, now: datetime) -> int:
    """The catalog for every unit that lacks an entry of it (one query when none does)."""
    codes = [e.code for e in catalog()]
    complete = (select(Duty.unit_id).where(Duty.code.in_(codes)).group_by(Duty.unit_id)
                .having(func.count() == len(codes)))
    lacking = list(await session.scalars(select(Unit.id).where(Unit.id.not_in(complete))))
    return await install_catalog(session, lacking, now)


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
    m = re.fullmatch(r"(\d{1,2})[:hg.](\d{2})", text.strip().lower(), re.ASCII)
    try:
        if m is None:
            raise ValueError(text)
        return time(int(m[1]), int(m[2]))
    except ValueError as exc:
        raise DutyError(f"send time must look like 08:00, not {text!r}") from exc


def stage_bounds(recurrence: dict[str, Any]) -> tuple[int, int]:
    """How many days before and after the due date a reminder may be: within the duty's
    own cycle, so a monthly duty never reminds of next month's deadline."""
    return (-25, 10) if recurrence.get("kind") == "monthly" else (-120, 60)


def check_settings(
    *, recurrence: dict[str, Any], stages: str | None = None, send_time: str | None = None,
    shift: str | None = None, window: tuple[time, time] | None = None,
) -> None:
    """Refuse settings that would never work, with the allowed range in the message."""
    if stages is not None:
        try:
            parsed = Stage.parse_list(stages)
        except ValueError as exc:
            raise DutyError(f"lead times {stages!r}: {exc}") from exc
        low, high = stage_bounds(recurrence)
        if not parsed or any(not low <= s.offset_days <= high for s in parsed):
            raise DutyError(f"lead times must be from {low} to +{high} days")
        if len(normalize_stages(stages)) > MAX_STAGES_TEXT:
            raise DutyError("too many lead times")
    if send_time is not None:
        at = parse_send_time(send_time)
        if window is not None and not window[0] <= at < window[1]:
            raise DutyError(f"send time must be from {window[0]:%H:%M} to before "
                            f"{window[1]:%H:%M}, when reminders may go out")
    if shift is not None and shift not in SHIFTS:
        raise DutyError(f"shift must be one of {', '.join(SHIFTS)}")


def normalize_stages(stages: str) -> str:
    return ",".join(s.strip() for s in stages.split(",") if s.strip())


def _check_title(title: str) -> str:
    title = title.strip()
    if not title:
        raise DutyError("the duty needs a title")
    if len(title) > MAX_TITLE:
        raise DutyError(f"the title is longer than {MAX_TITLE} characters")
    return title


async def _add(session: AsyncSession, duty: Duty, by: int | None) -> Duty:
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
        except IntegrityError:
            continue
        action = Action.deadline_added if duty.kind == DutyKind.deadline else Action.duty_added
        audit.record(session, unit_id=duty.unit_id, actor=by, action=action,
                     now=duty.created_at, duty=duty.id)
        return duty
    raise DutyError("could not find a free code for the new duty")


async def add_deadline(
    session: AsyncSession, *, unit_id: int, title: str, due_on: date, now: datetime,
    letter_number: str | None = None, subtree: bool = False, stages: str = DEADLINE_STAGES,
    shift: str = "previous", responsible: Responsible = Responsible.focal, by: int | None = None,
) -> Duty:
    """A one-off deadline from an official letter (công văn)."""
    title = _check_title(title)
    letter_number = (letter_number or "").strip() or None
    if letter_number is not None and len(letter_number) > MAX_LETTER:
        raise DutyError(f"the letter number is longer than {MAX_LETTER} characters")
    recurrence = Recurrence.once(due_on).to_dict()
    check_settings(recurrence=recurrence, stages=stages, shift=shift)
    return await _add(session, Duty(
        unit_id=unit_id, kind=DutyKind.deadline,
        title_vi=title, title_en=title, recurrence=recurrence,
        stages=normalize_stages(stages), send_time="08:00", shift=shift,
        scope=Scope.subtree if subtree else Scope.unit, enabled=True,
        letter_number=letter_number, responsible=responsible, created_at=now,
    ), by)


async def add_custom(
    session: AsyncSession, *, unit_id: int, title: str, recurrence: Recurrence, now: datetime,
    stages: str = "-7,-3,0,+2", send_time: str = "08:00", shift: str = "previous",
    window: tuple[time, time] | None = None, by: int | None = None,
) -> Duty:
    title = _check_title(title)
    check_settings(recurrence=recurrence.to_dict(), stages=stages, send_time=send_time,
                   shift=shift, window=window)
    return await _add(session, Duty(
        unit_id=unit_id, kind=DutyKind.custom,
        title_vi=title, title_en=title, recurrence=recurrence.to_dict(),
        stages=normalize_stages(stages), send_time=parse_send_time(send_time).strftime("%H:%M"),
        shift=shift, scope=Scope.unit, enabled=True, letter_number=None,
        responsible=Responsible.everyone, created_at=now,
    ), by)


async def due_date(
    session: AsyncSession, unit_id: int, duty_id: int | None, key: str, cal: WorkCalendar
) -> DutyDate | None:
    """One due date (by its key, the written date) of a duty that applies to the unit."""
    try:
        nominal = date.fromisoformat(key)
    except ValueError:
        return None
    duty = next((d for d in await applicable(session, unit_id) if d.id == duty_id), None)
    if duty is None:
        return None
    rule = Recurrence.from_dict(duty.recurrence)
    found = [o for o in occurrences(rule, nominal, nominal, cal, duty.shift)  # type: ignore[arg-type]
             if o.key == key]
    return DutyDate(duty, found[0]) if found else None


async def find(session: AsyncSession, unit_id: int, code_or_id: str) -> Duty | None:
    query = select(Duty).where(Duty.unit_id == unit_id)
    duty_id = parse_id(code_or_id)
    if duty_id is not None:
        return await session.scalar(query.where(Duty.id == duty_id))
    return await session.scalar(query.where(Duty.code == code_or_id))


async def of_unit(session: AsyncSession, unit_id: int, duty_id: int | None) -> Duty | None:
    """The unit's own duty with this id (a forged id of another unit's duty finds nothing)."""
    if duty_id is None:
        return None
    duty = await session.get(Duty, duty_id)
    return duty if duty is not None and duty.unit_id == unit_id else None


def update(
    duty: Duty, *, enabled: bool | None = None, stages: str | None = None,
    send_time: str | None = None, shift: str | None = None, day: int | None = None,
    month: int | None = None, window: tuple[time, time] | None = None,
    responsible: Responsible | None = None, member_id: int | None = None,
) -> None:
    """Change a duty's settings; validates everything before changing anything."""
    check_settings(recurrence=duty.recurrence, stages=stages, send_time=send_time, shift=shift,
                   window=window)
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
        duty.date_confirmed = True  # an admin set the date: it is no longer the catalog's guess
    duty.recurrence = recurrence
    if enabled is not None:
        duty.enabled = enabled
    if stages is not None:
        duty.stages = normalize_stages(stages)
    if send_time is not None:
        duty.send_time = parse_send_time(send_time).strftime("%H:%M")
    if shift is not None:
        duty.shift = shift
    if responsible is not None:
        duty.responsible = responsible
        duty.responsible_member_id = member_id if responsible == Responsible.member else None


def change(
    session: AsyncSession, duty: Duty, *, by: int | None, now: datetime, **changes: Any
) -> None:
    """An admin's change of a duty (``update``), recorded in the audit log."""
    update(duty, **changes)
    changed = sorted(k for k, v in changes.items() if v is not None and k != "window")
    audit.record(session, unit_id=duty.unit_id, actor=by, action=Action.duty_changed, now=now,
                 duty=duty.id, changed=changed)
