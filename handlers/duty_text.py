"""Limits and names shared by the duty commands."""

from __future__ import annotations

UPCOMING_DAYS = 60
CALENDAR_FILE = "lich-nhiem-vu.ics"
MAX_TITLE = 255
MAX_LETTER = 64
