"""Neutral message types: what a person did, what the bot answers, what a channel can do.

Every layer speaks these; only the adapters in ``bot/channels/`` translate them to a platform.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Literal, Protocol

ChatType = Literal["private", "group"]


@dataclass(frozen=True)
class Capabilities:
    buttons: bool
    max_text: int
    files: bool = True
    groups: bool = False


@dataclass(frozen=True)
class SendLimits:
    """How fast a channel may send: overall, per private chat, per group chat."""

    per_second: int | None = None
    chat_interval: float = 0.0  # seconds between two messages to one chat
    group_per_minute: int | None = None


@dataclass(frozen=True)
class Inbound:
    """One thing a person did: wrote text or picked a choice."""

    channel: str
    user_id: str
    chat_id: str
    text: str = ""
    choice: str | None = None
    chat_type: ChatType = "private"
    display_name: str = ""
    language_hint: str | None = None
    chat_title: str = ""
    # The bot's message whose button was pressed (channels with buttons), to update it.
    origin_message_id: str | None = None
    # Something that happened rather than was said: "added_to_group" (the bot joined a group).
    event: str | None = None


# Bytes a choice's value may take: the least any channel allows for a button (Telegram: 64).
MAX_CHOICE_VALUE = 64


@dataclass(frozen=True)
class Choice:
    label: str
    value: str
    url: str | None = None  # a link button (e.g. "talk to me privately") instead of a choice
    row: int | None = None  # choices with the same row share one row of buttons


@dataclass(frozen=True)
class OutFile:
    filename: str
    content: bytes
    mime: str = "application/octet-stream"


@dataclass(frozen=True)
class Reply:
    text: str
    choices: tuple[Choice, ...] = field(default_factory=tuple)
    file: OutFile | None = None
    lang: str = "vi"  # the reply's language, so adapters can word their own hints alike
    # Replace the message whose button was pressed (its buttons go) instead of adding one;
    # channels that cannot edit send it as a new message.
    replaces_origin: bool = False


_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


def clean(text: str | None) -> str:
    """``text`` from a platform without control characters (newlines and tabs stay)."""
    return _CONTROL.sub("", text or "")


def ascii_name(text: str) -> str:
    """A name in plain ASCII for file names and headers: 'Đề án 1.docx' → 'De-an-1.docx'."""
    text = text.replace("đ", "d").replace("Đ", "D")  # no decomposition takes their stroke off
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^A-Za-z0-9._]+", "-", plain).strip("-")


def split_text(text: str, limit: int) -> list[str]:
    """Cut long text at line breaks so each part fits the platform's message limit."""
    parts: list[str] = []
    current = ""
    for line in text.splitlines(keepends=True):
        while len(line) > limit:
            if current:
                parts.append(current)
                current = ""
            parts.append(line[:limit])
            line = line[limit:]
        if len(current) + len(line) > limit:
            parts.append(current)
            current = ""
        current += line
    if current or not parts:
        parts.append(current)
    return [p.rstrip("\n") for p in parts]


def numbered(reply: Reply, hint: str) -> str:
    """Render choices as '1. …' lines for channels without buttons."""
    picks = [c for c in reply.choices if c.url is None]
    links = [c for c in reply.choices if c.url is not None]
    lines = [reply.text]
    if picks:
        lines.append("")
        lines.extend(f"{i}. {c.label}" for i, c in enumerate(picks, start=1))
        lines.append(hint)
    lines.extend(f"{c.label}: {c.url}" for c in links)
    return "\n".join(lines)


def numbered_values(replies: list[Reply]) -> dict[str, str]:
    """The number → choice value map matching what ``numbered`` showed (last reply wins)."""
    for reply in reversed(replies):
        picks = [c for c in reply.choices if c.url is None]
        if picks:
            return {str(i): c.value for i, c in enumerate(picks, start=1)}
    return {}


Outcome = Literal["ok", "retry", "blocked", "failed"]


@dataclass(frozen=True)
class Delivery:
    outcome: Outcome
    retry_after: float | None = None  # the platform asked us to wait (HTTP 429)
    error: str | None = None


class Sender(Protocol):
    """What the dispatcher needs from a channel: send replies to a chat, and say how it went."""

    name: str
    caps: Capabilities
    limits: SendLimits

    async def send(self, chat_id: str, replies: list[Reply]) -> Delivery: ...
