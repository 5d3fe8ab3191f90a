"""Where commands, dialogue states and button choices find their handler."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.models import Role
from handlers.turn import Turn

Handler = Callable[[Turn], Awaitable[None]]


@dataclass(frozen=True)
class Command:
    name: str
    role: Role
    help: str  # msgid, translated when shown
    run: Handler
    in_groups: bool = False  # most commands belong in a private chat


COMMANDS: dict[str, Command] = {}
STATES: dict[str, Handler] = {}
CHOICES: dict[str, tuple[Role, Handler]] = {}


def command(
    name: str, role: Role, help: str, *, in_groups: bool = False
) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        COMMANDS[name] = Command(name, role, help, fn, in_groups)
        return fn

    return register


def state(name: str) -> Callable[[Handler], Handler]:
    """Handles free text while a dialogue is in this state."""

    def register(fn: Handler) -> Handler:
        STATES[name] = fn
        return fn

    return register


def choice(prefix: str, role: Role = Role.member) -> Callable[[Handler], Handler]:
    """Handles a picked choice 'prefix:…'; the role is checked since callback data can be forged."""

    def register(fn: Handler) -> Handler:
        CHOICES[prefix] = (role, fn)
        return fn

    return register


def parse_command(text: str) -> str | None:
    """'/Lang@vstbpn_bot en' → 'lang'; None for text that is not a command."""
    if not text.startswith("/"):
        return None
    word = text.split(maxsplit=1)[0][1:]
    return word.split("@", 1)[0].lower() or None
