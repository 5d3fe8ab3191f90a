"""Reading what people type: dates and days of the month, as chat and the command line take them."""

from __future__ import annotations

import calendar
import re
import unicodedata
from datetime import date

from scheduler import recurrence as rec

_ID = re.compile(r"#?(\d{1,9})", re.ASCII)  # ASCII digits only; always fits 32 bits


def parse_id(text: str) -> int | None:
    """A record number as people type it ("12", "#12"); None for anything else ("²", "1e9")."""
    m = _ID.fullmatch(text.strip())
    return int(m[1]) if m else None


def parse_int(text: str, low: int, high: int) -> int | None:
    """A whole number in [low, high] written with ASCII digits (and an optional sign)."""
    m = re.fullmatch(r"([+-]?)(\d{1,9})", text.strip(), re.ASCII)
    if m is None:
        return None
    value = int(m[1] + m[2])
    return value if low <= value <= high else None


def parse_day(text: str, year: int | None = None) -> date | None:
    """15/12/2026, 5/3/2026, 15.12.2026, 15-12-2026 or 2026-12-15 (or 5/3 given ``year``);
    None for anything else."""
    text = text.strip()
    if m := re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})", text, re.ASCII):
        y, mo, d = int(m[1]), int(m[2]), int(m[3])
    elif m := re.fullmatch(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})", text, re.ASCII):
        d, mo, y = int(m[1]), int(m[2]), int(m[3])
    elif year is not None and (m := re.fullmatch(r"(\d{1,2})[/.](\d{1,2})", text, re.ASCII)):
        d, mo, y = int(m[1]), int(m[2]), year
    else:
        return None
    try:
        return date(y, mo, d)
    except ValueError:
        return None


def parse_recent_day(text: str, today: date) -> date | None:
    """A day that has happened: like ``parse_day``, and "12/3" is the latest 12/3 up to
    today (last year's when this year's is still to come)."""
    day = parse_day(text)
    if day is not None:
        return day
    day = parse_day(text, today.year)
    if day is None and text.strip() in ("29/2", "29.2", "29/02", "29.02"):
        day = next((date(y, 2, 29) for y in range(today.year, today.year - 8, -1)
                    if calendar.isleap(y) and date(y, 2, 29) <= today), None)
    elif day is not None and day > today:
        day = parse_day(text, today.year - 1)
    return day


_QUARTERS = {1: (1, 3), 2: (4, 6), 3: (7, 9), 4: (10, 12)}


def _span(year: int, first_month: int, last_month: int) -> tuple[date, date]:
    last_day = calendar.monthrange(year, last_month)[1]
    return date(year, first_month, 1), date(year, last_month, last_day)


def parse_period(text: str) -> tuple[date, date] | None:
    """A calendar period, first and last day: ``2027``, ``2027-H1``, ``2027-Q1``, ``2027-03``,
    ``2027-01-01..2027-03-31``, and as Vietnamese write them: ``năm 2027``, ``6 tháng đầu năm
    2027``, ``6 tháng cuối năm 2027``, ``quý 1/2027``, ``tháng 3/2027``, ``3/2027``."""
    norm = " ".join(unicodedata.normalize("NFC", text).casefold().split())
    norm = norm.removeprefix("năm ").strip()
    if m := re.fullmatch(r"(\d{4})", norm, re.ASCII):
        return _span(int(m[1]), 1, 12)
    if m := re.fullmatch(r"(\d{4})-h([12])", norm, re.ASCII):
        return _span(int(m[1]), 1, 6) if m[2] == "1" else _span(int(m[1]), 7, 12)
    if m := re.fullmatch(r"6 tháng (đầu|cuối) năm (\d{4})", norm):
        return _span(int(m[2]), 1, 6) if m[1] == "đầu" else _span(int(m[2]), 7, 12)
    if m := (re.fullmatch(r"(\d{4})-q([1-4])", norm, re.ASCII)
             or re.fullmatch(r"quý ([1-4]|i|ii|iii|iv)[/ ](?:năm )?(\d{4})", norm)):
        year, q = (m[1], m[2]) if m[1].isdigit() and len(m[1]) == 4 else (m[2], m[1])
        quarter = {"i": 1, "ii": 2, "iii": 3, "iv": 4}.get(q) or int(q)
        return _span(int(year), *_QUARTERS[quarter])
    if m := (re.fullmatch(r"(\d{4})-(\d{1,2})", norm, re.ASCII)
             or re.fullmatch(r"(?:tháng )?(\d{1,2})[/-](\d{4})", norm)):
        year, month = (m[1], m[2]) if len(m[1]) == 4 else (m[2], m[1])
        if 1 <= int(month) <= 12:
            return _span(int(year), int(month), int(month))
        return None
    if m := re.fullmatch(r"(\S+)\s*\.\.\s*(\S+)", norm):
        start, end = parse_day(m[1]), parse_day(m[2])
        if start is not None and end is not None and start <= end:
            return start, end
    return None


def parse_month_day(text: str) -> tuple[int, int] | None:
    """'20/10' → (10, 20): month and day of a yearly duty, checked against a leap year."""
    m = re.fullmatch(r"(\d{1,2})/(\d{1,2})", text.strip(), re.ASCII)
    if m is None:
        return None
    try:
        rec.Recurrence.yearly(int(m[2]), int(m[1]))
    except ValueError:
        return None
    return int(m[2]), int(m[1])


def parse_month_day_of_month(text: str) -> int | None:
    """Day of a monthly duty: 1..31, or 'last' / -1 for the last day of the month."""
    text = text.strip().lower()
    if text in ("last", "cuối", "cuoi", "-1"):
        return -1
    if re.fullmatch(r"\d{1,2}", text, re.ASCII) and 1 <= int(text) <= 31:
        return int(text)
    return None
