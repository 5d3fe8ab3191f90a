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


_VI_WEEKDAYS = ("thứ Hai", "thứ Ba", "thứ Tư", "thứ Năm", "thứ Sáu", "thứ Bảy", "Chủ nhật")
_VI_DATES = {
    "full": lambda d: f"{_VI_WEEKDAYS[d.weekday()]}, ngày {d:%d/%m/%Y}",
    "long": lambda d: f"{d:%d/%m/%Y}",
    "short": lambda d: f"{d:%d/%m}",
    "EEEE": lambda d: _VI_WEEKDAYS[d.weekday()],
}


class Local(str):
    """A text that carries its own translations, from a data file rather than the .po catalog
    (e.g. the activity catalog): its value is the English text, ``gettext`` picks the rest."""

    translations: dict[str, str]

    def __new__(cls, translations: dict[str, str]) -> Local:
        text = super().__new__(cls, translations["en"])
        text.translations = translations
        return text


class Translator:
    """Everything one reply needs for one language: messages, dates, numbers."""

    def __init__(self, lang: str) -> None:
        self.lang = lang if lang in LANGUAGES else "vi"
        self._t = _translations(self.lang)
        self.locale = Locale.parse(self.lang)

    def gettext(self, message: str) -> str:
        if isinstance(message, Local):
            return message.translations.get(self.lang, str(message))
        return self._t.gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self._t.ngettext(singular, plural, n)

    def date(self, value: date, fmt: str = "full") -> str:
        """"full" has the weekday; "long" is the date; "short" leaves out the year. Vietnamese
        is written as administrative texts write it: "thứ Hai, ngày 30/11/2026"."""
        if self.lang == "vi" and fmt in _VI_DATES:
            return _VI_DATES[fmt](value)
        return format_date(value, fmt, locale=self.locale)

    def date_range(self, start: date, end: date) -> str:
        """"từ ngày 15/11 đến ngày 15/12/2026"; "November 15 – December 15, 2026"."""
        if self.lang == "vi":
            first = f"{start:%d/%m}" if start.year == end.year else f"{start:%d/%m/%Y}"
            return f"từ ngày {first} đến ngày {end:%d/%m/%Y}"
        first = format_date(start, "MMMM d" if start.year == end.year else "long",
                            locale=self.locale)
        return f"{first} – {format_date(end, 'long', locale=self.locale)}"

    def datetime(self, value: datetime, fmt: str = "medium", tz: tzinfo | None = None) -> str:
        return format_datetime(value, fmt, tzinfo=tz, locale=self.locale)

    def time(self, value: datetime, fmt: str = "short", tz: tzinfo | None = None) -> str:
        return format_time(value, fmt, tzinfo=tz, locale=self.locale)

    def number(self, value: float) -> str:
        return format_decimal(value, locale=self.locale)
