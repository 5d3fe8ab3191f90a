import json
from datetime import UTC, date, datetime, time

import pytest

from bot.i18n import Translator
from bot.views.duties import describe_rule
from scheduler.recurrence import (
    Occurrence,
    Recurrence,
    Stage,
    is_stale,
    occurrences,
    plan_reminders,
)
from scheduler.workdays import DEFAULT_TZ, SendWindow, WorkCalendar

TZ = DEFAULT_TZ
Y2026 = (date(2026, 1, 1), date(2026, 12, 31))


def at(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=TZ)


@pytest.fixture(scope="module")
def cal() -> WorkCalendar:
    return WorkCalendar()


def only(rule: Recurrence, cal: WorkCalendar, shift: str = "previous") -> Occurrence:
    (occ,) = occurrences(rule, *Y2026, cal, shift)  # type: ignore[arg-type]
    return occ


# --- occurrences ----------------------------------------------------------------------


def test_yearly_on_sunday_moves_to_friday(cal: WorkCalendar) -> None:
    occ = only(Recurrence.yearly(3, 8), cal)  # 8/3/2026 is a Sunday
    assert occ == Occurrence("2026-03-08", date(2026, 3, 8), date(2026, 3, 6), date(2026, 3, 6))


def test_shift_policies(cal: WorkCalendar) -> None:
    rule = Recurrence.yearly(3, 8)
    assert only(rule, cal, "next").due_on == date(2026, 3, 9)
    assert only(rule, cal, "none").due_on == date(2026, 3, 8)
    assert only(rule, cal, "next").key == "2026-03-08"  # key is the nominal date
    with pytest.raises(ValueError):
        only(rule, cal, "nearest")


@pytest.mark.parametrize(
    ("month", "day", "due_on"),
    [
        (10, 20, date(2026, 10, 20)),  # Vietnamese Women's Day, a Tuesday
        (9, 2, date(2026, 8, 28)),  # 1-2/9 holidays, 31/8 swapped off, 29-30/8 weekend
        (5, 1, date(2026, 4, 29)),  # 30/4 and 1/5 holidays
        (2, 18, date(2026, 2, 13)),  # Tết 16-20/2, weekend 14-15/2
        (2, 29, date(2026, 2, 27)),  # clamped to 28/2 (Saturday) in a common year
    ],
)
def test_yearly_dates_2026(cal: WorkCalendar, month: int, day: int, due_on: date) -> None:
    assert only(Recurrence.yearly(month, day), cal).due_on == due_on


def test_monthly_last_day(cal: WorkCalendar) -> None:
    occs = occurrences(Recurrence.monthly(-1), date(2026, 2, 1), date(2026, 4, 30), cal)
    assert [(o.nominal_due, o.due_on) for o in occs] == [
        (date(2026, 2, 28), date(2026, 2, 27)),  # 28/2 is a Saturday
        (date(2026, 3, 31), date(2026, 3, 31)),
        (date(2026, 4, 30), date(2026, 4, 29)),  # Reunification Day
    ]
    assert [o.starts_on for o in occs] == [o.due_on for o in occs]


def test_monthly_day_is_clamped_and_window_filters(cal: WorkCalendar) -> None:
    occs = occurrences(Recurrence.monthly(31), date(2026, 1, 31), date(2026, 3, 30), cal)
    assert [o.key for o in occs] == ["2026-01-31", "2026-02-28"]
    assert occurrences(Recurrence.monthly(5), date(2026, 3, 6), date(2026, 4, 4), cal) == []
    assert occurrences(Recurrence.monthly(5), date(2026, 4, 5), date(2026, 3, 1), cal) == []


def test_range_start_is_not_shifted(cal: WorkCalendar) -> None:
    occ = only(Recurrence.range(11, 15, 12, 15), cal)
    assert occ.starts_on == date(2026, 11, 15)  # a Sunday, kept as written
    assert occ.nominal_due == occ.due_on == date(2026, 12, 15)


def test_range_wrapping_year_end_belongs_to_due_year(cal: WorkCalendar) -> None:
    rule = Recurrence.range(12, 15, 1, 15)
    occs = occurrences(rule, date(2026, 1, 1), date(2027, 12, 31), cal)
    assert [(o.key, o.starts_on, o.due_on) for o in occs] == [
        ("2026-01-15", date(2025, 12, 15), date(2026, 1, 15)),
        ("2027-01-15", date(2026, 12, 15), date(2027, 1, 15)),
    ]


def test_range_start_never_after_shifted_due(cal: WorkCalendar) -> None:
    occ = only(Recurrence.range(3, 7, 3, 8), cal)
    assert occ.due_on == occ.starts_on == date(2026, 3, 6)


def test_once(cal: WorkCalendar) -> None:
    rule = Recurrence.once(date(2026, 9, 1))
    assert only(rule, cal).due_on == date(2026, 8, 28)
    assert occurrences(rule, date(2027, 1, 1), date(2027, 12, 31), cal) == []


# --- Recurrence serialisation and validation ------------------------------------------


@pytest.mark.parametrize(
    ("rule", "data", "text"),
    [
        (Recurrence.monthly(-1), {"kind": "monthly", "day": -1}, "every month, on its last day"),
        (Recurrence.yearly(10, 20), {"kind": "yearly", "month": 10, "day": 20},
         "every year on 20/10"),
        (
            Recurrence.range(11, 15, 12, 15),
            {"kind": "range", "start_month": 11, "start_day": 15, "month": 12, "day": 15},
            "every year from 15/11 to 15/12",
        ),
        (
            Recurrence.once(date(2026, 3, 8)),
            {"kind": "once", "on": "2026-03-08"},
            "once, on March 8, 2026",
        ),
    ],
)
def test_to_from_dict_and_describe(rule: Recurrence, data: dict, text: str) -> None:
    assert rule.to_dict() == data
    assert Recurrence.from_dict(json.loads(json.dumps(rule.to_dict()))) == rule
    assert describe_rule(Translator("en"), rule.to_dict()) == text


@pytest.mark.parametrize(
    "make",
    [
        lambda: Recurrence.monthly(0),
        lambda: Recurrence.monthly(32),
        lambda: Recurrence.yearly(2, 30),
        lambda: Recurrence.yearly(13, 1),
        lambda: Recurrence.range(11, 31, 12, 15),
        lambda: Recurrence("weekly"),  # type: ignore[arg-type]
        lambda: Recurrence("monthly", month=2, day=1),
        lambda: Recurrence("once"),
        lambda: Recurrence.from_dict({"kind": "monthly", "day": 1, "every": 2}),
    ],
)
def test_invalid_rules(make) -> None:
    with pytest.raises(ValueError):
        make()


# --- stages ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "offset", "anchor", "name"),
    [
        ("-14", -14, "due", "before-14"),
        ("0", 0, "due", "due"),
        ("+2", 2, "due", "overdue-2"),
        ("2", 2, "due", "overdue-2"),
        (" start-7 ", -7, "start", "start-7"),
        ("start", 0, "start", "start"),
        ("start+3", 3, "start", "start+3"),
        ("before-14", -14, "due", "before-14"),
        ("overdue-2", 2, "due", "overdue-2"),
        ("due", 0, "due", "due"),
    ],
)
def test_stage_parse(text: str, offset: int, anchor: str, name: str) -> None:
    stage = Stage.parse(text)
    assert (stage.offset_days, stage.anchor, stage.name) == (offset, anchor, name)
    assert Stage.parse(stage.name) == stage  # names round-trip


@pytest.mark.parametrize("text", ["", "abc", "before-0", "start-", "-1.5", "due+1"])
def test_stage_parse_invalid(text: str) -> None:
    with pytest.raises(ValueError):
        Stage.parse(text)


def test_stage_parse_list() -> None:
    assert [s.name for s in Stage.parse_list("-14,-3,0,+2")] == [
        "before-14",
        "before-3",
        "due",
        "overdue-2",
    ]
    assert Stage.parse_list(" -7 , start ,") == (Stage(-7), Stage(0, "start"))
    with pytest.raises(ValueError):
        Stage.parse_list("-3,0,due")


# --- planning -------------------------------------------------------------------------


def plan(occ: Occurrence, stages: str, cal: WorkCalendar, send_time: time = time(9, 0)):
    return plan_reminders(
        occ,
        Stage.parse_list(stages),
        send_time=send_time,
        window=SendWindow(),
        cal=cal,
        tz=TZ,
    )


def test_plan_womens_day_2026(cal: WorkCalendar) -> None:
    occ = only(Recurrence.yearly(3, 8), cal)
    planned = plan(occ, "+2,0,-3,-14", cal)
    assert [(r.stage.name, r.nominal_at, r.send_at) for r in planned] == [
        # 20/2 is Tết; 14-15/2 weekend, so Friday 13/2.
        ("before-14", at(2026, 2, 20, 9), at(2026, 2, 13, 9)),
        ("before-3", at(2026, 3, 3, 9), at(2026, 3, 3, 9)),
        ("due", at(2026, 3, 6, 9), at(2026, 3, 6, 9)),
        # Overdue lands on Sunday 8/3: it moves forward, to the next working moment.
        ("overdue-2", at(2026, 3, 8, 9), at(2026, 3, 9, 8)),
    ]
    assert planned[0].key == "2026-03-08:before-14"


def test_plan_send_time_outside_window(cal: WorkCalendar) -> None:
    occ = only(Recurrence.yearly(3, 8), cal)
    early = plan(occ, "-3", cal, send_time=time(7, 0))
    assert early[0].send_at == at(2026, 3, 2, 16, 59)  # 08:00 on 3/3 would be late
    late = plan(occ, "-3", cal, send_time=time(18, 0))
    assert late[0].send_at == at(2026, 3, 3, 16, 59)


def test_plan_start_anchor(cal: WorkCalendar) -> None:
    occ = only(Recurrence.range(11, 15, 12, 15), cal)
    planned = plan(occ, "start-7,start,-3", cal)
    assert [(r.stage.name, r.send_at) for r in planned] == [
        ("start-7", at(2026, 11, 6, 9)),  # Sunday 8/11 -> Friday
        ("start", at(2026, 11, 13, 9)),  # Sunday 15/11 -> Friday
        ("before-3", at(2026, 12, 11, 9)),  # Saturday 12/12 -> Friday
    ]


# --- staleness ------------------------------------------------------------------------


def test_is_stale(cal: WorkCalendar) -> None:
    occ = only(Recurrence.yearly(3, 8), cal)  # due Friday 6/3
    before14, before3, due, overdue = plan(occ, "-14,-3,0,+2", cal)
    sends = [r.send_at for r in (before14, before3, due, overdue)]

    # Sent late on 3/3 at 08:00 after downtime: the -3 stage (09:00) is not yet due.
    assert not is_stale(before14, at(2026, 3, 3, 8, 0), sends)
    # Once the -3 stage has become due, the -14 one is superseded.
    assert is_stale(before14, at(2026, 3, 3, 9, 0), sends)
    # A before-deadline reminder dies when the due day begins, even if nothing later is due.
    assert not is_stale(before3, at(2026, 3, 5, 23, 59), [])
    assert is_stale(before3, at(2026, 3, 6, 0, 0), [])
    # Same instant in UTC: 17:00Z on 5/3 is midnight of 6/3 in Hanoi.
    assert is_stale(before3, datetime(2026, 3, 5, 17, 0, tzinfo=UTC), [])
    # "due" and "overdue-2" share a send_at: neither makes the other stale.
    assert not is_stale(due, at(2026, 3, 6, 12, 0), sends)
    assert not is_stale(overdue, at(2026, 3, 9, 12, 0), sends)
    # A due-day reminder is superseded by a strictly later stage that is due.
    later = [at(2026, 3, 9, 9, 0)]
    assert not is_stale(due, at(2026, 3, 9, 8, 0), later)
    assert is_stale(due, at(2026, 3, 9, 9, 0), later)
    with pytest.raises(ValueError):
        is_stale(due, datetime(2026, 3, 6, 12, 0), sends)
