"""Sending limits (each channel declares its own): per second overall, per chat, per group."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable

# The server counts a message when it arrives, we when we let it go: messages sent together
# may arrive in another order. A window a little longer than a second keeps a strict server
# (Telegram answers 429 past its limit) from ever seeing one too many.
MARGIN = 0.03


class RateLimiter:
    """Waits until one more message to a chat stays within every limit, then counts it.

    Time and sleep are injectable so tests run the limits on virtual time.
    """

    def __init__(
        self, *, per_second: int | None = None, chat_interval: float = 0.0,
        group_per_minute: int | None = None, margin: float = MARGIN,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.per_second = per_second
        self.chat_interval = chat_interval
        self.group_per_minute = group_per_minute
        self.margin = margin if per_second else 0.0
        self._now = monotonic
        self._sleep = sleep
        self._recent: deque[float] = deque()
        self._last_by_chat: dict[str, float] = {}
        self._group_recent: dict[str, deque[float]] = {}

    def _ready_at(self, chat: str, group: bool) -> float:
        ready = self._last_by_chat.get(chat, float("-inf")) + self.chat_interval
        if self.per_second and len(self._recent) >= self.per_second:
            ready = max(ready, self._recent[-self.per_second] + 1.0 + self.margin)
        sent = self._group_recent.get(chat)
        if group and sent is not None and self.group_per_minute \
                and len(sent) >= self.group_per_minute:
            ready = max(ready, sent[-self.group_per_minute] + 60.0)
        return ready

    async def wait(self, chat: str, *, group: bool = False) -> None:
        while (delay := self._ready_at(chat, group) - self._now()) > 0:
            await self._sleep(delay)
        now = self._now()
        if self.per_second:
            self._recent.append(now)
            while len(self._recent) > self.per_second:
                self._recent.popleft()
        self._last_by_chat[chat] = now
        if group and self.group_per_minute:
            sent = self._group_recent.setdefault(chat, deque())
            sent.append(now)
            while len(sent) > self.group_per_minute:
                sent.popleft()
