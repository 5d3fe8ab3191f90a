"""The planner: turns each unit's duty calendar into outbox rows (insert-or-ignore).

It runs often and is idempotent: the unique key (occurrence, recipient, kind, stage) means a
rerun, a restart or a second process never doubles a reminder. It looks back `LOOKBACK` so
reminders due during downtime are still planned; the dispatcher decides if they are stale.

A nation is ten thousand units, so the work is done in bulk: everything a plan needs is read
in a few queries and kept between runs (`Planner`), each duty's schedule is computed once per
distinct rule rather than once per unit, and rows are written a chunk of units at a time with
one prepared statement. After the first run a unit is planned in full only when its people,
duties or groups changed (the `plan_changes` rows every ORM flush leaves); the others only
for the minutes that came into the window since the last run.
"""

from __future__ import annotations

import gc
import json
import logging
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import cached_property
from itertools import groupby
from operator import attrgetter
from typing import Any, NamedTuple, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import String, case, cast, delete, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from bot.context import AppContext
from bot.models import (
    Duty,
    GroupChat,
    Member,
    Occurrence,
    OccurrenceStatus,
    OutboxKind,
    PlanChange,
    Responsible,
    Role,
    Scope,
    Unit,
)
from bot.services import duties as duty_service
from bot.services import groups as group_service
from bot.services import occurrences, outbox
from bot.services.duties import parse_send_time
from scheduler import recurrence as rec
from scheduler.workdays import Calendar

log = logging.getLogger(__name__)

LOOKBACK = timedelta(days=7)
HORIZON = timedelta(days=2)
# Occurrence search margin: lead times and campaign periods reach this far from the due date.
_MARGIN = timedelta(days=120)
# The focal point is asked to confirm a guessed due date this long before it.
CONFIRM_AHEAD = timedelta(days=30)
SUMMARY_TIME = time(8, 0)
# A monthly summary still worth sending this long after its moment (downtime).
SUMMARY_LATE = timedelta(days=7)
CHUNK = 500  # units per transaction: short locks, flat memory


class Person(Protocol):
    id: int
    role: str
    created_at: datetime | None  # None: joined before anything being planned


class DutyLike(Protocol):
    id: int
    responsible: str
    responsible_member_id: int | None
    date_confirmed: bool


class PlannedSend(NamedTuple):
    send_at: datetime
    kind: str
    stage: str
    duty: Any  # a Duty, or the planner's lighter row of one
    occurrence: rec.Occurrence
    recipient: str
    member: Any = None  # a Member or a person row
    group: Any = None  # a GroupChat or a group row


@dataclass(frozen=True)
class People:
    """Who in and around a unit reminders can go to (active members only)."""

    members: Sequence[Person]
    parent_admins: Sequence[Person]
    groups: Sequence[Any]

    @cached_property
    def _by_role(self) -> dict[str, list[Person]]:
        found: dict[str, list[Person]] = {role: [] for role in Role}
        for m in self.members:
            found[m.role].append(m)
        return found

    @cached_property
    def last_joined(self) -> datetime | None:
        """When the newest member joined (None: everyone before anything being planned):
        nobody is reminded of what fell due before."""
        return max((m.created_at for m in (*self.members, *self.parent_admins)
                    if m.created_at is not None), default=None)

    def with_role(self, role: Role) -> list[Person]:
        return self._by_role[role]

    @cached_property
    def focal_or_admins(self) -> list[Person]:
        """The focal point; the admins when there is none; else whoever the unit has."""
        return self.with_role(Role.focal) or self.with_role(Role.admin) or list(self.members)

    def responsible(self, duty: DutyLike) -> list[Person]:
        """The people a duty's reminders go to."""
        if duty.responsible == Responsible.everyone:
            return list(self.members)
        if duty.responsible == Responsible.focal_admins:
            return self.with_role(Role.focal) + self.with_role(Role.admin)
        if duty.responsible == Responsible.member:
            named = [m for m in self.members if m.id == duty.responsible_member_id]
            return named or self.focal_or_admins
        return self.focal_or_admins

    def escalation(self, duty: DutyLike, responsible: list[Person]) -> list[Person]:
        """Who hears that the duty is overdue: the admins, when they are not the ones
        responsible (nobody is escalated about themselves); the parent unit's admins when
        the unit has none."""
        if duty.responsible in (Responsible.everyone, Responsible.focal_admins):
            return []  # the admins are responsible themselves: they get the overdue reminder
        admins = self.with_role(Role.admin) or list(self.parent_admins)
        return [m for m in admins if m not in responsible]


def focal_digest_at(
    occ: rec.Occurrence, send_time: time, cal: Calendar, tz: ZoneInfo
) -> datetime:
    """The focal point's "who has not answered" message: the working day before the due day."""
    day = cal.cal.previous_working_day(occ.due_on, inclusive=False)
    return cal.window.at_or_before(datetime.combine(day, send_time, tzinfo=tz), cal.cal)


def summary_at(year: int, month: int, cal: Calendar, tz: ZoneInfo) -> datetime:
    """The monthly summary's moment: 08:00 on the month's first working day (Tết aware)."""
    day = cal.cal.next_working_day(date(year, month, 1))
    return cal.window.at_or_after(datetime.combine(day, SUMMARY_TIME, tzinfo=tz), cal.cal)


# --- schedules: a duty's sends, computed once per distinct rule ----------------------------


@dataclass(frozen=True)
class _Reminder:
    send_at: datetime
    stage: str
    overdue: bool  # its nominal day is after the due day: the admins hear of it too


@dataclass(frozen=True)
class _OccurrencePlan:
    occurrence: rec.Occurrence
    reminders: tuple[_Reminder, ...]
    digest_at: datetime  # the focal point's "who has not answered"
    ask_at: datetime  # "please confirm the date" (only while the date is a guess)


class Schedules:
    """Each distinct (rule, stages, time, day-off shift, time zone) planned once for the
    window: ten thousand units sharing the default catalog share a few dozen schedules."""

    def __init__(self, cal: Calendar, start: datetime, end: datetime) -> None:
        self.cal, self.start, self.end = cal, start, end
        self._found: dict[tuple[Any, ...], list[_OccurrencePlan]] = {}

    def of(self, recurrence: str | dict[str, Any], stages: str, send_time: str, shift: str,
           tz: ZoneInfo) -> list[_OccurrencePlan]:
        raw = recurrence if isinstance(recurrence, str) else json.dumps(recurrence,
                                                                       sort_keys=True)
        key = (raw, stages, send_time, shift, tz.key)
        found = self._found.get(key)
        if found is None:
            rule = json.loads(raw) if isinstance(recurrence, str) else recurrence
            found = self._found[key] = self._plan(rec.Recurrence.from_dict(rule), stages,
                                                  parse_send_time(send_time), shift, tz)
        return found

    def busy(self, signatures: Iterable[tuple[str, str, str, str]], zones: Iterable[ZoneInfo],
             start: datetime, end: datetime) -> bool:
        """Whether any of these schedules sends anything in [start, end)."""
        return any(
            any(start <= r.send_at < end for r in plan.reminders)
            or start <= plan.digest_at < end or start <= plan.ask_at < end
            for tz in zones for sig in signatures for plan in self.of(*sig, tz))

    def _plan(self, rule: rec.Recurrence, stages: str, send_time: time, shift: str,
              tz: ZoneInfo) -> list[_OccurrencePlan]:
        cal = self.cal
        first: date = (self.start - _MARGIN).astimezone(tz).date()
        last: date = (self.end + _MARGIN).astimezone(tz).date()
        parsed = rec.Stage.parse_list(stages)
        found = []
        for occ in rec.occurrences(rule, first, last, cal.cal, shift):  # type: ignore[arg-type]
            reminders = tuple(
                _Reminder(p.send_at, p.stage.name, p.nominal_at.date() > occ.due_on)
                for p in rec.plan_reminders(occ, parsed, send_time=send_time,
                                            window=cal.window, cal=cal.cal, tz=tz)
                if self.start <= p.send_at < self.end)
            digest_at = focal_digest_at(occ, send_time, cal, tz)
            ask_at = cal.window.at_or_before(datetime.combine(
                occ.nominal_due - CONFIRM_AHEAD, send_time, tzinfo=tz), cal.cal)
            if reminders or any(self.start <= at < self.end for at in (digest_at, ask_at)):
                found.append(_OccurrencePlan(occ, reminders, digest_at, ask_at))
        return found


class Batch(NamedTuple):
    """One message of one duty's due date, to several people (or groups) at one moment."""

    send_at: datetime
    kind: str
    stage: str
    duty: Any  # a Duty, or the planner's lighter row of one
    occurrence: rec.Occurrence
    members: list[Any]  # Members or person rows; or
    groups: list[Any]  # GroupChats or group rows


def unit_batches(
    duties: Iterable[Any], people: People, start: datetime, end: datetime, tz: ZoneInfo,
    schedules: Schedules,
) -> list[Batch]:
    """Every message the unit's duties ask for in [start, end) (inside the schedules'
    window), whatever was sent already; one batch per moment and kind, not per person, so
    a nation's fan-out costs a dictionary per row and nothing more."""
    out: list[Batch] = []
    for duty in duties:
        plans = schedules.of(duty.recurrence, duty.stages, duty.send_time, duty.shift, tz)
        if plans:
            _duty_batches(out, duty, plans, people, start, end)
    return out


def _duty_batches(out: list[Batch], duty: Any, plans: list[_OccurrencePlan], people: People,
                  start: datetime, end: datetime) -> None:
    responsible = people.responsible(duty)
    # A unit posting in a group hears of duties that concern everyone there, not privately.
    in_group = duty.responsible == Responsible.everyone and bool(people.groups)
    escalate_to = people.escalation(duty, responsible)
    focal = people.with_role(Role.focal) if duty.responsible == Responsible.everyone else []
    ask = people.focal_or_admins if not duty.date_confirmed else []

    everyone_joined = people.last_joined

    def to(moment: datetime, kind: OutboxKind, stage: str, members: list[Person],
           occ: rec.Occurrence) -> None:
        if everyone_joined is None or everyone_joined <= moment:
            joined = members
        else:
            joined = [m for m in members if m.created_at is None or m.created_at <= moment]
        if joined:
            out.append(Batch(moment, kind, stage, duty, occ, joined, []))

    for plan in plans:
        occ = plan.occurrence
        for r in plan.reminders:
            if not start <= r.send_at < end:
                continue
            if in_group:
                out.append(Batch(r.send_at, OutboxKind.group, r.stage, duty, occ, [],
                                 list(people.groups)))
            else:
                to(r.send_at, OutboxKind.reminder, r.stage, responsible, occ)
            if r.overdue:
                to(r.send_at, OutboxKind.escalation, r.stage, escalate_to, occ)
        if focal and start <= plan.digest_at < end:  # who has not answered, for the focal point
            to(plan.digest_at, OutboxKind.focal, "digest", focal, occ)
        if ask and start <= plan.ask_at < end:
            to(plan.ask_at, OutboxKind.confirm, "confirm", ask, occ)


# --- one unit, from the ORM: the dry run (`vstbpn duty calendar`) and the dispatcher -------


async def people_of(session: AsyncSession, unit: Unit) -> People:
    members = list(await session.scalars(
        select(Member).where(Member.unit_id == unit.id, Member.active.is_(True)).order_by(Member.id)
    ))
    parent_admins: list[Member] = []
    if unit.parent_id is not None and not any(m.role == Role.admin for m in members):
        parent_admins = list(await session.scalars(
            select(Member).where(Member.unit_id == unit.parent_id, Member.active.is_(True),
                                 Member.role == Role.admin).order_by(Member.id)
        ))
    return People(members, parent_admins, await group_service.of_unit(session, unit.id))


async def expected_sends(
    session: AsyncSession, unit: Unit, start: datetime, end: datetime, cal: Calendar
) -> list[PlannedSend]:
    """Every message the calendar asks for in [start, end) for this unit, whatever was sent."""
    people = await people_of(session, unit)
    duties = await duty_service.applicable(session, unit.id)
    batches = unit_batches(duties, people, start, end, unit.tz, Schedules(cal, start, end))
    sends = [PlannedSend(b.send_at, b.kind, b.stage, b.duty, b.occurrence,
                         outbox.member_recipient(m.id), member=m)
             for b in batches for m in b.members]
    sends += [PlannedSend(b.send_at, b.kind, b.stage, b.duty, b.occurrence,
                          outbox.group_recipient(g.id), group=g)
              for b in batches for g in b.groups]
    sends.sort(key=lambda s: (s.send_at, s.duty.id, s.kind, s.recipient))
    return sends


# --- every unit, in bulk ------------------------------------------------------------------


class _Unit(NamedTuple):
    id: int
    parent_id: int | None
    tz: ZoneInfo


@dataclass
class Snapshot:
    """What planning reads, kept between runs and refreshed for the units that changed."""

    units: dict[int, _Unit] = field(default_factory=dict)
    children: dict[int, list[int]] = field(default_factory=dict)
    duties: dict[int, list[Any]] = field(default_factory=dict)  # enabled, by owning unit
    people: dict[int, list[Any]] = field(default_factory=dict)  # active, by id
    groups: dict[int, list[Any]] = field(default_factory=dict)
    # Every distinct (rule, stages, time, shift) read, and the units' time zones: a run
    # whose new minutes hold no send of any of them skips the units that did not change.
    signatures: set[tuple[str, str, str, str]] = field(default_factory=set)
    _subtree_duties: dict[int, list[Any]] = field(default_factory=dict)

    async def load_units(self, session: AsyncSession) -> None:
        zones: dict[str, ZoneInfo] = {}
        self.units, self.children, self._subtree_duties = {}, {}, {}
        for uid, parent, zone in await session.execute(
                select(Unit.id, Unit.parent_id, Unit.timezone).order_by(Unit.id)):
            tz = zones.get(zone) or zones.setdefault(zone, ZoneInfo(zone))
            self.units[uid] = _Unit(uid, parent, tz)
            if parent is not None:
                self.children.setdefault(parent, []).append(uid)

    async def load(self, session: AsyncSession, unit_ids: list[int] | None,
                   window_start: datetime) -> None:
        """Read the duties, people and groups of these units (None: of every unit). When a
        member joined is kept only if after ``window_start``: nothing earlier is planned,
        now or later, and reading 200,000 dates costs a fifth of the read."""
        self._subtree_duties = {}
        if unit_ids is None:  # (a partial read adds the schedules of its duties below)
            self.signatures = {tuple(sig) for sig in await session.execute(  # type: ignore[misc]
                select(cast(Duty.recurrence, String), Duty.stages, Duty.send_time, Duty.shift)
                .where(Duty.enabled.is_(True)).distinct())}
        for chunk in _chunks(unit_ids, 5000):
            for table in (self.duties, self.people, self.groups):
                for uid in chunk or ():
                    table.pop(uid, None)
            # Rows (named tuples) as they come, grouped by unit: no object per row.
            by_unit = attrgetter("unit_id")
            for uid, rows in groupby(await session.execute(
                select(Duty.unit_id, Duty.id, Duty.scope,
                       cast(Duty.recurrence, String).label("recurrence"), Duty.stages,
                       Duty.send_time, Duty.shift, Duty.responsible,
                       Duty.responsible_member_id, Duty.date_confirmed)
                .where(Duty.enabled.is_(True), _among(Duty.unit_id, chunk))
                .order_by(Duty.unit_id, Duty.id)
            ), by_unit):
                self.duties[uid] = list(rows)
                if chunk is not None:
                    self.signatures.update((d.recurrence, d.stages, d.send_time, d.shift)
                                           for d in self.duties[uid])
            for uid, rows in groupby(await session.execute(
                select(Member.unit_id, Member.id, Member.role,
                       case((Member.created_at > window_start, Member.created_at))
                       .label("created_at"))
                .where(Member.active.is_(True), _among(Member.unit_id, chunk))
                .order_by(Member.unit_id, Member.id)
            ), by_unit):
                self.people[uid] = list(rows)
            for uid, rows in groupby(await session.execute(
                select(GroupChat.unit_id, GroupChat.id, GroupChat.title)
                .where(_among(GroupChat.unit_id, chunk)).order_by(GroupChat.unit_id, GroupChat.id)
            ), by_unit):
                self.groups[uid] = list(rows)

    def subtree(self, unit_ids: Iterable[int]) -> set[int]:
        found: set[int] = set()
        todo = [u for u in unit_ids if u in self.units]
        while todo:
            uid = todo.pop()
            if uid not in found:
                found.add(uid)
                todo.extend(self.children.get(uid, ()))
        return found

    def applicable(self, unit: _Unit) -> list[Any]:
        """The unit's own duties and the deadlines its ancestors set for their subtree."""
        own = self.duties.get(unit.id, [])
        inherited = self._inherited(unit.parent_id, {unit.id})
        return sorted(own + inherited, key=attrgetter("id")) if inherited else own

    def _inherited(self, unit_id: int | None, seen: set[int]) -> list[Any]:
        """The subtree deadlines of this unit and its ancestors (kept for the run: siblings
        share them)."""
        if unit_id is None or unit_id in seen or unit_id not in self.units:
            return []
        found = self._subtree_duties.get(unit_id)
        if found is None:
            seen.add(unit_id)
            found = [d for d in self.duties.get(unit_id, ()) if d.scope == Scope.subtree]
            found += self._inherited(self.units[unit_id].parent_id, seen)
            self._subtree_duties[unit_id] = found
        return found

    def people_of(self, unit: _Unit) -> People:
        members = self.people.get(unit.id, [])
        parent_admins: list[Any] = []
        if unit.parent_id is not None and not any(m.role == Role.admin for m in members):
            parent_admins = [m for m in self.people.get(unit.parent_id, [])
                             if m.role == Role.admin]
        return People(members, parent_admins, self.groups.get(unit.id, []))


def _among(column: Any, ids: list[int] | None) -> Any:
    return column.in_(ids) if ids is not None else true()


def _chunks(ids: list[int] | None, size: int) -> Iterable[list[int] | None]:
    if ids is None:
        yield None
        return
    for start in range(0, len(ids), size):
        yield ids[start:start + size]


class Planner:
    """The reminder clock's planner: the first run plans every unit for the whole window;
    later runs re-plan the units that changed and add the new minutes for the rest."""

    def __init__(self, app: AppContext, cal: Calendar | None = None) -> None:
        self.app = app
        self.cal = cal or app.calendar
        self.snapshot: Snapshot | None = None
        self.planned_to: datetime | None = None  # the window's end at the last run
        self.full_runs = 0  # runs that read every unit afresh
        # Monthly summaries (time zone, month) planned for every unit already: they enter
        # the window with the month, not with their moment, so slices do not find them.
        self.summaries: set[tuple[str, str]] = set()

    async def run(self) -> int:
        with _collector_paused():
            return await self._run()

    async def _run(self) -> int:
        now = self.app.clock.now()
        start, end = now - LOOKBACK, now + HORIZON
        try:
            async with self.app.transaction() as session:
                changed = set(await session.scalars(
                    delete(PlanChange).returning(PlanChange.unit_id)))
                full = self.snapshot is None or self.planned_to is None or (
                    self.planned_to > end)  # the clock went back: plan everything again
                if full:
                    await duty_service.install_catalog_everywhere(session, now)
                    self.snapshot = Snapshot()
                    await self.snapshot.load_units(session)
                    await self.snapshot.load(session, None, start)
                    again = set(self.snapshot.units)
                else:
                    assert self.snapshot is not None
                    await self.snapshot.load_units(session)
                    again = self.snapshot.subtree(changed)
                    await self.snapshot.load(session, sorted(again), start)
            assert self.snapshot is not None
            slice_from = start if full else max(self.planned_to or start, start)
            work = [(u, start if u.id in again else slice_from)
                    for u in self.snapshot.units.values()]
            added = await self._plan(work, now, end)
        except BaseException:
            self.snapshot = None  # a failed run: the next plans everything from the database
            raise
        self.planned_to = end
        if full:
            self.full_runs += 1
        if added:
            log.info("planned", extra={"rows": added, "replanned_units": len(again)})
        return added

    async def _plan(self, work: list[tuple[_Unit, datetime]], now: datetime,
                    end: datetime) -> int:
        assert self.snapshot is not None
        snap = self.snapshot
        schedules = Schedules(self.cal, now - LOOKBACK, end)
        summaries: dict[str, tuple[datetime, str]] = {}
        added = 0
        slices = {start for _, start in work if start != now - LOOKBACK}
        zones = {unit.tz.key: unit.tz for unit, _ in work}.values()
        quiet = {start for start in slices
                 if not schedules.busy(snap.signatures, zones, start, end)}
        for first in range(0, len(work), CHUNK):
            batches: list[tuple[int, Batch]] = []
            notices: list[dict[str, Any]] = []
            for unit, start in work[first:first + CHUNK]:
                if start in quiet and self._summary_due(unit.tz, now, end, False,
                                                        summaries) is None:
                    continue  # nothing new for this unit in these minutes
                people = snap.people_of(unit)
                if start < end:
                    batches.extend((unit.id, b) for b in unit_batches(
                        snap.applicable(unit), people, start, end, unit.tz, schedules))
                notices.extend(self._summary(unit, people, now, start == now - LOOKBACK, end,
                                             summaries))
            if batches or notices:
                async with self.app.transaction() as session:
                    added += await _store(session, batches, now)
                    added += await outbox.enqueue_notices(session, notices)
        self.summaries |= {(zone, key) for zone, (send_at, key) in summaries.items()
                           if now - SUMMARY_LATE <= send_at <= end}
        return added

    def _summary_due(self, tz: ZoneInfo, now: datetime, end: datetime, full: bool,
                     memo: dict[str, tuple[datetime, str]]) -> tuple[datetime, str] | None:
        """Last month's summary (its moment and month) if it is to be planned now: from
        shortly before its moment until a week after it, once for the units that were
        planned already."""
        found = memo.get(tz.key)
        if found is None:
            today = now.astimezone(tz).date()
            last = today.replace(day=1) - timedelta(days=1)
            found = memo[tz.key] = (summary_at(today.year, today.month, self.cal, tz),
                                    f"{last.year}-{last.month:02d}")
        send_at, key = found
        if not now - SUMMARY_LATE <= send_at <= end or (
                not full and (tz.key, key) in self.summaries):
            return None
        return found

    def _summary(self, unit: _Unit, people: People, now: datetime, full: bool,
                 end: datetime, memo: dict[str, tuple[datetime, str]]) -> list[dict[str, Any]]:
        """The monthly summary to each of the unit's admins (a notice: unique per admin,
        kind and month)."""
        due = self._summary_due(unit.tz, now, end, full, memo)
        if due is None:
            return []
        send_at, key = due
        return [outbox.row(None, outbox.member_recipient(m.id), OutboxKind.summary,
                           f"summary-{key}", send_at, now,
                           payload={"unit_id": unit.id, "period": key})
                for m in people.with_role(Role.admin)]


@contextmanager
def _collector_paused() -> Iterator[None]:
    """A nation's plan makes a million objects that live as long as the run or longer (the
    snapshot, the batches, the rows): the cyclic collector would scan them again and again,
    a fifth of a first plan. Whatever garbage the run leaves is collected after it."""
    paused = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()


async def _store(session: AsyncSession, batches: list[tuple[int, Batch]],
                 now: datetime) -> int:
    """Store the batches' occurrences (insert-or-ignore), then a row per person or group for
    the open ones."""
    if not batches:
        return 0
    dates = {(uid, b.duty.id, b.occurrence.key): b.occurrence for uid, b in batches}
    new = await occurrences.store_many(
        session, [(uid, duty_id, occ) for (uid, duty_id, _), occ in dates.items()], now)
    open_ids = dict(new)
    known = [k for k in dates if k not in new]  # stored before: open, or closed meanwhile?
    if known:
        open_ids.update(
            ((uid, duty_id, key), occ_id)
            for occ_id, uid, duty_id, key, status in await session.execute(
                select(Occurrence.id, Occurrence.unit_id, Occurrence.duty_id, Occurrence.key,
                       Occurrence.status)
                .where(Occurrence.unit_id.in_({uid for uid, _, _ in known}),
                       Occurrence.key.in_({key for _, _, key in known})))
            if status == OccurrenceStatus.open)
    fresh: list[dict[str, Any]] = []  # of occurrences stored just now: nothing to conflict
    again: list[dict[str, Any]] = []
    for uid, b in batches:
        key = (uid, b.duty.id, b.occurrence.key)
        occ_id = open_ids.get(key)
        if occ_id is None:
            continue
        rows = fresh if key in new else again
        base = outbox.row(occ_id, "", b.kind, b.stage, b.send_at, now)
        rows.extend({**base, "recipient": outbox.member_recipient(m.id)} for m in b.members)
        rows.extend({**base, "recipient": outbox.group_recipient(g.id)} for g in b.groups)
    return (await outbox.enqueue_fresh(session, fresh)
            + await outbox.enqueue(session, again))


async def plan(app: AppContext, cal: Calendar | None = None) -> int:
    """Plan every unit for the whole window (a fresh planner: what a restart does)."""
    return await Planner(app, cal).run()
