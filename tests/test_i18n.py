"""Every message in the code has a Vietnamese translation; dates follow the member's language."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from bot.i18n import Translator, po_path

ROOT = Path(__file__).resolve().parent.parent
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}


def _messages_in_code() -> set[str]:
    found: set[str] = set()
    for folder in ("bot", "handlers", "scheduler"):
        for _file, _line, message, _comments, _ctx in extract_from_dir(
            ROOT / folder, method_map=[("**.py", "python")], keywords=KEYWORDS
        ):
            found.add(message[0] if isinstance(message, tuple) else message)
    return found


def test_every_message_has_a_vietnamese_translation() -> None:
    code = _messages_in_code()
    assert len(code) > 20  # the extraction itself works
    with po_path("vi").open("rb") as fh:
        catalog = read_po(fh, locale="vi")
    translated = {
        (m.id[0] if isinstance(m.id, tuple) else m.id)
        for m in catalog if m.id and m.string and (
            all(m.string) if isinstance(m.string, tuple) else True
        ) and not m.fuzzy
    }
    missing = sorted(code - translated)
    assert not missing, "untranslated (run pybabel extract/update, fill locales/vi):\n" + "\n".join(
        missing
    )


def test_placeholders_survive_translation() -> None:
    with po_path("vi").open("rb") as fh:
        catalog = read_po(fh, locale="vi")
    import re

    for m in catalog:
        if m.id and isinstance(m.id, str) and m.string:
            assert set(re.findall(r"{\w+}", m.id)) == set(re.findall(r"{\w+}", m.string)), m.id


def test_dates_in_member_language() -> None:
    assert Translator("vi").date(date(2026, 3, 8)) == "Chủ nhật, ngày 08/03/2026"
    assert Translator("en").date(date(2026, 3, 8)) == "Sunday, March 8, 2026"


def test_translation_switches_by_language() -> None:
    assert Translator("vi").gettext("Choose your language:") == "Chọn ngôn ngữ:"
    assert Translator("en").gettext("Choose your language:") == "Choose your language:"


def test_vietnamese_dates_and_ranges_follow_the_administrative_style() -> None:
    vi, en = Translator("vi"), Translator("en")
    assert vi.date(date(2026, 11, 30)) == "thứ Hai, ngày 30/11/2026"
    assert vi.date(date(2026, 11, 30), "long") == "30/11/2026"
    assert vi.date_range(date(2026, 11, 15), date(2026, 12, 15)) == \
        "từ ngày 15/11 đến ngày 15/12/2026"
    assert vi.date_range(date(2026, 12, 15), date(2027, 1, 15)) == \
        "từ ngày 15/12/2026 đến ngày 15/01/2027"
    assert en.date_range(date(2026, 11, 15), date(2026, 12, 15)) == \
        "November 15 – December 15, 2026"
