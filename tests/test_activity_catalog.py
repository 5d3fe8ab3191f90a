"""The activity catalog as data: every type sound, every duty answered by a type that exists
with values it can hold, and the numbers a report adds up."""

from __future__ import annotations

from datetime import date

import pytest

from bot.i18n import Translator
from bot.services import activities, duties
from bot.services.checkins import report_period
from handlers.checkins import FORMS, read_row

# The domain's list ("What members check in"): one type each.
TYPES = {"article", "communication", "training", "sent_training", "document", "mainstreaming",
         "model", "commendation", "inspection", "budget", "gbv_support", "cooperation",
         "profile", "difficulties"}


def test_every_type_of_the_domain_is_in_the_catalog_with_both_languages() -> None:
    catalog = activities.catalog()
    assert set(catalog) == TYPES
    vi, en = Translator("vi"), Translator("en")
    for kind in catalog.values():
        texts = [kind.label, *(t for f in kind.fields for t in (f.label, f.question)),
                 *(o.label for f in kind.fields for o in f.options)]
        for text in texts:
            assert vi.gettext(text) and en.gettext(text) == str(text)
            assert "_" not in vi.gettext(text), text  # no raw code shown to a person
        assert kind.code in FORMS


def test_only_counts_and_choices_in_the_gbv_support_type() -> None:
    """Never a name, never free text: nothing there can identify a victim."""
    kind = activities.get("gbv_support")
    assert kind is not None
    assert {f.kind for f in kind.fields} <= {"period", "count"}


def test_every_of_which_is_bounded_by_its_total() -> None:
    for kind in activities.catalog().values():
        for f in kind.fields:
            if f.name in ("women", "mainstreamed", "referred") or f.name.endswith("_women"):
                assert f.at_most is not None, (kind.code, f.name)


def test_each_duty_names_a_type_and_values_that_type_can_hold() -> None:
    answered = {}
    for entry in duties.catalog():
        if entry.activity is None:
            continue
        kind = activities.get(entry.activity)
        assert kind is not None, entry.code
        for name, value in (entry.match or {}).items():
            spec = kind.field(name)
            assert spec is not None and value in {o.value for o in spec.options}, entry.code
        answered[entry.code] = entry.activity
    assert answered["monthly_article"] == "article"
    assert answered["annual_training"] == "training"
    assert answered["annual_plan"] == "document"
    for code in ("womens_day_0803", "womens_day_2010", "family_day_2806", "dv_action_month",
                 "ge_action_month", "communication_union"):
        assert answered[code] == "communication"
    # The reports are the report flow's (next issue), not a check-in type.
    assert "half_year_report" not in answered and "annual_report" not in answered


def test_numbers_a_report_adds_up() -> None:
    kind = activities.get("communication")
    assert kind is not None
    values, errors = read_row(kind, {
        "dates": "18/10/2026", "title": "Tọa đàm", "mode": "lồng ghép", "format": "seminar",
        "organisers": "ban, cong_doan", "campaign": "vn_womens_day", "participants": "45",
        "women": "30"}, Translator("vi"), date(2026, 11, 30))
    assert errors == {}
    assert kind.numbers(values) == {
        "mode=integrated": 1, "format=seminar": 1, "organisers=ban": 1,
        "organisers=cong_doan": 1, "campaign=vn_womens_day": 1, "participants": 45, "women": 30}
    assert kind.dates(values) == (date(2026, 10, 18), date(2026, 10, 18))


@pytest.mark.parametrize("day, period", [
    (date(2026, 12, 14), (2026, 2)), (date(2026, 12, 15), (2027, 1)),
    (date(2027, 6, 14), (2027, 1)), (date(2027, 6, 15), (2027, 2)),
    (date(2027, 1, 1), (2027, 1)),
])
def test_the_administrative_reporting_period(day: date, period: tuple[int, int]) -> None:
    """Nghị định 09/2019: the year runs from 15/12 of the year before to 14/12."""
    assert report_period(day) == period
