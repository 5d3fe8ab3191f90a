"""SQLite through aiosqlite in one trip per statement.

aiosqlite runs each call in its own thread and hands the answer back through the event
loop: a trip costs ~65 µs of CPU, a hundred times the statement itself. SQLAlchemy's
adapter makes four trips per query (open a cursor, execute, fetch, close) and two more per
transaction (commit, then the pool's rollback). Here a cursor runs its statement, fetches
the rows and closes in one trip, and commit and rollback make none when SQLite has no
transaction open (a turn that only read): a member's turn goes from six trips to one
(bench/README.md, "Inbound").

The connection given to SQLAlchemy is aiosqlite's own, with only ``cursor``, ``commit`` and
``rollback`` replaced; like SQLAlchemy's adapter, this uses aiosqlite's ``_execute`` (run a
function in the connection's thread) and ``_conn`` (the sqlite3 connection).
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import aiosqlite


def connector(path: Path) -> Callable[[], Coroutine[Any, Any, OneTripConnection]]:
    """SQLAlchemy's ``async_creator`` for the file at ``path``, connected as its own
    aiosqlite dialect would (an absolute path, usable from the pool's other tasks)."""

    where = os.path.abspath(path)

    async def connect() -> OneTripConnection:
        pending = aiosqlite.connect(where, check_same_thread=False)
        pending._thread.daemon = True  # as SQLAlchemy does: never keeps the process alive
        return OneTripConnection(await pending)

    return connect


def _run(conn: sqlite3.Connection, operation: str, parameters: Any,
         many: bool) -> tuple[Any, list[Any], int, int | None]:
    """In the connection's thread: the statement, its rows, and what the cursor said."""
    cursor = conn.cursor()
    try:
        if many:
            cursor.executemany(operation, parameters)
        else:
            cursor.execute(operation, () if parameters is None else parameters)
        rows = cursor.fetchall() if cursor.description else []
        return cursor.description, rows, cursor.rowcount, cursor.lastrowid
    finally:
        cursor.close()


class OneTripCursor:
    """The cursor SQLAlchemy's adapter drives: every call but execute is answered here."""

    arraysize = 1

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn
        self.description: Any = None
        self.rowcount = -1
        self.lastrowid: int | None = None
        self._rows: list[Any] = []

    async def __aenter__(self) -> OneTripCursor:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        self._rows = []

    async def execute(self, operation: str, parameters: Any = None) -> OneTripCursor:
        return await self._trip(operation, parameters, False)

    async def executemany(self, operation: str, parameters: Any) -> OneTripCursor:
        return await self._trip(operation, parameters, True)

    async def _trip(self, operation: str, parameters: Any, many: bool) -> OneTripCursor:
        self.description, self._rows, self.rowcount, self.lastrowid = (
            await self._conn._execute(_run, self._conn._conn, operation, parameters, many))
        return self

    async def fetchall(self) -> list[Any]:
        rows, self._rows = self._rows, []
        return rows

    async def close(self) -> None:
        self._rows = []


class OneTripConnection:
    """aiosqlite's connection, with one-trip cursors and no trip to end no transaction."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._inner = conn

    def __getattr__(self, name: str) -> Any:  # everything else is aiosqlite's
        return getattr(self._inner, name)

    def cursor(self) -> OneTripCursor:
        return OneTripCursor(self._inner)

    async def commit(self) -> None:
        if self._inner._conn.in_transaction:
            await self._inner.commit()

    async def rollback(self) -> None:
        if self._inner._conn.in_transaction:
            await self._inner.rollback()
