"""Check-ins: store, change and delete what a unit did, keep every revision, and find the
duties a check-in answers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import metrics
from bot.models import (
    Answer,
    Checkin,
    CheckinRevision,
    CheckinValue,
    Member,
    Occurrence,
    OccurrenceStatus,
    Role,
)
from bot.services import approvals, occurrences
from bot.services.activities import ActivityType
from bot.services.calendar import DutyDate, occurrences_between
from bot.services.duties import applicable, catalog_entry
from bot.services.members import has_role
from bot.services.periods import admin_month
from scheduler.workdays import WorkCalendar

# An activity answers an occasion (8/3, the June month…) held this close to it.
CAMPAIGN_DAYS = 45


def report_period(day: date) -> tuple[int, int]:
    """(year, half) of the administrative period holding ``day`` (Nghị định 09/2019: the
    year from 15/12 of the year before to 14/12, the first half to 14/6)."""
    year, month = admin_month(day)
    return year, 1 if month <= 6 else 2


@dataclass(frozen=True)
class Values:
    """A check-in's answers as stored (JSON), with what follows from them."""

    kind: ActivityType
    fields: dict[str, Any]

    @property
    def dates(self) -> tuple[date, date]:
        return self.kind.dates(self.fields)


def _row_values(checkin: Checkin, kind: ActivityType) -> list[CheckinValue]:
    return [
        CheckinValue(checkin_id=checkin.id, name=name, unit_id=checkin.unit_id,
                     activity=checkin.activity, day=checkin.starts_on, value=value)
        for name, value in kind.numbers(checkin.fields).items()
    ]


def _set(checkin: Checkin, values: Values) -> None:
    checkin.fields = dict(values.fields)
    checkin.starts_on, checkin.ends_on = values.dates
    checkin.period_year, checkin.period_month = admin_month(checkin.starts_on)
    checkin.period_half = 1 if checkin.period_month <= 6 else 2


class Locked(Exception):
    """The check-in's period is approved: its check-ins cannot change until unlocked."""


async def _open(session: AsyncSession, unit_id: int, *days: date) -> None:
    for day in days:
        if await approvals.locked(session, unit_id, day):
            raise Locked(day)


async def locked(session: AsyncSession, checkin: Checkin) -> bool:
    return await approvals.locked(session, checkin.unit_id, checkin.starts_on)


async def create(
    session: AsyncSession, *, unit_id: int, member_id: int | None, values: Values,
    channel: str, now: datetime, occurrence_id: int | None = None,
) -> Checkin:
    await _open(session, unit_id, values.dates[0])
    checkin = Checkin(unit_id=unit_id, member_id=member_id, activity=values.kind.code,
                      occurrence_id=occurrence_id, channel=channel, created_at=now,
                      updated_at=now, updated_by=member_id)
    _set(checkin, values)
    session.add(checkin)
    await session.flush()
    session.add_all(_row_values(checkin, values.kind))
    session.add(CheckinRevision(checkin_id=checkin.id, member_id=member_id, action="created",
                                at=now, old=None, new=checkin.fields))
    await session.flush()
    metrics.CHECKINS.labels(channel).inc()
    return checkin


async def change(
    session: AsyncSession, checkin: Checkin, *, by: int | None, values: Values, now: datetime
) -> None:
    await _open(session, checkin.unit_id, checkin.starts_on, values.dates[0])
    old = dict(checkin.fields)
    _set(checkin, values)
    checkin.updated_at, checkin.updated_by = now, by
    await session.execute(delete(CheckinValue).where(CheckinValue.checkin_id == checkin.id))
    session.add_all(_row_values(checkin, values.kind))
    session.add(CheckinRevision(checkin_id=checkin.id, member_id=by, action="changed", at=now,
                                old=old, new=checkin.fields))
    await session.flush()


async def remove(session: AsyncSession, checkin: Checkin, *, by: int | None, now: datetime) -> None:
    """Delete: the numbers leave every report; the row and its revisions stay."""
    await _open(session, checkin.unit_id, checkin.starts_on)
    checkin.deleted_at, checkin.updated_at, checkin.updated_by = now, now, by
    await session.execute(delete(CheckinValue).where(CheckinValue.checkin_id == checkin.id))
    session.add(CheckinRevision(checkin_id=checkin.id, member_id=by, action="deleted", at=now,
                                old=dict(checkin.fields), new=None))
    await session.flush()


def _visible(member: Member) -> Any:
    """Own check-ins; the focal point and admins see their unit's."""
    if has_role(member, Role.focal):
        return Checkin.unit_id == member.unit_id
    return Checkin.member_id == member.id


async def recent(session: AsyncSession, member: Member, limit: int = 10) -> list[Checkin]:
    """The latest check-ins the member may change, newest first."""
    return list(await session.scalars(
        select(Checkin).where(_visible(member), Checkin.deleted_at.is_(None))
        .order_by(Checkin.updated_at.desc(), Checkin.id.desc()).limit(limit)
    ))


async def for_member(session: AsyncSession, member: Member, checkin_id: int) -> Checkin | None:
    """The check-in if the member may see and change it (ids in buttons can be forged)."""
    return await session.scalar(select(Checkin).where(
        Checkin.id == checkin_id, _visible(member), Checkin.deleted_at.is_(None)))


async def of_units(
    session: AsyncSession, unit_ids: Sequence[int], start: date | None = None,
    end: date | None = None,
) -> list[Checkin]:
    """Check-ins of these units whose activity starts in [start, end], oldest first."""
    query = select(Checkin).where(Checkin.unit_id.in_(unit_ids), Checkin.deleted_at.is_(None))
    if start is not None:
        query = query.where(Checkin.starts_on >= start)
    if end is not None:
        query = query.where(Checkin.starts_on <= end)
    return list(await session.scalars(query.order_by(Checkin.starts_on, Checkin.id)))


async def revisions(session: AsyncSession, checkin_id: int) -> list[CheckinRevision]:
    return list(await session.scalars(
        select(CheckinRevision).where(CheckinRevision.checkin_id == checkin_id)
        .order_by(CheckinRevision.id)))


# --- the duties a check-in answers -------------------------------------------------------


def _matches(match: dict[str, str], fields: dict[str, Any]) -> bool:
    for name, wanted in match.items():
        value = fields.get(name)
        if not (value == wanted or (isinstance(value, list) and wanted in value)):
            return False
    return True


async def _stored_open(
    session: AsyncSession, unit_id: int, item: DutyDate, now: datetime
) -> Occurrence | None:
    occ = await occurrences.ensure(session, unit_id, item, now)
    return occ if occ.status == OccurrenceStatus.open else None


async def _answered_occurrence(
    session: AsyncSession, unit_id: int, dates: list[DutyDate], day: date, campaign: bool,
    now: datetime,
) -> Occurrence | None:
    """The due date an activity on ``day`` counts for: the occasion held nearest it, or the
    first due date (as written, before any day-off shift) on or after it — an article of
    2/3 counts for March, never for a February left open."""
    if campaign:
        near = [d for d in dates if abs((d.occurrence.nominal_due - day).days) <= CAMPAIGN_DAYS]
        near.sort(key=lambda d: abs((d.occurrence.nominal_due - day).days))
        return await _stored_open(session, unit_id, near[0], now) if near else None
    coming = [d for d in dates if d.occurrence.nominal_due >= day]
    return await _stored_open(session, unit_id, coming[0], now) if coming else None


async def answered(
    session: AsyncSession, unit_id: int, values: Values, cal: WorkCalendar, now: datetime
) -> list[Occurrence]:
    """Open occurrences of the unit's duties that this check-in answers by its content: the
    duty's catalog entry names the check-in type and the values it must hold (a trade-union
    activity answers the trade union's yearly tick, and only that one)."""
    day = values.dates[0]
    found: list[Occurrence] = []
    for duty in await applicable(session, unit_id):
        entry = catalog_entry(duty)
        if (entry is None or entry.activity != values.kind.code or entry.match is None
                or not _matches(entry.match, values.fields)):
            continue
        dates = occurrences_between([duty], day - timedelta(days=CAMPAIGN_DAYS),
                                    day + timedelta(days=400), cal)
        occ = await _answered_occurrence(session, unit_id, dates, day,
                                         "campaign" in entry.match, now)
        if occ is not None:
            found.append(occ)
    return found


async def close(
    session: AsyncSession, found: Sequence[Occurrence], member: Member, now: datetime
) -> list[Occurrence]:
    """Mark these occurrences done by the member; the ones that were still open."""
    closed = []
    for occ in found:
        if occ.status == OccurrenceStatus.open:
            await occurrences.answer(session, occ, member, Answer.done, now)
            closed.append(occ)
    return closed
