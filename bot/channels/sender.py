"""What the dispatcher needs from a channel: send replies to a chat, and say how it went."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from bot.channels.base import Capabilities, Reply

Outcome = Literal["ok", "retry", "blocked", "failed"]


@dataclass(frozen=True)
class Delivery:
    outcome: Outcome
    retry_after: float | None = None  # the platform asked us to wait (HTTP 429)
    error: str | None = None


class Sender(Protocol):
    channel: str
    caps: Capabilities

    async def send(self, chat_id: str, replies: list[Reply]) -> Delivery: ...
