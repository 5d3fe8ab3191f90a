"""/checkin: a member tells what the unit did, as a form per activity type of the catalog.

``/checkin`` offers the types; ``/checkin tập huấn 12/3 45 30 Tập huấn Luật Bình đẳng giới``
fills what it can read and asks the rest; "📝" on a reminder opens the duty's type with the
duty's own values (its occasion, its organisation) given. Saving answers the duties the
check-in fulfils (``services.checkins.answered``).
"""

from __future__ import annotations

import logging
import re
import unicodedata
from datetime import date
from typing import Any

from bot.i18n import N_, Translator
from bot.messages import Choice as Button
from bot.models import Checkin, Occurrence, Role
from bot.services import activities, checkins, occurrences
from bot.services.activities import ActivityType, FieldSpec
from bot.services.calendar import DutyDate
from bot.services.duties import catalog_entry
from bot.services.members import has_role
from bot.views.duties import duty_title, shorten
from handlers.forms import (
    Choice,
    Count,
    Ctx,
    Day,
    DayRange,
    Field,
    FieldError,
    Form,
    FormError,
    Money,
    MultiChoice,
    Option,
    Period,
    Text,
    Url,
    YesNo,
    not_future,
    register,
    start,
)
from handlers.registry import choice, command
from handlers.turn import Turn

log = logging.getLogger(__name__)

FORM_PREFIX = "ck_"
LOCKED = N_("The report for that period has been approved, so its check-ins are locked. An "
            "admin of a unit above can unlock it.")
MAX_TEXT, MAX_LONG_TEXT = 255, 2000


def _field(spec: FieldSpec) -> Field:
    common: dict[str, Any] = {"name": spec.name, "label": spec.label, "question": spec.question,
                              "optional": spec.optional, "needed_if": spec.needed_if}
    past = {"check_day": not_future, "recent": True} if spec.past else {}
    options = tuple(Option(o.value, o.label) for o in spec.options)
    match spec.kind:
        case "text" | "longtext":
            default = MAX_TEXT if spec.kind == "text" else MAX_LONG_TEXT
            return Text(**common, max_len=spec.max_len or default)
        case "count":
            return Count(**common, at_most=spec.at_most, minimum=spec.minimum)
        case "money":
            return Money(**common)
        case "day":
            return Day(**common, **past)
        case "days":
            return DayRange(**common, single=True, **past)
        case "period":
            return Period(**common, check_day=not_future if spec.past else None)
        case "url":
            return Url(**common)
        case "choice":
            return Choice(**common, options=options)
        case "multi":
            return MultiChoice(**common, options=options)
        case "yesno":
            return YesNo(**common)
    raise ValueError(f"unknown field kind {spec.kind}")


def _form(kind: ActivityType) -> Form:
    return register(Form(
        name=FORM_PREFIX + kind.code, title=kind.label, role=kind.role, on_save=_save,
        summary_title=N_("Please check before saving:"),
        fields=tuple(_field(spec) for spec in kind.fields),
    ))


async def _save(turn: Turn, values: dict[str, Any], context: dict[str, Any]) -> None:
    member = turn.member
    kind = activities.get(str(context.get("activity")))
    assert member is not None and kind is not None
    form = FORMS[kind.code]
    stored = {f.name: None if values[f.name] is None else f.to_json(values[f.name])
              for f in form.fields}
    new = checkins.Values(kind, stored)
    if context.get("checkin_id") is not None:
        await _save_change(turn, int(context["checkin_id"]), new)
        return
    explicit = None
    if context.get("occurrence_id") is not None:
        explicit = await occurrences.for_member(turn.session, member, int(context["occurrence_id"]))
    try:  # first, so a locked period changes nothing at all
        checkin = await checkins.create(
            turn.session, unit_id=member.unit_id, member_id=member.id, values=new,
            channel=turn.inbound.channel, now=turn.now,
            occurrence_id=explicit.id if explicit else None,
        )
    except checkins.Locked:
        raise FormError(LOCKED, field=kind.when.name) from None
    found = await checkins.answered(turn.session, member.unit_id, new, turn.app.calendar.cal,
                                    turn.now)
    if explicit is not None and explicit.id not in {o.id for o in found}:
        found.insert(0, explicit)
    closed = await checkins.close(turn.session, found, member, turn.now)
    if checkin.occurrence_id is None and closed:
        checkin.occurrence_id = closed[0].id
    log.info("checkin_saved", extra={"checkin_id": checkin.id, "activity": kind.code,
                                     "unit_id": member.unit_id, "closed": len(closed)})
    lines = [turn._("Saved: {what}. Thank you!").format(what=headline(turn, checkin))]
    lines += [turn._("✅ Marked done: «{title}»").format(title=duty_title(turn.t,
                                                                         DutyDate.stored(o)))
              for o in closed]
    lines.append(turn._("To see, change or delete it: /mine"))
    turn.say("\n".join(lines))


async def _save_change(turn: Turn, checkin_id: int, new: checkins.Values) -> None:
    assert turn.member is not None
    checkin = await checkins.for_member(turn.session, turn.member, checkin_id)
    if checkin is None:
        turn.say(turn._("That check-in can no longer be changed. Send /mine to see yours."))
        return
    try:
        await checkins.change(turn.session, checkin, by=turn.member.id, values=new, now=turn.now)
    except checkins.Locked:
        raise FormError(LOCKED) from None
    log.info("checkin_changed", extra={"checkin_id": checkin.id, "by": turn.member.id})
    turn.say(turn._("Changed: {what}.").format(what=headline(turn, checkin)))


FORMS: dict[str, Form] = {code: _form(kind) for code, kind in activities.catalog().items()}


def read_row(
    kind: ActivityType, cells: dict[str, str], t: Translator, today: date
) -> tuple[dict[str, Any], dict[str, str]]:
    """A check-in from text cells (a row of a file), read by the rules of the chat form:
    (stored values, field → reason) — the values count only when there is no reason."""
    form = FORMS[kind.code]
    ctx = Ctx(t, today, {}, {}, {f.name: f.label for f in form.fields})
    errors: dict[str, str] = {}
    for f in form.fields:
        text = unicodedata.normalize("NFC", cells.get(f.name) or "").strip()
        try:
            ctx.values[f.name] = f.parse(text, ctx) if text else None
        except FieldError as e:
            errors[f.name] = ctx.reason(e)
    for f in form.fields:  # rules between fields, once every field is read
        value = ctx.values.get(f.name)
        if f.name in errors:
            continue
        try:
            if value is None and f.needed(ctx):
                raise FieldError(N_("This one is needed, so it cannot be skipped."))
            if value is not None:
                f.check(value, ctx)
        except FieldError as e:
            errors[f.name] = ctx.reason(e)
    stored = {f.name: None if ctx.values.get(f.name) is None else f.to_json(ctx.values[f.name])
              for f in form.fields}
    return stored, errors


# --- showing a stored check-in -----------------------------------------------------------


def _ctx(turn: Turn, form: Form, values: dict[str, Any]) -> Ctx:
    return Ctx(turn.t, turn.today, values, {}, {f.name: f.label for f in form.fields}, turn)


def typed_values(form: Form, stored: dict[str, Any]) -> dict[str, Any]:
    return {f.name: None if stored.get(f.name) is None else f.from_json(stored[f.name])
            for f in form.fields if f.name in stored}


def headline(turn: Turn, checkin: Checkin) -> str:
    """One line: its date, type and name, e.g. '12/03/2027 · Tin, bài viết · Tuyên truyền…'."""
    kind = activities.get(checkin.activity)
    label = turn._(kind.label) if kind else checkin.activity
    when = turn.t.date(checkin.starts_on, "long")
    if checkin.ends_on != checkin.starts_on:
        when = f"{when} – {turn.t.date(checkin.ends_on, 'long')}"
    name = next((str(checkin.fields[f.name]) for f in (kind.fields if kind else ())
                 if f.kind == "text" and checkin.fields.get(f.name)), "")
    return " · ".join(p for p in (when, label, shorten(name, 60)) if p)


def describe(turn: Turn, checkin: Checkin) -> list[str]:
    """Every answer of a stored check-in, 'label: value', as the summary showed it."""
    form = FORMS.get(checkin.activity)
    if form is None:
        return []
    ctx = _ctx(turn, form, typed_values(form, checkin.fields))
    return [f"{ctx.label(f.name)}: " + ("—" if ctx.values.get(f.name) is None
                                        else f.display(ctx.values[f.name], ctx))
            for f in form.fields]


async def change(turn: Turn, checkin: Checkin) -> None:
    """Open a stored check-in in its form, every answer given, at the summary."""
    form = FORMS[checkin.activity]
    await start(turn, form, prefill=typed_values(form, checkin.fields),
                context={"activity": checkin.activity, "checkin_id": checkin.id},
                intro=turn._("Changing: {what}").format(what=headline(turn, checkin)))


# --- starting ----------------------------------------------------------------------------


def _may(turn: Turn, kind: ActivityType) -> bool:
    assert turn.member is not None
    if has_role(turn.member, kind.role):
        return True
    turn.say(turn._("Only the focal point and admins can enter “{type}”.").format(
        type=turn._(kind.label)))
    return False


def _intro(turn: Turn, kind: ActivityType) -> str:
    return turn._("New check-in: {type}.").format(type=turn._(kind.label))


def _defaults(turn: Turn, kind: ActivityType) -> dict[str, Any]:
    return {f.name: turn.today for f in kind.fields if f.today}


async def begin(turn: Turn, kind: ActivityType, raw: dict[str, str] | None = None,
                note: str | None = None) -> None:
    if not _may(turn, kind):
        return
    intro = _intro(turn, kind) if note is None else f"{note}\n{_intro(turn, kind)}"
    await start(turn, FORMS[kind.code], prefill=_defaults(turn, kind), raw=raw,
                context={"activity": kind.code}, intro=intro)


async def begin_for_occurrence(turn: Turn, occ: Occurrence) -> bool:
    """"📝" on a reminder: the duty's check-in form, its own values given. False when no
    check-in type answers the duty (a report, a deadline from a letter)."""
    entry = catalog_entry(occ.duty)
    kind = activities.get(entry.activity) if entry and entry.activity else None
    if entry is None or kind is None:
        return False
    if not _may(turn, kind):
        return True
    prefill = _defaults(turn, kind)
    match = entry.match or {}
    for name, value in match.items():
        spec = kind.field(name)
        if spec is not None:
            prefill[name] = [value] if spec.kind == "multi" else value
    when, item = kind.when, DutyDate.stored(occ)
    # An occasion held on its day (8/3, 20/10): that day, unless changed — the written day,
    # not the working day its deadline moved to when it fell on a day off.
    held = item.occurrence.nominal_due
    if ("campaign" in match and not item.is_range and held <= turn.today
            and when.kind in ("day", "days")):
        prefill[when.name] = held if when.kind == "day" else (held, held)
    title = duty_title(turn.t, item)
    await start(turn, FORMS[kind.code], prefill=prefill,
                context={"activity": kind.code, "occurrence_id": occ.id},
                intro=turn._("Check-in for «{title}»: {type}.").format(
                    title=title, type=turn._(kind.label)))
    return True


@command("checkin", Role.member, N_("tell what your unit did (Cập nhật kết quả)"))
async def checkin(turn: Turn) -> None:
    rest = turn.inbound.text.partition(" ")[2].strip()
    if rest:
        found = quick(rest)
        if found is not None:
            kind, raw, unsure = found
            note = turn._("I could not tell which number is which, so I will ask for each."
                          ) if unsure else None
            await begin(turn, kind, raw, note)
            return
        turn.say(turn._("I did not recognise that kind of activity; please pick one:"))
    _offer(turn)


def _offer(turn: Turn) -> None:
    assert turn.member is not None
    kinds = [k for k in activities.catalog().values() if has_role(turn.member, k.role)]
    lines = [turn._("What would you like to record?")]
    turn.say("\n".join(lines), [Button(turn._(k.label), f"ck:{k.code}") for k in kinds])


@choice("ck")
async def picked(turn: Turn) -> None:
    kind = activities.get((turn.inbound.choice or "").partition(":")[2])
    if kind is None:
        turn.say(turn._("That choice is no longer available. Send /help to start again."))
        return
    await begin(turn, kind)


# --- the one-line form -------------------------------------------------------------------

_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_DATE = re.compile(r"[0-9]{1,4}[/.-][0-9]{1,2}(?:[/.-][0-9]{1,4})?"
                   r"(?:-[0-9]{1,2}[/.][0-9]{1,2}(?:[/.][0-9]{4})?)?")
_NUMBER = re.compile(r"[0-9]+")


def _norm(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).casefold().split())


def _kind_of(text: str) -> tuple[ActivityType, str] | None:
    """The type named by the first words (the longest alias wins) and the words after it."""
    norm, best = _norm(text), None
    for kind in activities.catalog().values():
        for alias in kind.aliases:
            if (norm == alias or norm.startswith(alias + " ")) and (
                    best is None or len(alias) > len(best[1])):
                best = (kind, alias)
    if best is None:
        return None
    words = unicodedata.normalize("NFC", text).split()
    return best[0], " ".join(words[len(best[1].split()):])


def _sort(token: str) -> str:
    if _URL.fullmatch(token):
        return "url"
    if _DATE.fullmatch(token):
        return "date"
    if _NUMBER.fullmatch(token):
        return "number"
    return "text"


def quick(text: str) -> tuple[ActivityType, dict[str, str], bool] | None:
    """'tập huấn 12/3 45 30 Tập huấn Luật Bình đẳng giới' → (training, {dates: 12/3,
    attendances: 45, women: 30, title: …}, unsure). Links, dates and numbers are read from
    the start (and links and dates from the end); the words between are the name. Numbers
    that do not fit the type's slots are dropped (``unsure``) and asked for."""
    found = _kind_of(text)
    if found is None:
        return None
    kind, rest = found
    tokens = rest.split()
    head: list[tuple[str, str]] = []
    while tokens and _sort(tokens[0]) != "text":
        head.append((_sort(tokens[0]), tokens.pop(0)))
    # From the end, one link or date the start did not give: "… ngày 8/3" in a name stays.
    for _ in range(2):
        sort = _sort(tokens[-1]) if tokens else "text"
        if sort not in ("url", "date") or any(s == sort for s, _ in head):
            break
        head.append((sort, tokens.pop()))
    slots = {"url": [], "date": [], "number": [], "text": []}  # type: dict[str, list[str]]
    for name in kind.quick:
        spec = kind.field(name)
        assert spec is not None
        sort = {"url": "url", "day": "date", "days": "date", "period": "date", "count": "number",
                "money": "number"}.get(spec.kind, "text")
        slots[sort].append(name)
    raw: dict[str, str] = {}
    unsure = False
    for sort in ("url", "date", "number"):
        given = [token for s, token in head if s == sort]
        if len(given) > len(slots[sort]):
            unsure = unsure or (sort == "number" and bool(slots[sort]))
            continue
        raw.update(zip(slots[sort], given, strict=False))
    if tokens and slots["text"]:
        raw[slots["text"][0]] = " ".join(tokens)
    return kind, raw, unsure
