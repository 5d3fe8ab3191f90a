"""Dialogue state per chat identity, stored so a restart mid-dialogue loses nothing."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import insert_ignore
from bot.models import ChatAccount, Conversation
from bot.services import members

_LOCKED = select(Conversation).where(
    Conversation.channel == bindparam("channel"),
    Conversation.external_id == bindparam("external_id"),
).with_for_update().execution_options(populate_existing=True)
# The same row with the person's chat account (and its member), for a turn: one statement.
_LOCKED_WITH_ACCOUNT = _LOCKED.add_columns(ChatAccount).outerjoin(ChatAccount, and_(
    ChatAccount.channel == Conversation.channel,
    ChatAccount.external_id == Conversation.external_id,
)).with_for_update(of=Conversation)


async def load(
    session: AsyncSession, channel: str, external_id: str, now: datetime
) -> Conversation:
    """The person's conversation row, created if new and locked for this turn.

    SELECT … FOR UPDATE, and for someone new insert-or-ignore first: two processes taking one
    person's messages at once never race into a unique-key error; the second waits for the
    first turn to commit.
    """
    return (await _locked(session, _LOCKED, channel, external_id, now))[0]


async def load_for_turn(
    session: AsyncSession, channel: str, external_id: str, now: datetime
) -> tuple[Conversation, ChatAccount | None]:
    """As ``load``, with the person's chat account if it belongs to an active member, read
    in the same statement: every turn needs both."""
    convo, account = await _locked(session, _LOCKED_WITH_ACCOUNT, channel, external_id, now)
    return convo, members.if_active(account)


async def _locked(session: AsyncSession, statement: Any, channel: str, external_id: str,
                  now: datetime) -> Any:
    key = {"channel": channel, "external_id": external_id}
    found = (await session.execute(statement, key)).first()
    if found is None:
        await insert_ignore(session, Conversation, [{
            **key, "state": None, "data": {}, "choices": {}, "updated_at": now,
        }], ["channel", "external_id"])
        found = (await session.execute(statement, key)).first()
    assert found is not None
    return found


def expire(convo: Conversation, now: datetime, timeout: timedelta) -> bool:
    """Forget a dialogue left untouched longer than ``timeout``; True if one was forgotten."""
    if convo.state is None or now - convo.updated_at <= timeout:
        return False
    clear(convo, now)
    convo.choices = {}
    return True


_FAILURES = "_failures"  # turns of this dialogue that failed in a row


def count_failure(convo: Conversation) -> int:
    failures = int(convo.data.get(_FAILURES, 0)) + 1
    convo.data = {**convo.data, _FAILURES: failures}
    return failures


def forget_failures(convo: Conversation) -> None:
    if _FAILURES in convo.data:
        convo.data = {k: v for k, v in convo.data.items() if k != _FAILURES}


def enter(convo: Conversation, state: str, now: datetime, **data: Any) -> None:
    convo.state = state
    convo.data = dict(data)
    convo.updated_at = now


def clear(convo: Conversation, now: datetime) -> None:
    convo.state = None
    convo.data = {}
    convo.updated_at = now
