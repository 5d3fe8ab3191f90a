"""Typed form fields: how an answer is read, checked, stored as JSON and shown back.

Every text here is a msgid, translated where the member's language is known; texts may hold
``{placeholders}`` filled from the form's ``args`` (e.g. ``{unit}``).
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from bot.i18n import N_
from bot.parsing import parse_day, parse_period, parse_recent_day

if TYPE_CHECKING:
    from bot.i18n import Translator
    from handlers.turn import Turn


class FieldError(Exception):
    """A bad answer: ``reason`` is a msgid, ``args`` its already formatted placeholders."""

    def __init__(self, reason: str, **args: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.args_ = args


class _Blank(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def fill(text: str, args: Mapping[str, Any]) -> str:
    """``text.format(**args)``, leaving unknown ``{names}`` as they are."""
    if not args or "{" not in text:
        return text
    return string.Formatter().vformat(text, (), _Blank(args))


@dataclass
class Ctx:
    """What a field sees while reading or showing an answer: in chat, or on the command line
    (``turn`` None) where a file's rows are read with the same rules."""

    t: Translator
    day: date  # today where the member's unit works
    values: dict[str, Any]  # typed answers so far (None: skipped)
    args: dict[str, Any]  # the form's placeholders
    labels: dict[str, str]  # field name → label msgid
    turn: Turn | None = None

    def text(self, msgid: str, **args: Any) -> str:
        """Translate a msgid and fill its placeholders (the form's, then these)."""
        return fill(self.t.gettext(msgid), {**self.args, **args})

    def label(self, name: str) -> str:
        return self.text(self.labels[name])

    def reason(self, error: FieldError) -> str:
        return self.text(error.reason, **error.args_)

    def today(self) -> date:
        return self.day


Line = Callable[[Ctx, Any], str]


@dataclass(frozen=True, kw_only=True)
class Field:
    name: str
    question: str  # msgid: what is asked
    label: str  # msgid: the field's short name in the summary and the "change" list
    optional: bool = False
    # Needed after all when another field holds one of these values (a link for an article
    # published online).
    needed_if: tuple[str, tuple[str, ...]] | None = None
    # The field's summary line(s), instead of "label: value" (value None when skipped).
    line: Line | None = None

    def needed(self, ctx: Ctx) -> bool:
        """May this field be left empty, given the other answers?"""
        if self.needed_if is not None and ctx.values.get(self.needed_if[0]) in self.needed_if[1]:
            return True
        return not self.optional

    def parse(self, text: str, ctx: Ctx) -> Any:
        """The typed value of a non-empty, stripped answer, or raise FieldError."""
        raise NotImplementedError

    def check(self, value: Any, ctx: Ctx) -> None:
        """Rules that depend on time or other answers; run on answering and again on saving."""

    def to_json(self, value: Any) -> Any:
        return value

    def from_json(self, raw: Any) -> Any:
        return raw

    def display(self, value: Any, ctx: Ctx) -> str:
        return str(value)


# --- free text ---------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Text(Field):
    max_len: int = 255

    def parse(self, text: str, ctx: Ctx) -> str:
        if len(text) > self.max_len:
            raise FieldError(N_("That is too long: at most {max} characters, and this has {n}."),
                             max=str(self.max_len), n=str(len(text)))
        return text


# --- numbers and money -------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Count(Field):
    """A whole number ≥ 0 in ASCII digits, at most ``maximum`` and at most field ``at_most``."""

    at_most: str | None = None
    minimum: int = 0
    maximum: int = 10**9

    def parse(self, text: str, ctx: Ctx) -> int:
        if not re.fullmatch(r"[0-9]+", text):
            raise FieldError(N_("Please write a whole number (0 or more) in digits, like 45."))
        if len(text.lstrip("0")) > len(str(self.maximum)) or int(text) > self.maximum:
            raise FieldError(N_("That number is too large (at most {max})."),
                             max=ctx.t.number(self.maximum))
        if int(text) < self.minimum:
            raise FieldError(N_("This must be at least {min}."), min=str(self.minimum))
        return int(text)

    def check(self, value: int, ctx: Ctx) -> None:
        limit = ctx.values.get(self.at_most) if self.at_most else None
        if limit is not None and value > limit:
            assert self.at_most is not None
            raise FieldError(N_("This cannot be more than “{other}” ({limit})."),
                             other=ctx.label(self.at_most), limit=ctx.t.number(limit))

    def display(self, value: int, ctx: Ctx) -> str:
        return ctx.t.number(value)


_SCALES = {
    "k": 1000, "nghìn": 1000, "nghin": 1000, "ngàn": 1000, "ngan": 1000,
    "tr": 10**6, "triệu": 10**6, "trieu": 10**6, "tỷ": 10**9, "tỉ": 10**9, "ty": 10**9,
}
_CURRENCY = re.compile(r"\s*(?:đồng|dong|vnđ|vnd|đ)\.?$", re.IGNORECASE)


@dataclass(frozen=True, kw_only=True)
class Money(Field):
    """Whole đồng: 1500000, 1.500.000, 1,500,000, 1 500 000, 1,5 triệu, 2 tr, 500k."""

    maximum: int = 10**15

    def parse(self, text: str, ctx: Ctx) -> int:
        amount = self._read(_CURRENCY.sub("", text.casefold()).strip())
        if amount is None:
            raise FieldError(N_("Please write the amount in đồng, like 1.500.000 or 1,5 triệu."))
        if amount > self.maximum:
            raise FieldError(N_("That amount is too large."))
        return amount

    @staticmethod
    def _read(text: str) -> int | None:
        if re.fullmatch(r"[0-9]{1,18}", text):
            return int(text)
        if re.fullmatch(r"[0-9]{1,3}(?:([.,  ])[0-9]{3})(?:\1[0-9]{3}){0,5}", text):
            return int(re.sub(r"\D", "", text))
        m = re.fullmatch(r"([0-9]{1,6})(?:[.,]([0-9]{1,2}))?\s*([^\W\d_]+)", text)
        if m is None or m[3] not in _SCALES:
            return None
        scale, fraction = _SCALES[m[3]], m[2] or ""
        part, rest = divmod(int(fraction or 0) * scale, 10 ** len(fraction))
        return None if rest else int(m[1]) * scale + part

    def display(self, value: int, ctx: Ctx) -> str:
        return ctx.text(N_("{amount} VND"), amount=ctx.t.number(value))


# --- dates -------------------------------------------------------------------------------

_DAY = r"[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}|[0-9]{1,2}[/.-][0-9]{1,2}[/.-][0-9]{4}"
_DAY_NO_YEAR = r"[0-9]{1,2}[/.][0-9]{1,2}"


DayCheck = Callable[[Ctx, date], None]


def not_past(ctx: Ctx, day: date) -> None:
    """A Day/DayRange rule: from today on, in the unit's time zone."""
    today = ctx.today()
    if day < today:
        raise FieldError(N_("That date has already passed (today is {today}). Please give a "
                            "date from today on, like 15/12/2026."),
                         today=ctx.t.date(today, "long"))


def not_future(ctx: Ctx, day: date) -> None:
    """A Day/DayRange rule for what has happened: up to today, in the unit's time zone."""
    today = ctx.today()
    if day > today:
        raise FieldError(N_("That date is still to come (today is {today}). Please give the "
                            "day it took place."), today=ctx.t.date(today, "long"))


@dataclass(frozen=True, kw_only=True)
class Day(Field):
    check_day: DayCheck | None = None  # e.g. not_past
    style: str = "long"  # how the summary shows it: "full" adds the weekday
    recent: bool = False  # a day that has happened: "12/3" is the latest 12/3 up to today

    def parse(self, text: str, ctx: Ctx) -> date:
        day = parse_recent_day(text, ctx.today()) if self.recent else parse_day(text)
        if day is None:
            raise FieldError(N_("I could not read that date. Please write it like 15/12/2026."))
        return day

    def check(self, value: date, ctx: Ctx) -> None:
        if self.check_day is not None:
            self.check_day(ctx, value)

    def to_json(self, value: date) -> str:
        return value.isoformat()

    def from_json(self, raw: str) -> date:
        return date.fromisoformat(raw)

    def display(self, value: date, ctx: Ctx) -> str:
        return ctx.t.date(value, self.style)


@dataclass(frozen=True, kw_only=True)
class DayRange(Field):
    """'12/3/2026 - 14/3/2026', '12/3-14/3/2026', '2026-03-12 đến 2026-03-14': (start, end)."""

    check_day: DayCheck | None = None  # applied to the first day
    single: bool = False  # one day is an answer too: (day, day)
    recent: bool = False  # days that have happened: "12/3-14/3" are the latest up to today

    def parse(self, text: str, ctx: Ctx) -> tuple[date, date]:
        if self.single:
            day = parse_recent_day(text, ctx.today()) if self.recent else parse_day(text)
            if day is not None:
                return day, day
        last = f"{_DAY}|{_DAY_NO_YEAR}" if self.recent else _DAY
        m = re.fullmatch(
            rf"({_DAY}|{_DAY_NO_YEAR})\s*(?:-|–|—|đến|tới|to)\s*({last})", text, re.IGNORECASE
        )
        end = None
        if m is not None and self.recent and parse_day(m[2]) is None:
            # "1/3-5/3": the first day has happened; the last is in its year (or the next).
            first = parse_recent_day(m[1], ctx.today())
            end = parse_day(m[2], first.year) if first else None
            if first is not None and end is not None and end < first:
                end = parse_day(m[2], first.year + 1)
        elif m is not None:
            end = parse_day(m[2])
        start = parse_day(m[1], end.year) if m and end else None
        if m is None or start is None or end is None:
            raise FieldError(N_("I could not read that date. Please write it like 12/3/2026, "
                                "or two dates like 12/3/2026 - 14/3/2026.") if self.single
                             else N_("I could not read those dates. Please write them like "
                                     "12/3/2026 - 14/3/2026."))
        if start > end and parse_day(m[1]) is None:  # 28/12-3/1/2027: the year before
            start = parse_day(m[1], end.year - 1) or start
        if start > end:
            raise FieldError(N_("The last day ({end}) is before the first ({start})."),
                             start=ctx.t.date(start, "long"),
                             end=ctx.t.date(end, "long"))
        return start, end

    def check(self, value: tuple[date, date], ctx: Ctx) -> None:
        if self.check_day is not None:
            self.check_day(ctx, value[0])

    def to_json(self, value: tuple[date, date]) -> list[str]:
        return [value[0].isoformat(), value[1].isoformat()]

    def from_json(self, raw: list[str]) -> tuple[date, date]:
        return date.fromisoformat(raw[0]), date.fromisoformat(raw[1])

    def display(self, value: tuple[date, date], ctx: Ctx) -> str:
        start, end = (ctx.t.date(d, "long") for d in value)
        return start if value[0] == value[1] else f"{start} – {end}"


@dataclass(frozen=True, kw_only=True)
class Period(DayRange):
    """A stretch of time as people name it: 2027, 6 tháng đầu năm 2027, quý 1/2027,
    tháng 3/2027, 2027-H1, 2027-Q1, 2027-03, or two dates."""

    def parse(self, text: str, ctx: Ctx) -> tuple[date, date]:
        found = parse_period(text)
        if found is not None:
            return found
        try:
            return super().parse(text, ctx)
        except FieldError:
            raise FieldError(N_("I could not read that period. Please write a year like 2027, "
                                "a half year like 6 tháng đầu năm 2027, a quarter like quý "
                                "1/2027, a month like tháng 3/2027, or two dates like "
                                "1/1/2027 - 30/6/2027.")) from None

    def display(self, value: tuple[date, date], ctx: Ctx) -> str:
        return ctx.t.date_range(*value)


# --- links -------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Url(Field):
    max_len: int = 2000

    def parse(self, text: str, ctx: Ctx) -> str:
        if "://" not in text and re.fullmatch(r"[\w-]+(\.[\w-]+)+(/\S*)?", text):
            text = "https://" + text  # www.phunu.gov.vn/bai-viet
        try:
            parts = urlsplit(text)
            scheme, host = parts.scheme, parts.hostname
        except ValueError:  # e.g. a malformed port or IPv6 address
            scheme, host = "", None
        if (scheme not in ("http", "https") or not host or "." not in host
                or re.search(r"\s", text) or len(text) > self.max_len):
            raise FieldError(N_("Please send a web address starting with https://, like "
                                "https://phunu.gov.vn/bai-viet."))
        return text


# --- choices -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Option:
    value: str  # stored, and part of the button's value: short, no ':'
    label: str  # msgid


def _norm(text: str) -> str:
    return " ".join(text.casefold().split())


@dataclass(frozen=True, kw_only=True)
class Choice(Field):
    """One of a few options: a button each, a number on channels without buttons."""

    options: tuple[Option, ...] = ()

    def labelled(self, ctx: Ctx) -> list[tuple[str, str]]:
        """(value, translated label) per option, in order."""
        return [(o.value, ctx.text(o.label)) for o in self.options]

    def pick(self, value: str, ctx: Ctx) -> Any:
        """The typed value of a pressed option button."""
        if value not in {o.value for o in self.options}:
            raise FieldError(N_("Please pick one of the choices below."))
        return value

    def parse(self, text: str, ctx: Ctx) -> Any:
        """A label or code as written, or an option's number (a cell of an imported file)."""
        labelled = self.labelled(ctx)
        if re.fullmatch(r"[0-9]{1,3}", text):
            if not 1 <= int(text) <= len(labelled):
                raise FieldError(N_("There is no choice number {n}."), n=text)
            return self.pick(labelled[int(text) - 1][0], ctx)
        for value, label in labelled:
            if _norm(text) in (_norm(label), value.casefold()):
                return self.pick(value, ctx)
        raise FieldError(N_("Please pick one of the choices below."))

    def display(self, value: Any, ctx: Ctx) -> str:
        return dict(self.labelled(ctx)).get(value, str(value))


_YES = {"yes", "y", "có", "co", "c", "ừ", "vâng", "đúng"}
_NO = {"no", "n", "không", "khong", "k", "ko"}


@dataclass(frozen=True, kw_only=True)
class YesNo(Choice):
    options: tuple[Option, ...] = (Option("yes", N_("Yes")), Option("no", N_("No")))

    def pick(self, value: str, ctx: Ctx) -> bool:
        if value not in ("yes", "no"):
            raise FieldError(N_("Please answer yes or no."))
        return value == "yes"

    def parse(self, text: str, ctx: Ctx) -> bool:
        word = _norm(text).rstrip(".!")
        if word in _YES or word == _norm(ctx.text(N_("Yes"))):
            return True
        if word in _NO or word == _norm(ctx.text(N_("No"))):
            return False
        raise FieldError(N_("Please answer yes or no."))

    def display(self, value: bool, ctx: Ctx) -> str:
        return ctx.text(N_("Yes") if value else N_("No"))


@dataclass(frozen=True, kw_only=True)
class MultiChoice(Choice):
    """Several options: buttons toggle, then Done; or the numbers typed, like '1,3' or '1 3'."""

    def parse(self, text: str, ctx: Ctx) -> list[str]:
        labelled = self.labelled(ctx)
        if re.fullmatch(r"[0-9,;\s]+", text):
            picked = set()
            for n in re.findall(r"[0-9]+", text):
                if not 1 <= int(n) <= len(labelled):
                    raise FieldError(N_("There is no choice number {n}."), n=n)
                picked.add(labelled[int(n) - 1][0])
        else:
            by_label = {_norm(label): value for value, label in labelled}
            by_label.update({value.casefold(): value for value, _ in labelled})
            picked = {by_label.get(_norm(part), "") for part in re.split(r"[,;]", text)}
            if "" in picked:
                raise FieldError(N_("Please write the numbers of your choices, like 1,3."))
        return self.pick_many(picked)

    def pick_many(self, picked: set[str]) -> list[str]:
        if not picked:
            raise FieldError(N_("Please pick at least one."))
        return [o.value for o in self.options if o.value in picked]

    def display(self, value: list[str], ctx: Ctx) -> str:
        labels = dict(self.labelled(ctx))
        return ", ".join(labels.get(v, v) for v in value)
