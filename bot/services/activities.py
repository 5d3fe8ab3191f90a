"""The activity catalog: what members check in, each type a list of typed fields (data only).

Read from ``bot/catalog/activities.json``; adding a type or a field is a change there. How a
field is asked lives in ``handlers.checkins``; what the database sums lives here: each count
and amount, and a 1 for each option picked, so reports add numbers and never read JSON.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

from bot.i18n import Local
from bot.models import Role

CATALOG = Path(__file__).resolve().parent.parent / "catalog" / "activities.json"
KINDS = {"text", "longtext", "count", "money", "day", "days", "period", "url", "choice", "multi",
         "yesno"}
DATE_KINDS = {"day", "days", "period"}
NUMBER_KINDS = {"count", "money"}
CHOICE_KINDS = {"choice", "multi"}


@dataclass(frozen=True)
class OptionSpec:
    value: str
    label: Local


@dataclass(frozen=True)
class FieldSpec:
    name: str
    kind: str
    label: Local
    question: Local
    optional: bool = False
    past: bool = False  # a date that cannot be later than today
    today: bool = False  # a date that is today unless changed
    at_most: str | None = None
    minimum: int = 0
    max_len: int | None = None
    needed_if: tuple[str, tuple[str, ...]] | None = None
    options: tuple[OptionSpec, ...] = ()


@dataclass(frozen=True)
class ActivityType:
    code: str
    label: Local
    role: Role
    aliases: tuple[str, ...]
    quick: tuple[str, ...]  # fields the one-line form fills
    fields: tuple[FieldSpec, ...]

    @property
    def when(self) -> FieldSpec:
        """The field that dates the activity: its first date field."""
        return next(f for f in self.fields if f.kind in DATE_KINDS)

    def field(self, name: str) -> FieldSpec | None:
        return next((f for f in self.fields if f.name == name), None)

    def dates(self, values: dict[str, Any]) -> tuple[date, date]:
        """First and last day of the activity, from its stored (JSON) values."""
        raw = values[self.when.name]
        if isinstance(raw, str):
            return date.fromisoformat(raw), date.fromisoformat(raw)
        return date.fromisoformat(raw[0]), date.fromisoformat(raw[1])

    def numbers(self, values: dict[str, Any]) -> dict[str, int]:
        """What the database adds up: counts and amounts by field, 1 per picked option
        (``organisers=cong_doan``), 0/1 for yes/no. Skipped fields give nothing."""
        found: dict[str, int] = {}
        for f in self.fields:
            value = values.get(f.name)
            if value is None:
                continue
            if f.kind in NUMBER_KINDS:
                found[f.name] = int(value)
            elif f.kind == "yesno":
                found[f.name] = int(bool(value))
            elif f.kind == "choice":
                found[f"{f.name}={value}"] = 1
            elif f.kind == "multi":
                found.update({f"{f.name}={v}": 1 for v in value})
        return found


def _local(data: dict[str, Any], prefix: str = "") -> Local:
    return Local({"vi": data[prefix + "vi"], "en": data[prefix + "en"]})


def _field(data: dict[str, Any]) -> FieldSpec:
    if data["kind"] not in KINDS:
        raise ValueError(f"activity field {data['name']}: unknown kind {data['kind']}")
    needed_if = data.get("needed_if")
    return FieldSpec(
        name=data["name"], kind=data["kind"], label=_local(data), question=_local(data, "ask_"),
        optional=data.get("optional", False), past=data.get("past", False),
        today=data.get("today", False), at_most=data.get("at_most"),
        minimum=data.get("minimum", 0), max_len=data.get("max_len"),
        needed_if=(needed_if[0], tuple(needed_if[1])) if needed_if else None,
        options=tuple(OptionSpec(o["value"], _local(o)) for o in data.get("options", ())),
    )


@cache
def catalog() -> dict[str, ActivityType]:
    """Activity types by code, in the catalog's order; a broken catalog fails at start."""
    data = json.loads(CATALOG.read_text(encoding="utf-8"))
    types: dict[str, ActivityType] = {}
    for entry in data["activities"]:
        kind = ActivityType(
            code=entry["code"], label=_local(entry), role=Role(entry["role"]),
            aliases=tuple(entry.get("aliases", ())), quick=tuple(entry.get("quick", ())),
            fields=tuple(_field(f) for f in entry["fields"]),
        )
        names = {f.name for f in kind.fields}
        for f in kind.fields:
            if f.at_most is not None and f.at_most not in names:
                raise ValueError(f"activity {kind.code}: {f.name} at_most an unknown field")
            if (f.kind in CHOICE_KINDS) != bool(f.options):
                raise ValueError(f"activity {kind.code}: {f.name} options do not fit its kind")
        if not set(kind.quick) <= names or not any(f.kind in DATE_KINDS for f in kind.fields):
            raise ValueError(f"activity {kind.code}: quick fields or a date are missing")
        types[kind.code] = kind
    return types


def get(code: str) -> ActivityType | None:
    return catalog().get(code)
