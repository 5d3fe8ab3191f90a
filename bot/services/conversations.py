"""Dialogue state per chat identity, stored so a restart mid-dialogue loses nothing."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import Conversation


async def load(
    session: AsyncSession, channel: str, external_id: str, now: datetime
) -> Conversation:
    convo = await session.scalar(
        select(Conversation).where(
            Conversation.channel == channel, Conversation.external_id == external_id
        )
    )
    if convo is None:
        convo = Conversation(
            channel=channel, external_id=external_id, state=None, data={}, choices={},
            updated_at=now,
        )
        session.add(convo)
        await session.flush()
    return convo


def enter(convo: Conversation, state: str, now: datetime, **data: Any) -> None:
    convo.state = state
    convo.data = dict(data)
    convo.updated_at = now


def clear(convo: Conversation, now: datetime) -> None:
    convo.state = None
    convo.data = {}
    convo.updated_at = now
