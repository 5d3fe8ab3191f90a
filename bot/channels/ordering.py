"""Inbound updates handled concurrently, each person's one after another in the order they came.

A person's turns must not overlap: the second answer of a dialogue depends on the first, and
two turns of one person would only queue on their conversation row anyway. Different people
have nothing to wait for, so their turns run side by side (while one waits on the Bot API,
the next is handled), at most ``limit`` at once.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Hashable
from typing import TypeVar

T = TypeVar("T")

# Turns running at once: enough to keep the database and the Bot API busy while each reply
# waits ~100 ms on the network; few enough that a burst does not open a connection per update.
CONCURRENT_TURNS = 64


class _Line:
    """One person's queue: the lock their turns take in order, and how many hold or want it."""

    __slots__ = ("lock", "users")

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.users = 0


class PerPerson:
    """Runs jobs concurrently, at most ``limit`` at once, one key's jobs one at a time in the
    order ``run`` was called (asyncio.Lock wakes its waiters first come, first served).

    A job waiting for its person's earlier turn holds no slot, so one person sending many
    updates in a row never holds up the others. A key's entry goes once nobody holds or waits
    for it: the memory follows the people writing right now, not everyone ever seen.
    """

    def __init__(self, limit: int = CONCURRENT_TURNS) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        self.limit = limit
        self._slots = asyncio.Semaphore(limit)
        self._lines: dict[Hashable, _Line] = {}
        self.running = 0  # jobs under way now (for tests and benchmarks)
        self.most_running = 0  # the most ever under way at once

    @property
    def people(self) -> int:
        """Keys with a turn under way or waiting."""
        return len(self._lines)

    async def run(self, key: Hashable | None, job: Awaitable[T]) -> T:
        """Await ``job`` in its turn; ``key`` None: no order to keep, only the bound."""
        started = False
        line = None
        if key is not None:
            line = self._lines.get(key)
            if line is None:
                line = self._lines[key] = _Line()
            line.users += 1
        try:
            if line is not None:
                await line.lock.acquire()
            try:
                async with self._slots:
                    started = True
                    self.running += 1
                    self.most_running = max(self.most_running, self.running)
                    try:
                        return await job
                    finally:
                        self.running -= 1
            finally:
                if line is not None:
                    line.lock.release()
        finally:
            if not started and inspect.iscoroutine(job):
                job.close()  # cancelled while waiting: never started, never to be
            if line is not None:
                line.users -= 1
                if line.users == 0:
                    del self._lines[key]
