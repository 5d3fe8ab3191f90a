"""Limits and names shared by the duty commands."""

from __future__ import annotations

from bot.services.duties import MAX_LETTER, MAX_TITLE

__all__ = ["CALENDAR_FILE", "MAX_LETTER", "MAX_TITLE", "UPCOMING_DAYS"]

UPCOMING_DAYS = 60
CALENDAR_FILE = "lich-nhiem-vu.ics"
