"""Download links for files a channel cannot upload (Zalo): the file is kept in the database
for one member until the link expires; the link is the row's id, its expiry and a signature
(HMAC with a key the bot makes on first start), so a changed or guessed link opens nothing."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import insert_ignore
from bot.models import AppKey, FileLink, Member

LINK_LIFETIME = timedelta(days=3)
KEY_NAME = "file_links"
_TOKEN = re.compile(r"([0-9]{1,12})\.([0-9]{1,12})\.([0-9a-f]{32})")


async def _key(session: AsyncSession) -> bytes:
    """The signing key, made once (two processes starting at once agree on the first)."""
    await insert_ignore(session, AppKey, [{"name": KEY_NAME, "value": secrets.token_hex(32)}],
                        ["name"])
    value = await session.scalar(select(AppKey.value).where(AppKey.name == KEY_NAME))
    assert value is not None
    return bytes.fromhex(value)


def _signature(key: bytes, link_id: int, expires: int, member_id: int) -> str:
    message = f"{link_id}.{expires}.{member_id}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:32]


async def issue(
    session: AsyncSession, member_id: int, filename: str, mime: str, content: bytes,
    now: datetime,
) -> str:
    """Keep the file for the member; the token of its link (``/files/<token>``)."""
    link = FileLink(member_id=member_id, filename=filename, mime=mime, content=content,
                    created_at=now, expires_at=now + LINK_LIFETIME)
    session.add(link)
    await session.flush()
    expires = int(link.expires_at.timestamp())
    return f"{link.id}.{expires}.{_signature(await _key(session), link.id, expires, member_id)}"


async def open_link(session: AsyncSession, token: str, now: datetime) -> FileLink | None:
    """The file behind a link, if the link is intact, not expired, and its member is still
    active; None otherwise (the caller says no more than "not available")."""
    m = _TOKEN.fullmatch(token)
    if m is None:
        return None
    link_id, expires = int(m[1]), int(m[2])
    if expires < now.timestamp():
        return None
    link = await session.get(FileLink, link_id)
    if link is None or int(link.expires_at.timestamp()) != expires:
        return None
    # Read, not made: a download runs no write (on SQLite a write would lock the database).
    key = await session.scalar(select(AppKey.value).where(AppKey.name == KEY_NAME))
    if key is None:
        return None
    expected = _signature(bytes.fromhex(key), link.id, expires, link.member_id)
    if not hmac.compare_digest(expected, m[3]):
        return None
    member = await session.get(Member, link.member_id)
    return link if member is not None and member.active else None


async def forget_expired(session: AsyncSession, now: datetime) -> int:
    result = await session.execute(delete(FileLink).where(FileLink.expires_at < now))
    return result.rowcount or 0
