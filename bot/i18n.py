"""Translations and locale-aware formatting for the member's language."""

from __future__ import annotations

from datetime import date, datetime, tzinfo
from functools import cache
from io import BytesIO
from pathlib import Path

from babel import Locale
from babel.dates import format_date, format_datetime, format_time
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import NullTranslations, Translations

import locales
from bot.config import LANGUAGES

LOCALES_DIR = Path(locales.__file__).parent
DOMAIN = "messages"


def N_(message: str) -> str:
    """Mark a string for extraction; it is translated later, where the language is known."""
    return message


def po_path(lang: str) -> Path:
    return LOCALES_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def _translations(lang: str) -> NullTranslations:
    path = po_path(lang)
    if not path.exists():
        return NullTranslations()
    with path.open("rb") as fh:
        catalog = read_po(fh, locale=lang)
    buf = BytesIO()
    write_mo(buf, catalog)
    buf.seek(0)
    return Translations(fp=buf, domain=DOMAIN)


def normalize_language(code: str | None, default: str) -> str:
    """Map a platform language hint (e.g. 'en-US') to a supported language."""
    if code:
        base = code.split("-")[0].split("_")[0].lower()
        if base in LANGUAGES:
            return base
    return default


class Translator:
    """Everything one reply needs for one language: messages, dates, numbers."""

    def __init__(self, lang: str) -> None:
        self.lang = lang if lang in LANGUAGES else "vi"
        self._t = _translations(self.lang)
        self.locale = Locale.parse(self.lang)

    def gettext(self, message: str) -> str:
        return self._t.gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self._t.ngettext(singular, plural, n)

    def date(self, value: date, fmt: str = "full") -> str:
        return format_date(value, fmt, locale=self.locale)

    def datetime(self, value: datetime, fmt: str = "medium", tz: tzinfo | None = None) -> str:
        return format_datetime(value, fmt, tzinfo=tz, locale=self.locale)

    def time(self, value: datetime, fmt: str = "short", tz: tzinfo | None = None) -> str:
        return format_time(value, fmt, tzinfo=tz, locale=self.locale)

    def number(self, value: float) -> str:
        return format_decimal(value, locale=self.locale)
