"""Updates already taken in, per channel: a platform that delivers one twice (a webhook
retried, a long poll repeated after a restart) gets it handled once."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import insert_ignore
from bot.models import SeenUpdate

KEEP = timedelta(days=7)  # longer than any platform re-delivers


async def first_time(session: AsyncSession, channel: str, update_id: str, now: datetime) -> bool:
    """Record the update; False if it was seen before."""
    added = await insert_ignore(session, SeenUpdate, [
        {"channel": channel, "update_id": update_id[:64], "at": now}], ["channel", "update_id"])
    return added == 1


async def forget_old(session: AsyncSession, now: datetime) -> None:
    await session.execute(delete(SeenUpdate).where(SeenUpdate.at < now - KEEP))
