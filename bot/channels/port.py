"""The channel port: what every chat platform adapter offers the composition root (bot.app)."""

from __future__ import annotations

from typing import Protocol

from bot.messages import Capabilities, Delivery, Reply, SendLimits


class Channel(Protocol):
    """One chat platform: it takes people's messages to the handlers and sends replies back.

    Each adapter declares what its platform can do (``caps``), how fast it may send
    (``limits``), and how a link that opens a private chat with the bot is written.
    """

    name: str
    caps: Capabilities
    limits: SendLimits

    def deep_link(self, code: str | None = None) -> str | None:
        """A link that opens a private chat with the bot (joining with ``code``), or None."""
        ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def send(self, chat_id: str, replies: list[Reply]) -> Delivery: ...
