from datetime import UTC, date, datetime, time, timedelta

import pytest

from scheduler.workdays import DEFAULT_TZ, EXTRA_HOLIDAY_NAME, SendWindow, WorkCalendar

TZ = DEFAULT_TZ


def at(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=TZ)


# --- WorkCalendar ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "d",
    [
        date(2026, 1, 1),  # New Year
        *(date(2026, 2, day) for day in range(16, 21)),  # Tết, Mon 16 .. Fri 20 Feb
        date(2026, 4, 27),  # Hùng Kings (26/4 is a Sunday) observed on Monday
        date(2026, 4, 30),
        date(2026, 5, 1),
        date(2026, 8, 31),  # day off swapped with Saturday 22/8
        date(2026, 9, 1),
        date(2026, 9, 2),
        date(2026, 11, 24),  # Vietnam Cultural Day, new from 2026
    ],
)
def test_public_holidays_2026_are_not_working_days(d: date) -> None:
    cal = WorkCalendar()
    assert d.weekday() < 5
    assert not cal.is_working_day(d)
    assert cal.holiday_name(d)


def test_holiday_names_are_vietnamese_by_default() -> None:
    assert WorkCalendar().holiday_name(date(2026, 2, 17)) == "Tết Nguyên Đán"
    assert WorkCalendar(language="en_US").holiday_name(date(2026, 9, 2)) == "National Day"
    assert WorkCalendar().holiday_name(date(2026, 3, 4)) is None


def test_weekdays_weekends() -> None:
    cal = WorkCalendar()
    assert cal.is_working_day(date(2026, 3, 6))  # Friday
    assert not cal.is_working_day(date(2026, 3, 7))  # Saturday
    assert not cal.is_working_day(date(2026, 3, 8))  # Sunday
    assert not cal.is_working_day(date(2026, 2, 14))  # Saturday before Tết


def test_decreed_working_saturdays_from_the_library() -> None:
    cal = WorkCalendar()
    assert cal.is_working_day(date(2026, 8, 22))  # worked in exchange for Mon 31/8
    assert cal.is_working_day(date(2025, 4, 26))  # worked in exchange for Fri 2/5/2025
    # Decreed in the 2018 schedule (31/12/2018 off) but falls in 2019.
    assert cal.is_working_day(date(2019, 1, 5))
    assert not cal.is_working_day(date(2026, 8, 29))


def test_extra_workdays_and_holidays() -> None:
    saturday, wednesday = date(2026, 3, 14), date(2026, 3, 11)
    cal = WorkCalendar(extra_workdays=[saturday], extra_holidays=[wednesday])
    assert cal.is_working_day(saturday)
    assert not cal.is_working_day(wednesday)
    assert cal.holiday_name(wednesday) == EXTRA_HOLIDAY_NAME
    assert cal.next_working_day(date(2026, 3, 13), inclusive=False) == saturday

    named = WorkCalendar(extra_holidays={wednesday: "Đại hội"})
    assert named.holiday_name(wednesday) == "Đại hội"
    # An explicit working day overrides even a public holiday.
    assert WorkCalendar(extra_workdays=[date(2026, 9, 1)]).is_working_day(date(2026, 9, 1))


def test_extra_day_cannot_be_both() -> None:
    with pytest.raises(ValueError):
        WorkCalendar(extra_workdays=[date(2026, 3, 14)], extra_holidays=[date(2026, 3, 14)])


def test_previous_and_next_working_day_around_tet() -> None:
    cal = WorkCalendar()
    assert cal.previous_working_day(date(2026, 2, 18)) == date(2026, 2, 13)
    assert cal.next_working_day(date(2026, 2, 14)) == date(2026, 2, 23)
    assert cal.previous_working_day(date(2026, 2, 13)) == date(2026, 2, 13)
    assert cal.previous_working_day(date(2026, 2, 13), inclusive=False) == date(2026, 2, 12)
    assert cal.next_working_day(date(2026, 2, 23), inclusive=False) == date(2026, 2, 24)
    # 30/4 and 1/5 are Thu/Fri, then a weekend.
    assert cal.next_working_day(date(2026, 4, 30)) == date(2026, 5, 4)
    # 31/8 (swapped), 1/9, 2/9 off; back on Thursday 3/9.
    assert cal.next_working_day(date(2026, 8, 29)) == date(2026, 9, 3)


def test_add_working_days() -> None:
    cal = WorkCalendar()
    assert cal.add_working_days(date(2026, 2, 13), 1) == date(2026, 2, 23)
    assert cal.add_working_days(date(2026, 2, 23), -1) == date(2026, 2, 13)
    assert cal.add_working_days(date(2026, 3, 7), 1) == date(2026, 3, 9)  # Sat + 1 = Mon
    assert cal.add_working_days(date(2026, 3, 7), -1) == date(2026, 3, 6)
    assert cal.add_working_days(date(2026, 3, 2), 5) == date(2026, 3, 9)
    assert cal.add_working_days(date(2026, 3, 7), 0) == date(2026, 3, 7)


# --- SendWindow -----------------------------------------------------------------------


def test_contains() -> None:
    cal, w = WorkCalendar(), SendWindow()
    assert w.contains(at(2026, 3, 4, 8, 0), cal)
    assert w.contains(at(2026, 3, 4, 16, 59), cal)
    assert not w.contains(at(2026, 3, 4, 17, 0), cal)
    assert not w.contains(at(2026, 3, 4, 7, 59), cal)
    assert not w.contains(at(2026, 3, 7, 10, 0), cal)  # Saturday
    assert not w.contains(at(2026, 2, 17, 10, 0), cal)  # Tết


def test_at_or_before_examples() -> None:
    cal, w = WorkCalendar(), SendWindow()
    # Saturday 08:00 -> Friday, same time of day.
    assert w.at_or_before(at(2026, 3, 7, 8, 0), cal) == at(2026, 3, 6, 8, 0)
    # Wednesday 19:00 -> just inside the end the same day.
    assert w.at_or_before(at(2026, 3, 4, 19, 0), cal) == at(2026, 3, 4, 16, 59)
    # Monday 06:00: 08:00 Monday would be late, so the previous working day's end.
    assert w.at_or_before(at(2026, 3, 9, 6, 0), cal) == at(2026, 3, 6, 16, 59)
    # Saturday 06:00: moved to Friday, clamped to the window start (still earlier).
    assert w.at_or_before(at(2026, 3, 7, 6, 0), cal) == at(2026, 3, 6, 8, 0)
    # Tết: Wed 18/2 -> Fri 13/2 (14-15/2 weekend, 16-20/2 Tết).
    assert w.at_or_before(at(2026, 2, 18, 9, 0), cal) == at(2026, 2, 13, 9, 0)
    assert w.at_or_before(at(2026, 2, 23, 6, 0), cal) == at(2026, 2, 13, 16, 59)
    # National Day 2/9 -> Fri 28/8 (29-30/8 weekend, 31/8 swapped day off, 1/9 holiday).
    assert w.at_or_before(at(2026, 9, 2, 9, 0), cal) == at(2026, 8, 28, 9, 0)
    # Already inside: unchanged.
    inside = at(2026, 3, 4, 10, 30)
    assert w.at_or_before(inside, cal) == inside


def test_at_or_after_examples() -> None:
    cal, w = WorkCalendar(), SendWindow()
    assert w.at_or_after(at(2026, 3, 6, 22, 0), cal) == at(2026, 3, 9, 8, 0)  # Fri night
    assert w.at_or_after(at(2026, 3, 4, 6, 0), cal) == at(2026, 3, 4, 8, 0)
    assert w.at_or_after(at(2026, 3, 4, 17, 0), cal) == at(2026, 3, 5, 8, 0)
    assert w.at_or_after(at(2026, 2, 13, 17, 0), cal) == at(2026, 2, 23, 8, 0)  # Tết
    assert w.at_or_after(at(2026, 4, 30, 10, 0), cal) == at(2026, 5, 4, 8, 0)
    inside = at(2026, 3, 4, 10, 30)
    assert w.at_or_after(inside, cal) == inside


def test_extra_workday_saturday_opens_the_window() -> None:
    cal = WorkCalendar(extra_workdays=[date(2026, 3, 7)])
    w = SendWindow()
    assert w.contains(at(2026, 3, 7, 9, 0), cal)
    assert w.at_or_after(at(2026, 3, 6, 22, 0), cal) == at(2026, 3, 7, 8, 0)
    assert w.at_or_before(at(2026, 3, 8, 9, 0), cal) == at(2026, 3, 7, 9, 0)


def test_window_results_are_inside_and_on_the_right_side() -> None:
    cal, w = WorkCalendar(), SendWindow(time(8, 30), time(11, 30))
    moment = at(2026, 2, 1)
    while moment < at(2026, 3, 15):
        before, after = w.at_or_before(moment, cal), w.at_or_after(moment, cal)
        assert before <= moment <= after
        assert w.contains(before, cal) and w.contains(after, cal)
        assert before.tzinfo is TZ and after.tzinfo is TZ
        # at_or_after is the earliest such moment: a minute earlier is outside or too early.
        assert after == moment or not w.contains(after - timedelta(minutes=1), cal)
        moment += timedelta(minutes=97)


def test_calendar_logic_uses_the_moments_timezone() -> None:
    cal, w = WorkCalendar(), SendWindow()
    # 01:30 UTC Friday is 08:30 in Hanoi: inside for the VN unit, outside for a UTC one.
    utc_moment = datetime(2026, 3, 6, 1, 30, tzinfo=UTC)
    assert w.contains(utc_moment.astimezone(TZ), cal)
    assert not w.contains(utc_moment, cal)
    assert w.at_or_after(utc_moment, cal) == datetime(2026, 3, 6, 8, 0, tzinfo=UTC)


def test_naive_and_invalid_inputs_rejected() -> None:
    cal, w = WorkCalendar(), SendWindow()
    with pytest.raises(ValueError):
        w.contains(datetime(2026, 3, 4, 9, 0), cal)
    with pytest.raises(ValueError):
        w.at_or_before(datetime(2026, 3, 4, 9, 0), cal)
    with pytest.raises(ValueError):
        SendWindow(time(17, 0), time(8, 0))
    assert SendWindow(time(8, 0), time(8, 1)).last == time(8, 0)
