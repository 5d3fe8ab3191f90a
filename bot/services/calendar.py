"""A unit's duty calendar: the due dates of its duties in a date range (pure, no database)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from bot.models import Duty
from bot.models import Occurrence as StoredOccurrence
from scheduler import recurrence as rec
from scheduler.workdays import WorkCalendar

# A nominal due date this far outside a range may still shift into it (Tết: 9 days off).
_SHIFT_MARGIN = timedelta(days=15)


@dataclass(frozen=True)
class DutyDate:
    """One due date of one duty."""

    duty: Duty
    occurrence: rec.Occurrence

    @property
    def is_range(self) -> bool:
        return self.duty.recurrence.get("kind") == "range"

    @classmethod
    def stored(cls, occ: StoredOccurrence) -> DutyDate:
        """The due date of an occurrence row; its key is the written due date in ISO form."""
        try:
            nominal = date.fromisoformat(occ.key)
        except ValueError:
            nominal = occ.due_on
        return cls(occ.duty, rec.Occurrence(occ.key, nominal, occ.due_on, occ.starts_on))


def occurrences_between(
    duties: Iterable[Duty], start: date, end: date, cal: WorkCalendar
) -> list[DutyDate]:
    """Due dates (after the weekend/holiday shift) in [start, end], by date then duty."""
    found: list[DutyDate] = []
    for duty in duties:
        rule = rec.Recurrence.from_dict(duty.recurrence)
        for occ in rec.occurrences(
            rule, start - _SHIFT_MARGIN, end + _SHIFT_MARGIN, cal, duty.shift  # type: ignore[arg-type]
        ):
            if start <= occ.due_on <= end:
                found.append(DutyDate(duty, occ))
    found.sort(key=lambda d: (d.occurrence.due_on, d.duty.id))
    return found


def next_due(duty: Duty, today: date, cal: WorkCalendar) -> DutyDate | None:
    """The duty's next due date from today (a year and a bit covers any yearly duty)."""
    found = occurrences_between([duty], today, today + timedelta(days=400), cal)
    return found[0] if found else None
