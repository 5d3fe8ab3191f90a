"""Small texts several handlers share."""

from __future__ import annotations

LANGUAGE_NAMES = {"vi": "Tiếng Việt", "en": "English"}
