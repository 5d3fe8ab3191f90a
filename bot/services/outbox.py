"""Putting messages in the outbox: one row per (occurrence, recipient, kind, stage), never two."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import insert_fresh, insert_ignore
from bot.models import OutboxMessage, OutboxStatus

UNIQUE = ["occurrence_id", "recipient", "kind", "stage"]


def member_recipient(member_id: int) -> str:
    return f"member:{member_id}"


def group_recipient(group_id: int) -> str:
    return f"group:{group_id}"


def row(
    occurrence_id: int | None, recipient: str, kind: str, stage: str, send_at: datetime,
    now: datetime, payload: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "occurrence_id": occurrence_id, "recipient": recipient, "kind": kind, "stage": stage,
        "send_at": send_at, "status": OutboxStatus.pending, "attempts": 0,
        "next_attempt_at": send_at, "created_at": now, "payload": payload,
    }


async def enqueue(session: AsyncSession, rows: list[dict[str, Any]]) -> int:
    """Insert-or-ignore: planning again, or in a second process, adds nothing."""
    return await insert_ignore(session, OutboxMessage, rows, UNIQUE)


async def enqueue_fresh(session: AsyncSession, rows: list[dict[str, Any]]) -> int:
    """Rows of occurrences created in this very transaction: none can be there already, so
    they go in without the conflict check."""
    return await insert_fresh(session, OutboxMessage, rows)


async def enqueue_notices(session: AsyncSession, rows: list[dict[str, Any]]) -> int:
    """Insert-or-ignore notices (no occurrence): unique per (recipient, kind, stage)."""
    return await insert_ignore(session, OutboxMessage, rows, None)


async def oldest_due(session: AsyncSession, now: datetime) -> datetime | None:
    """When the longest-waiting message still to send fell due (None: nothing waits)."""
    return await session.scalar(select(func.min(OutboxMessage.next_attempt_at)).where(
        OutboxMessage.status.in_([OutboxStatus.pending, OutboxStatus.sending]),
        OutboxMessage.next_attempt_at <= now))
