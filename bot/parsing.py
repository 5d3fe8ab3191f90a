"""Reading what people type: dates and days of the month, as chat and the command line take them."""

from __future__ import annotations

import re
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
