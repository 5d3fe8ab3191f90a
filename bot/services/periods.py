"""Reporting periods: calendar ones, and the administrative ones of Nghị định 09/2019/NĐ-CP
(data cut-off on the 14th: the year runs from 15/12 of the year before to 14/12, its first
half to 14/6, a quarter from the 15th of the month before it, a month from the 15th of the
month before)."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta

from bot.parsing import parse_period


@dataclass(frozen=True)
class Period:
    start: date
    end: date
    key: str  # as written: "2027", "2027-H1", "2027-Q1", "2027-03", "2027-01-01..2027-03-31"
    administrative: bool = False

    @property
    def kind(self) -> str:
        """year, half, quarter, month or custom."""
        if re.fullmatch(r"\d{4}", self.key):
            return "year"
        if re.fullmatch(r"\d{4}-H[12]", self.key):
            return "half"
        if re.fullmatch(r"\d{4}-Q[1-4]", self.key):
            return "quarter"
        if re.fullmatch(r"\d{4}-\d{2}", self.key):
            return "month"
        return "custom"

    @property
    def year(self) -> int:
        return int(self.key[:4]) if self.kind != "custom" else self.end.year

    def months(self) -> list[tuple[int, int]]:
        """(year, month) of every month the period touches: administrative months (15th to
        14th) for an administrative period, calendar months otherwise."""
        first, last = (self.start.year, self.start.month), (self.end.year, self.end.month)
        if self.administrative:
            first, last = admin_month(self.start), admin_month(self.end)
        found, (y, m) = [], first
        while (y, m) <= last:
            found.append((y, m))
            y, m = (y + 1, 1) if m == 12 else (y, m + 1)
        return found

    def year_before(self) -> Period:
        """The same period a year earlier ("cùng kỳ")."""
        if self.kind == "custom":
            return Period(_minus_year(self.start), _minus_year(self.end),
                          f"{_minus_year(self.start)}..{_minus_year(self.end)}")
        return period_of(str(self.year - 1) + self.key[4:], calendar_only=not self.administrative)


def admin_month(day: date) -> tuple[int, int]:
    """(year, month) of the administrative month holding ``day``: the 15th of the month
    before to the 14th, named by its last month (15/12/2026 is in January 2027)."""
    if day.day < 15:
        return day.year, day.month
    return (day.year + 1, 1) if day.month == 12 else (day.year, day.month + 1)


def _minus_year(day: date) -> date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29/2
        return day.replace(year=day.year - 1, day=28)


def _administrative(key: str, year: int, suffix: str) -> Period:
    """ND 09/2019 cut-off: each period starts on the 15th of the month before its first."""
    if suffix == "":
        first, last = (year - 1, 12), (year, 12)
    elif suffix in ("H1", "H2"):
        first, last = ((year - 1, 12), (year, 6)) if suffix == "H1" else ((year, 6), (year, 12))
    elif suffix.startswith("Q"):
        q = int(suffix[1])
        first = (year - 1, 12) if q == 1 else (year, 3 * q - 3)
        last = (year, 3 * q)
    else:
        month = int(suffix)
        first = (year - 1, 12) if month == 1 else (year, month - 1)
        last = (year, month)
    return Period(date(*first, 15), date(*last, 14), key, administrative=True)


def _key(start: date, end: date) -> str | None:
    """The written form of a calendar year, half, quarter or month; None for other spans."""
    y = start.year
    if end.year != y or start.day != 1 or end != month_end(y, end.month):
        return None
    months = (start.month, end.month)
    named = {(1, 12): "", (1, 6): "-H1", (7, 12): "-H2", (1, 3): "-Q1", (4, 6): "-Q2",
             (7, 9): "-Q3", (10, 12): "-Q4"}
    if months in named:
        return f"{y}{named[months]}"
    return f"{y}-{start.month:02d}" if start.month == end.month else None


def period_of(text: str, *, calendar_only: bool = False) -> Period:
    """A period as people write it (``2027``, ``2027-H1``, ``quý 1/2027``, ``tháng 3/2027``,
    ``2027-01-01..2027-03-31``). Years and halves are administrative (15/12 – 14/12,
    15/12 – 14/6), as the 6-month and annual reports are, unless ``calendar_only``;
    quarters, months and date ranges are calendar ones. Raises ValueError otherwise."""
    span = parse_period(text)
    if span is None:
        raise ValueError(text)
    key = None if ".." in text else _key(*span)
    if key is None:
        return Period(*span, key=f"{span[0].isoformat()}..{span[1].isoformat()}")
    suffix = key[5:]
    if not calendar_only and (suffix == "" or suffix.startswith("H")):
        return _administrative(key, int(key[:4]), suffix)
    return Period(*span, key=key)


def last_month(today: date) -> Period:
    """The calendar month before today's (the monthly summary's)."""
    end = today.replace(day=1) - timedelta(days=1)
    return Period(end.replace(day=1), end, f"{end.year}-{end.month:02d}")


def month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])
