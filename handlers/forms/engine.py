"""One runner for dialogues declared as data: fields asked one at a time, a summary, save.

A form's state is ``convo.state == "form:<name>"`` with ``convo.data``::

    {"values": {field: json or None (skipped)}, "given": [prefilled fields, never asked],
     "step": field name | "summary" | "edit", "editing": bool (a field changed from the
     summary goes back there), "picks": [values toggled so far on a multi-choice step],
     "context": {what the caller gave ``start``, handed back to ``on_save``},
     "reasons": {field: why its one-line answer was refused, said when it is asked}}

Buttons are ``form:<name>:<action>[:<field>[:<value>]]``: ``pick:<field>:<value>``,
``tog:<field>:<value>`` and ``done:<field>`` (multi-choice), ``back:<field>``,
``skip:<field>``, ``cancel``, ``save``, ``edit`` (the list of fields), ``edit:<field>``,
``summary``. A button of a step that is no longer current changes nothing.
"""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from bot.i18n import N_
from bot.messages import MAX_CHOICE_VALUE
from bot.messages import Choice as Button
from bot.models import Role
from bot.services import conversations
from bot.services.members import has_role
from handlers.forms.fields import Choice, Ctx, Field, FieldError, MultiChoice
from handlers.registry import STATES, choice
from handlers.turn import Turn

log = logging.getLogger(__name__)

STATE_PREFIX = "form:"
SUMMARY, EDIT = "summary", "edit"

SaveHandler = Callable[[Turn, dict[str, Any], dict[str, Any]], Awaitable[None]]

FORMS: dict[str, Form] = {}

_WORDS = {
    "back": {"back", "quay lại", "quay lai", "trở lại", "tro lai"},
    "skip": {"skip", "bỏ qua", "bo qua", "-"},
    "cancel": {"cancel", "hủy", "huy", "hủy bỏ", "huy bo"},
    "save": {"save", "lưu", "luu", "lưu lại", "luu lai"},
}


class FormError(Exception):
    """Raised by ``on_save``: show ``message`` (a msgid) and go back to ``field`` or the summary.

    The dialogue is restored as it was, so nothing entered is lost.
    """

    def __init__(self, message: str, field: str | None = None, **args: str) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.args_ = args


@dataclass(frozen=True)
class Form:
    name: str  # short, no ':'; the state is "form:<name>"
    title: str  # msgid, shown above the first question
    fields: tuple[Field, ...]
    on_save: SaveHandler  # gets every field's typed value (None when skipped), and the context
    role: Role = Role.member
    summary_title: str = N_("Please check before saving:")
    args: Callable[[Turn], dict[str, Any]] | None = None  # placeholders for every text
    summary_extra: Callable[[Ctx], list[str]] | None = None  # lines under the fields

    def __post_init__(self) -> None:
        names = [f.name for f in self.fields]
        if len(set(names)) != len(names) or {SUMMARY, EDIT} & set(names):
            raise ValueError(f"form {self.name}: field names must be unique, not summary/edit")
        if any(":" in n for n in [self.name, *names]) or len(self.state) > 64:
            raise ValueError(f"form {self.name}: names may not hold ':'")
        for f in self.fields:
            values = [o.value for o in f.options] if isinstance(f, Choice) else [""]
            if any(":" in v for v in values) or max(
                len(f"{STATE_PREFIX}{self.name}:pick:{f.name}:{v}".encode()) for v in values
            ) > MAX_CHOICE_VALUE:
                raise ValueError(f"form {self.name}: button values of {f.name} too long")

    @property
    def state(self) -> str:
        return STATE_PREFIX + self.name

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.fields]

    def field(self, name: str) -> Field:
        return next(f for f in self.fields if f.name == name)


def register(form: Form) -> Form:
    """Make a form reachable: its state's free text and its buttons come to this runner."""
    FORMS[form.name] = form
    STATES[form.state] = on_text
    return form


async def start(
    turn: Turn, form: Form, prefill: dict[str, Any] | None = None,
    raw: dict[str, str] | None = None, context: dict[str, Any] | None = None,
    intro: str | None = None,
) -> None:
    """Begin ``form``. ``prefill``: typed values, taken as they are; ``raw``: typed text
    (e.g. from a one-line command), read like answers — a bad one is asked with its reason.
    Fields given either way are not asked, but shown in the summary and can be changed there.
    ``context`` (JSON) comes back to ``on_save``; ``intro`` (translated) replaces the title.
    """
    data: dict[str, Any] = {"values": {}, "given": [], "step": SUMMARY, "editing": False,
                            "context": context or {}, "intro": intro}
    ctx = _ctx(turn, form, data)
    reasons: dict[str, str] = {}  # why a given answer was not taken: said when it is asked
    for f in form.fields:
        if prefill and f.name in prefill:
            value = prefill[f.name]
        elif raw and f.name in raw:
            try:
                value = _read(f, raw[f.name].strip(), ctx)
            except FieldError as e:
                reasons[f.name] = ctx.reason(e)
                continue
        else:
            continue
        ctx.values[f.name] = value
        data["values"][f.name] = _dump(f, value)
        data["given"].append(f.name)
    data["reasons"] = reasons
    first = _next(form, data, None)  # its reason comes with its question
    _show(turn, form, _goto(form, data, first),
          [why for name, why in reasons.items() if name != first], intro=True)


# --- what comes in -----------------------------------------------------------------------


async def on_text(turn: Turn) -> None:
    """Free text while a form is open: an answer, or 'back' / 'skip' / 'cancel'."""
    form = _active(turn)
    if form is None:
        return
    data = dict(turn.convo.data)
    text = turn.inbound.text.strip()
    word = _word(text)
    if word == "cancel":
        _cancel(turn)
        return
    step = data.get("step")
    if step not in form.names:
        if word == "save" and step == SUMMARY:
            await _save(turn, form, data)
        elif word == "back" and step == EDIT:
            _show(turn, form, _goto(form, data, SUMMARY))
        else:
            _show(turn, form, data, [turn._("Please use one of the choices below.")])
        return
    field = form.field(step)
    if word == "back":
        _back(turn, form, data)
        return
    ctx = _ctx(turn, form, data)
    try:
        value = _read(field, text, ctx)
    except FieldError as e:
        _show(turn, form, data, [ctx.reason(e)])
        return
    _answer(turn, form, data, field, value)


@choice("form", Role.member)
async def on_choice(turn: Turn) -> None:
    """A pressed button 'form:<name>:<action>…'; only the current step's buttons count."""
    parts = (turn.inbound.choice or "").split(":", 4)
    form = FORMS.get(parts[1]) if len(parts) > 2 else None
    if form is None or turn.convo.state != form.state:
        turn.say(turn._("That choice is no longer available. Send /help to start again."))
        return
    if _active(turn) is None:
        return
    data = dict(turn.convo.data)
    step = data.get("step")
    action, target, arg = parts[2], (parts[3:4] or [""])[0], (parts[4:5] or [""])[0]
    if action == "cancel":
        _cancel(turn)
        return
    if step in (SUMMARY, EDIT) and action in ("save", "summary", "edit"):
        if action == "save":
            await _save(turn, form, data)
        elif action == "summary":
            _show(turn, form, _goto(form, data, SUMMARY))
        elif not target:
            _show(turn, form, _goto(form, data, EDIT))
        elif target in form.names:
            _show(turn, form, _goto(form, data, target, editing=True))
        else:
            _stale(turn, form, data)
        return
    if step not in form.names or target != step:
        _stale(turn, form, data)
        return
    field, ctx = form.field(step), _ctx(turn, form, data)
    if action == "back":
        _back(turn, form, data)
        return
    try:
        if action == "skip":
            value = _read(field, "-", ctx)
        elif action == "pick" and isinstance(field, Choice) and not isinstance(field, MultiChoice):
            value = field.pick(arg, ctx)
            field.check(value, ctx)
        elif action == "tog" and isinstance(field, MultiChoice) and field.pick(arg, ctx):
            picks = set(data.get("picks", [])) ^ {arg}
            _show(turn, form, {**data, "picks": [o.value for o in field.options
                                                 if o.value in picks]})
            return
        elif action == "done" and isinstance(field, MultiChoice):
            picks = set(data.get("picks", []))
            value = field.pick_many(picks) if picks or not field.optional else None
            if value is not None:
                field.check(value, ctx)
        else:
            _stale(turn, form, data)
            return
    except FieldError as e:
        _show(turn, form, data, [ctx.reason(e)])
        return
    _answer(turn, form, data, field, value)


# --- moving between steps ----------------------------------------------------------------


def _answer(turn: Turn, form: Form, data: dict[str, Any], field: Field, value: Any) -> None:
    data = {**data, "values": {**data["values"], field.name: _dump(field, value)}}
    if data.get("editing"):
        data = _goto(form, data, SUMMARY)
    else:
        data = _goto(form, data, _next(form, data, field.name))
    _show(turn, form, data)


def _back(turn: Turn, form: Form, data: dict[str, Any]) -> None:
    if data.get("editing"):
        _show(turn, form, _goto(form, data, SUMMARY))
        return
    previous = _previous(form, data)
    if previous is None:
        _show(turn, form, data, [turn._("This is the first question.")])
        return
    _show(turn, form, _goto(form, data, previous))


def _cancel(turn: Turn) -> None:
    conversations.clear(turn.convo, turn.now)
    turn.say(turn._("Cancelled. Nothing was changed."))


def _stale(turn: Turn, form: Form, data: dict[str, Any]) -> None:
    _show(turn, form, data, [turn._("That button belongs to an earlier step; nothing was "
                                    "changed. Here is where we are:")])


async def _save(turn: Turn, form: Form, data: dict[str, Any]) -> None:
    ctx = _ctx(turn, form, data)
    if _problem(form, ctx) is not None:  # e.g. a date that passed while the summary was open
        _show(turn, form, _goto(form, data, SUMMARY))
        return
    conversations.clear(turn.convo, turn.now)
    try:
        await form.on_save(turn, {name: ctx.values.get(name) for name in form.names},
                           data.get("context") or {})
    except FormError as e:
        target = e.field if e.field in form.names else SUMMARY
        log.info("form_refused", extra={"form": form.name, "field": target})
        _show(turn, form, _goto(form, data, target, editing=target != SUMMARY),
              [ctx.text(e.message, **e.args_)], check=False)


def _goto(form: Form, data: dict[str, Any], step: str, editing: bool = False) -> dict[str, Any]:
    data = {**data, "step": step, "editing": editing}
    data.pop("picks", None)
    if step in form.names and isinstance(form.field(step), MultiChoice):
        data["picks"] = list(data["values"].get(step) or [])
    return data


def _next(form: Form, data: dict[str, Any], after: str | None) -> str:
    """The first unanswered field after ``after`` (then from the top), else the summary."""
    names = form.names
    start = names.index(after) + 1 if after else 0
    for name in names[start:] + names[:start]:
        if name not in data["values"]:
            return name
    return SUMMARY


def _previous(form: Form, data: dict[str, Any]) -> str | None:
    names = form.names
    before = names[: names.index(data["step"])] if data["step"] in names else []
    return next((n for n in reversed(before) if n not in data["given"]), None)


def _problem(form: Form, ctx: Ctx) -> tuple[str, str] | None:
    """The first answer that no longer holds (rules on time or other answers), with why."""
    for f in form.fields:
        value = ctx.values.get(f.name)
        try:
            if value is None and f.needed(ctx):
                raise FieldError(N_("This one is needed, so it cannot be skipped."))
            if value is not None:
                f.check(value, ctx)
        except FieldError as e:
            return f.name, ctx.reason(e)
    return None


# --- reading and storing -----------------------------------------------------------------


def _word(text: str) -> str | None:
    norm = " ".join(unicodedata.normalize("NFC", text).casefold().replace("huỷ", "hủy").split())
    return next((word for word, forms in _WORDS.items() if norm.rstrip(".!") in forms), None)


def _read(field: Field, text: str, ctx: Ctx) -> Any:
    """The typed value of an answer; None for a skipped optional field."""
    if _word(text) == "skip":
        if not field.needed(ctx):
            return None
        raise FieldError(N_("This one is needed, so it cannot be skipped."))
    if not text:
        raise FieldError(N_("Please write your answer."))
    value = field.parse(unicodedata.normalize("NFC", text), ctx)
    field.check(value, ctx)
    return value


def _dump(field: Field, value: Any) -> Any:
    return None if value is None else field.to_json(value)


def _ctx(turn: Turn, form: Form, data: dict[str, Any]) -> Ctx:
    values = {
        f.name: None if (raw := data["values"][f.name]) is None else f.from_json(raw)
        for f in form.fields if f.name in data["values"]
    }
    return Ctx(turn.t, turn.today, values, form.args(turn) if form.args else {},
               {f.name: f.label for f in form.fields}, turn)


def _active(turn: Turn) -> Form | None:
    """The open form, if the member may still use it (a role can change mid-dialogue)."""
    form = FORMS.get((turn.convo.state or "").removeprefix(STATE_PREFIX))
    data = turn.convo.data or {}
    if (form is None or turn.member is None or not has_role(turn.member, form.role)
            or not isinstance(data.get("values"), dict)
            or data.get("step") not in [*form.names, SUMMARY, EDIT]):
        conversations.clear(turn.convo, turn.now)
        turn.say(turn._("That choice is no longer available. Send /help to start again."))
        return None
    return form


# --- what goes out -----------------------------------------------------------------------


def _show(
    turn: Turn, form: Form, data: dict[str, Any], notes: Iterable[str] = (),
    intro: bool = False, check: bool = True,
) -> None:
    """Store ``data`` and send the step it is at, as one message under ``notes``."""
    notes = list(notes)
    if data["step"] == SUMMARY and check:
        problem = _problem(form, _ctx(turn, form, data))
        if problem is not None:
            data = _goto(form, data, problem[0], editing=True)
            notes.append(problem[1])
    reasons = dict(data.get("reasons") or {})
    if data["step"] in reasons:  # a one-line answer refused at the start: why, again
        notes.insert(0, reasons.pop(data["step"]))
        data = {**data, "reasons": reasons}
    conversations.enter(turn.convo, form.state, turn.now, **data)
    ctx = _ctx(turn, form, data)
    title = (data.get("intro") or ctx.text(form.title)) if intro else None
    if data["step"] == SUMMARY:
        _summary(turn, form, ctx, [*([title] if title else []), *notes])
    elif data["step"] == EDIT:
        turn.say("\n".join([*notes, turn._("Which one do you want to change?")]), [
            *(Button(ctx.label(f.name), f"{form.state}:edit:{f.name}") for f in form.fields),
            Button(turn._("Back to the summary"), f"{form.state}:summary"),
        ])
    else:
        _ask(turn, form, data, ctx, [*notes, *([title] if title else [])])


def _summary(turn: Turn, form: Form, ctx: Ctx, notes: list[str]) -> None:
    lines = [*notes, ctx.text(form.summary_title)]
    for f in form.fields:
        value = ctx.values.get(f.name)
        if f.line is not None:
            lines.append(f.line(ctx, value))
        else:
            shown = "—" if value is None else f.display(value, ctx)
            lines.append(f"{ctx.label(f.name)}: {shown}")
    if form.summary_extra is not None:
        lines.extend(form.summary_extra(ctx))
    lines += ["", turn._("Save it?")]
    turn.say("\n".join(lines), [
        Button(turn._("Save"), f"{form.state}:save"),
        Button(turn._("Cancel"), f"{form.state}:cancel"),
        Button(turn._("Change an answer"), f"{form.state}:edit"),
    ])


def _ask(turn: Turn, form: Form, data: dict[str, Any], ctx: Ctx, lines: list[str]) -> None:
    field = form.field(data["step"])
    key = f"{form.state}:{{}}:{field.name}"
    buttons = turn.caps.buttons
    lines.append(ctx.text(field.question))
    choices: list[Button] = []
    if isinstance(field, MultiChoice):
        picks = data.get("picks", [])
        for i, (value, label) in enumerate(field.labelled(ctx), start=1):
            if buttons:
                mark = "✅ " if value in picks else ""
                choices.append(Button(mark + label, f"{key.format('tog')}:{value}"))
            else:
                lines.append(f"{i}. {label}")
        if buttons:
            choices.append(Button(turn._("Done choosing"), key.format("done")))
        else:
            lines.append(turn._("Write the numbers of all that apply, like 1,3."))
    elif isinstance(field, Choice):
        choices += [Button(label, f"{key.format('pick')}:{value}")
                    for value, label in field.labelled(ctx)]
    if field.name in ctx.values and not (buttons and isinstance(field, MultiChoice)):
        value = ctx.values[field.name]
        lines.append(turn._("Now: {value}").format(
            value="—" if value is None else field.display(value, ctx)))
    back = bool(data.get("editing")) or _previous(form, data) is not None
    if buttons or (isinstance(field, Choice) and not isinstance(field, MultiChoice)):
        # Numbered channels: a typed "2" must stay an answer unless the step is a choice.
        choices += [
            *([Button(turn._("Back"), key.format("back"))] if back else []),
            *([Button(turn._("Skip"), key.format("skip"))] if not field.needed(ctx) else []),
            Button(turn._("Cancel"), f"{form.state}:cancel"),
        ]
    else:
        hints = [
            *([turn._("“back”: the previous step")] if back else []),
            *([turn._("“skip”: leave this one empty")] if not field.needed(ctx) else []),
            turn._("/cancel: stop"),
        ]
        lines.append("(" + "; ".join(hints) + ")")
    turn.say("\n".join(lines), choices)
