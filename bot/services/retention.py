"""Deleting what is kept only for a while (VSTBPN_RETENTION_DAYS): old conversations, records
of wrong invite codes, and reminders long since sent, skipped or given up."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import Conversation, JoinFailure, OutboxMessage, OutboxStatus

DONE = (OutboxStatus.sent, OutboxStatus.skipped, OutboxStatus.failed)


async def purge(session: AsyncSession, now: datetime, days: int) -> dict[str, int]:
    """Delete rows older than ``days``; returns how many of each. An outbox row is deleted
    only once finished (the planner looks back a week, far less than the 30 days allowed at
    least, so a deleted reminder is never planned again)."""
    cutoff = now - timedelta(days=days)
    deleted = {}
    for name, statement in (
        ("conversations", delete(Conversation).where(Conversation.updated_at < cutoff)),
        ("join_failures", delete(JoinFailure).where(JoinFailure.at < cutoff)),
        ("outbox", delete(OutboxMessage).where(OutboxMessage.status.in_(DONE),
                                               OutboxMessage.send_at < cutoff)),
    ):
        result = await session.execute(statement.execution_options(synchronize_session=False))
        deleted[name] = result.rowcount or 0  # type: ignore[attr-defined]
    return deleted
