"""Duty recurrence rules, their occurrences, and the reminder stages planned around them.

Pure calendar logic: nothing here reads the clock; "now" is always an argument.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any, Literal

from scheduler.workdays import DEFAULT_TZ, SendWindow, WorkCalendar

Kind = Literal["monthly", "yearly", "range", "once"]
ShiftPolicy = Literal["previous", "next", "none"]
Anchor = Literal["due", "start"]

_KINDS = ("monthly", "yearly", "range", "once")
_LEAP = 2000  # validate month/day pairs against a leap year so 29/02 is accepted


def _clamped(year: int, month: int, day: int) -> date:
    """``day`` of the month, clamped to its length; -1 means the last day (29/02 -> 28/02)."""
    last = calendar.monthrange(year, month)[1]
    return date(year, month, last if day == -1 else min(day, last))


def _check_month_day(month: int | None, day: int | None) -> None:
    if month is None or day is None or not 1 <= month <= 12:
        raise ValueError(f"invalid month/day {day}/{month}")
    if not 1 <= day <= calendar.monthrange(_LEAP, month)[1]:
        raise ValueError(f"invalid month/day {day}/{month}")


@dataclass(frozen=True)
class Recurrence:
    """When a duty falls due.

    * monthly: ``day`` 1..31 (clamped to the month's length) or -1 = last day of month.
    * yearly: ``month``/``day`` of the due date (29/02 falls on 28/02 in common years).
    * range: a period ``start_month/start_day`` .. ``month/day``; the due date is its end.
      It may wrap the year end (15/12–15/01); the due date's year owns the occurrence.
    * once: the single date ``on``.
    """

    kind: Kind
    month: int | None = None
    day: int | None = None
    start_month: int | None = None
    start_day: int | None = None
    on: date | None = None

    def __post_init__(self) -> None:
        if self.kind not in _KINDS:
            raise ValueError(f"unknown recurrence kind {self.kind!r}")
        used = {
            "monthly": ("day",),
            "yearly": ("month", "day"),
            "range": ("month", "day", "start_month", "start_day"),
            "once": ("on",),
        }[self.kind]
        for name in ("month", "day", "start_month", "start_day", "on"):
            if name not in used and getattr(self, name) is not None:
                raise ValueError(f"{self.kind} recurrence takes no {name}")
        if self.kind == "monthly":
            if self.day is None or not (self.day == -1 or 1 <= self.day <= 31):
                raise ValueError(f"monthly day must be 1..31 or -1, got {self.day}")
        elif self.kind in ("yearly", "range"):
            _check_month_day(self.month, self.day)
            if self.kind == "range":
                _check_month_day(self.start_month, self.start_day)
        elif not isinstance(self.on, date) or isinstance(self.on, datetime):
            raise ValueError("once recurrence needs a date")

    @classmethod
    def monthly(cls, day: int) -> Recurrence:
        return cls("monthly", day=day)

    @classmethod
    def yearly(cls, month: int, day: int) -> Recurrence:
        return cls("yearly", month=month, day=day)

    @classmethod
    def range(cls, start_month: int, start_day: int, end_month: int, end_day: int) -> Recurrence:
        return cls(
            "range", month=end_month, day=end_day, start_month=start_month, start_day=start_day
        )

    @classmethod
    def once(cls, d: date) -> Recurrence:
        return cls("once", on=d)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form (for a DB column); only the fields the kind uses."""
        data: dict[str, Any] = {"kind": self.kind}
        for name in ("start_month", "start_day", "month", "day"):
            if getattr(self, name) is not None:
                data[name] = getattr(self, name)
        if self.on is not None:
            data["on"] = self.on.isoformat()
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Recurrence:
        unknown = set(data) - {"kind", "month", "day", "start_month", "start_day", "on"}
        if unknown:
            raise ValueError(f"unknown recurrence keys {sorted(unknown)}")
        on = data.get("on")
        return cls(
            kind=data["kind"],
            month=data.get("month"),
            day=data.get("day"),
            start_month=data.get("start_month"),
            start_day=data.get("start_day"),
            on=date.fromisoformat(on) if isinstance(on, str) else on,
        )


@dataclass(frozen=True)
class Occurrence:
    """One instance of a duty. ``key`` (the nominal due date, ISO) is stable per duty."""

    key: str
    nominal_due: date
    due_on: date  # after the shift policy
    starts_on: date  # range start (never shifted), else == due_on


def shift_due(d: date, cal: WorkCalendar, shift: ShiftPolicy) -> date:
    """Where a due date on a day off goes: the working day before, after, or nowhere."""
    if shift == "previous":
        return cal.previous_working_day(d)
    if shift == "next":
        return cal.next_working_day(d)
    if shift == "none":
        return d
    raise ValueError(f"unknown shift policy {shift!r}")


def _nominal_dues(rule: Recurrence, start: date, end: date) -> list[date]:
    if rule.kind == "once":
        assert rule.on is not None
        return [rule.on]
    assert rule.day is not None
    if rule.kind == "monthly":
        months = range(start.year * 12 + start.month - 1, end.year * 12 + end.month)
        return [_clamped(m // 12, m % 12 + 1, rule.day) for m in months]
    assert rule.month is not None
    return [_clamped(y, rule.month, rule.day) for y in range(start.year, end.year + 1)]


def _range_start(rule: Recurrence, nominal_due: date) -> date:
    assert rule.start_month is not None and rule.start_day is not None
    start = _clamped(nominal_due.year, rule.start_month, rule.start_day)
    # A start later in the year than the due date belongs to the previous year (wrap).
    if start > nominal_due:
        start = _clamped(nominal_due.year - 1, rule.start_month, rule.start_day)
    return start


def occurrences(
    rule: Recurrence,
    start: date,
    end: date,
    cal: WorkCalendar,
    shift: ShiftPolicy = "previous",
) -> list[Occurrence]:
    """Occurrences whose *nominal* due date lies in [start, end], in order.

    Only the due date is shifted off non-working days; a range's start is kept as
    written (it only opens the period), but never after the shifted due date.
    """
    result = []
    for nominal in _nominal_dues(rule, start, end):
        if not start <= nominal <= end:
            continue
        due_on = shift_due(nominal, cal, shift)
        starts_on = min(_range_start(rule, nominal), due_on) if rule.kind == "range" else due_on
        result.append(Occurrence(nominal.isoformat(), nominal, due_on, starts_on))
    return result


_OFFSET_RE = re.compile(r"[+-]?\d+")
_NAMED_RE = re.compile(r"(before|overdue)-(\d+)")
_START_RE = re.compile(r"start([+-]\d+)?")


@dataclass(frozen=True)
class Stage:
    """A reminder ``offset_days`` calendar days from the due date (or the range start).

    ``name`` is derived and stable (part of a unique DB key): "before-14", "due",
    "overdue-2" for the due anchor; "start-7", "start", "start+3" for the start anchor.
    """

    offset_days: int
    anchor: Anchor = "due"
    name: str = field(init=False)

    @property
    def before_due(self) -> bool:
        """A nudge about a coming deadline (every start-anchored stage opens a period)."""
        return self.anchor == "start" or self.offset_days < 0

    def __post_init__(self) -> None:
        if self.anchor not in ("due", "start"):
            raise ValueError(f"unknown stage anchor {self.anchor!r}")
        object.__setattr__(self, "name", _stage_name(self.offset_days, self.anchor))

    @classmethod
    def parse(cls, text: str) -> Stage:
        """Parse "-14", "0", "+2", "start", "start-7", "start+3" or a stage name."""
        token = text.strip().lower()
        if _OFFSET_RE.fullmatch(token):
            return cls(int(token))
        if token == "due":
            return cls(0)
        if m := _START_RE.fullmatch(token):
            return cls(int(m[1] or 0), "start")
        if (m := _NAMED_RE.fullmatch(token)) and int(m[2]) > 0:
            return cls(-int(m[2]) if m[1] == "before" else int(m[2]))
        raise ValueError(f"invalid stage {text!r}")

    @classmethod
    def parse_list(cls, text: str) -> tuple[Stage, ...]:
        """Parse "-14,-3,0,+2"; duplicates are rejected since names are unique keys."""
        stages = tuple(cls.parse(part) for part in text.split(",") if part.strip())
        names = [s.name for s in stages]
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate stages in {text!r}")
        return stages


def _stage_name(offset: int, anchor: Anchor) -> str:
    if anchor == "start":
        return "start" if offset == 0 else f"start{offset:+d}"
    if offset == 0:
        return "due"
    return f"before-{-offset}" if offset < 0 else f"overdue-{offset}"


@dataclass(frozen=True)
class PlannedReminder:
    occurrence: Occurrence
    stage: Stage
    nominal_at: datetime  # anchor + offset at send_time, before the window
    send_at: datetime  # inside the window, never later than nominal_at

    @property
    def key(self) -> str:
        """Stable per duty: occurrence key + stage name."""
        return f"{self.occurrence.key}:{self.stage.name}"


def plan_reminders(
    occ: Occurrence,
    stages: Iterable[Stage],
    *,
    send_time: time,
    window: SendWindow,
    cal: WorkCalendar,
    tz: tzinfo = DEFAULT_TZ,
) -> list[PlannedReminder]:
    """One reminder per stage, sorted by send_at. The "due" anchor is the shifted
    ``due_on``; stages that land on the same send_at are all kept (the caller decides).

    Reminders up to the due day move back to the previous working moment (never later than
    planned); overdue ones move forward, since "2 days overdue" must not arrive before the
    deadline has passed.
    """
    planned = []
    for stage in stages:
        anchor = occ.due_on if stage.anchor == "due" else occ.starts_on
        day = anchor + timedelta(days=stage.offset_days)
        nominal_at = datetime.combine(day, send_time, tzinfo=tz)
        if day > occ.due_on:
            send_at = window.at_or_after(nominal_at, cal)
        else:
            send_at = window.at_or_before(nominal_at, cal)
        planned.append(PlannedReminder(occ, stage, nominal_at, send_at))
    return sorted(planned, key=lambda r: (r.send_at, r.nominal_at, r.stage.name))


def is_stale(
    reminder: PlannedReminder,
    now: datetime,
    later_send_ats: Iterable[datetime],
    *,
    tz: tzinfo | None = None,
) -> bool:
    """Whether a not-yet-sent reminder should be dropped instead of sent late (see ``stale``)."""
    return stale(
        before_due=reminder.nominal_at.date() < reminder.occurrence.due_on,
        due_on=reminder.occurrence.due_on, send_at=reminder.send_at, now=now,
        later_send_ats=later_send_ats, tz=tz or reminder.send_at.tzinfo,
    )


def stale(
    *, before_due: bool, due_on: date, send_at: datetime, now: datetime,
    later_send_ats: Iterable[datetime], tz: tzinfo | None = None,
) -> bool:
    """Stale when a later send for the same occurrence and person has already become due
    (some send_at strictly after this one's is <= now), or when it nags about a coming
    deadline (``before_due``) and the due day has begun (now >= due_on 00:00 in ``tz``,
    default: now's own timezone).
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if any(send_at < s <= now for s in later_send_ats):
        return True
    if before_due:
        return now >= datetime.combine(due_on, time(0), tzinfo=tz or now.tzinfo)
    return False
