"""Vietnamese working days and the daily window in which reminders may be sent.

Pure calendar logic: nothing here reads the clock; every function gets its dates/moments.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

import holidays

DEFAULT_TZ = ZoneInfo("Asia/Ho_Chi_Minh")

# Name reported for unit-specific days off given as plain dates (pass a mapping to name them).
EXTRA_HOLIDAY_NAME = "Ngày nghỉ bổ sung"

_ONE_DAY = timedelta(days=1)


class WorkCalendar:
    """Working days in Vietnam: Mon–Fri minus public holidays, plus decreed working Saturdays.

    Public holidays (Tết, Hùng Kings, 30/4, 1/5, 2/9, 24/11 from 2026, observed and
    substituted days off) come from the ``holidays`` package, loaded lazily per year.
    Weekend days the government swapped into working days (``weekend_workdays`` of the lib,
    e.g. Sat 2026-08-22 in exchange for Mon 2026-08-31 off) count as working days too.

    ``extra_holidays`` (unit-specific days off; a date->name mapping is also accepted) and
    ``extra_workdays`` (compensatory working Saturdays) override the library.
    """

    def __init__(
        self,
        *,
        extra_holidays: Iterable[date] | Mapping[date, str] = (),
        extra_workdays: Iterable[date] = (),
        language: str = "vi",
    ) -> None:
        if isinstance(extra_holidays, Mapping):
            self._extra_holidays: dict[date, str] = dict(extra_holidays)
        else:
            self._extra_holidays = dict.fromkeys(extra_holidays, EXTRA_HOLIDAY_NAME)
        self._extra_workdays = frozenset(extra_workdays)
        clash = self._extra_workdays & self._extra_holidays.keys()
        if clash:
            raise ValueError(f"dates both extra holiday and extra workday: {sorted(clash)}")
        # Explicit language: otherwise the lib guesses it from the process locale.
        self._language = language
        self._years: dict[int, Any] = {}

    def _lib(self, year: int) -> Any:
        lib = self._years.get(year)
        if lib is None:
            lib = holidays.country_holidays("VN", years=year, language=self._language)
            self._years[year] = lib
        return lib

    def _lib_weekend_workday(self, d: date) -> bool:
        # A swap decreed in one year may name a working day in the neighbouring year
        # (e.g. 31/12/2018 off for Sat 05/01/2019), so look at both neighbours as well.
        return any(
            d in getattr(self._lib(y), "weekend_workdays", ())
            for y in (d.year - 1, d.year, d.year + 1)
        )

    def holiday_name(self, d: date) -> str | None:
        """Name of the public or extra holiday on ``d``, or None."""
        if d in self._extra_holidays:
            return self._extra_holidays[d]
        return self._lib(d.year).get(d)

    def is_working_day(self, d: date) -> bool:
        if d in self._extra_workdays:
            return True
        if d in self._extra_holidays:
            return False
        if d.weekday() >= 5:
            return self._lib_weekend_workday(d)
        return d not in self._lib(d.year)

    def previous_working_day(self, d: date, *, inclusive: bool = True) -> date:
        """Latest working day <= d (< d when not inclusive)."""
        if not inclusive:
            d -= _ONE_DAY
        while not self.is_working_day(d):
            d -= _ONE_DAY
        return d

    def next_working_day(self, d: date, *, inclusive: bool = True) -> date:
        """Earliest working day >= d (> d when not inclusive)."""
        if not inclusive:
            d += _ONE_DAY
        while not self.is_working_day(d):
            d += _ONE_DAY
        return d

    def add_working_days(self, d: date, n: int) -> date:
        """Step ``n`` working days from ``d`` (backwards if negative); ``d`` itself need not
        be a working day (Sat + 1 = Mon). ``n == 0`` returns ``d`` unchanged."""
        for _ in range(abs(n)):
            if n > 0:
                d = self.next_working_day(d, inclusive=False)
            else:
                d = self.previous_working_day(d, inclusive=False)
        return d


def _at(d: date, t: time, tz: tzinfo | None) -> datetime:
    """``d`` at wall time ``t`` in ``tz``; a time skipped by a DST gap is normalised
    through UTC so the result always exists (Asia/Ho_Chi_Minh has no DST today)."""
    return datetime.combine(d, t, tzinfo=tz).astimezone(UTC).astimezone(tz)


def _require_aware(moment: datetime) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"timezone-aware datetime required, got {moment!r}")


@dataclass(frozen=True)
class SendWindow:
    """Daily hours [start, end) on working days in which reminders may go out.

    Moments are interpreted in their own timezone (the unit's tz).
    """

    start: time = time(8, 0)
    end: time = time(17, 0)

    def __post_init__(self) -> None:
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise ValueError("window times must be naive wall-clock times")
        if _minutes(self.end) - _minutes(self.start) < 1:
            raise ValueError("window must be at least one minute long")

    @property
    def last(self) -> time:
        """Latest minute inside the window: ``end`` minus one minute."""
        return (datetime.combine(date.min, self.end) - timedelta(minutes=1)).time()

    def contains(self, moment: datetime, cal: WorkCalendar) -> bool:
        _require_aware(moment)
        t = moment.time()
        return cal.is_working_day(moment.date()) and self.start <= t < self.end

    def at_or_before(self, moment: datetime, cal: WorkCalendar) -> datetime:
        """Where a reminder planned for ``moment`` goes: a reminder never goes out later
        than planned, and always inside the window.

        1. The day becomes the latest working day <= the planned day, keeping the time
           of day (Sat 08:00 -> Fri 08:00).
        2. The time is clamped into the window: at or after ``end`` -> ``end - 1 min``
           (Wed 19:00 -> Wed 16:59); before ``start`` -> ``start`` if the day was moved
           in step 1 (Sat 06:00 -> Fri 08:00, still earlier than planned).
        3. If that is later than planned (time before ``start`` on a working day), it goes
           to the previous working day at ``end - 1 min`` (Mon 06:00 -> Fri 16:59).
        """
        _require_aware(moment)
        tz = moment.tzinfo
        day = cal.previous_working_day(moment.date())
        t = moment.time()
        if t >= self.end:
            t = self.last
        elif t < self.start:
            t = self.start
        result = _at(day, t, tz)
        if result > moment:
            result = _at(cal.previous_working_day(day, inclusive=False), self.last, tz)
        return result

    def at_or_after(self, moment: datetime, cal: WorkCalendar) -> datetime:
        """Earliest moment >= ``moment`` inside the window, e.g. a dispatcher waking at
        22:00 on Friday holds the message until 08:00 on the next working day."""
        _require_aware(moment)
        if self.contains(moment, cal):
            return moment
        day = moment.date()
        if cal.is_working_day(day) and moment.time() < self.start:
            return _at(day, self.start, moment.tzinfo)
        return _at(cal.next_working_day(day, inclusive=False), self.start, moment.tzinfo)


def _minutes(t: time) -> float:
    return t.hour * 60 + t.minute + (t.second + t.microsecond / 1e6) / 60


@dataclass(frozen=True)
class Calendar:
    """What "a working moment" means: Vietnamese working days and the send window."""

    cal: WorkCalendar
    window: SendWindow


@cache
def shared_calendar(start: time, end: time) -> Calendar:
    """One per window: WorkCalendar loads holidays per year once, not on every message."""
    return Calendar(WorkCalendar(), SendWindow(start, end))
