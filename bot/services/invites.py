"""Invite codes: random, unguessable, limited in time and uses; guessing is throttled."""

from __future__ import annotations

import enum
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import Invite, JoinFailure, Member, Role, Unit
from bot.services import audit
from bot.services.audit import Action

# No 0/o, 1/l/i: codes are also typed by hand on channels without deep links.
ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"
CODE_LENGTH = 12  # 31**12 ≈ 2**59
MAX_FAILURES = 5  # per chat identity
# Across everyone: many identities guessing at once (a script) are slowed down together.
GLOBAL_MAX_FAILURES = 100
FAILURE_WINDOW = timedelta(minutes=15)


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def normalize_code(text: str) -> str:
    return text.strip().lower().replace("-", "").replace(" ", "")


def looks_like_code(text: str) -> bool:
    code = normalize_code(text)
    return len(code) == CODE_LENGTH and all(ch in ALPHABET for ch in code)


def code_hash(code: str) -> str:
    return hashlib.sha256(normalize_code(code).encode()).hexdigest()


class RedeemError(enum.Enum):
    unknown = "unknown"
    expired = "expired"
    used_up = "used_up"
    throttled = "throttled"


@dataclass
class Redeemed:
    unit: Unit
    role: Role
    member_id: int | None = None  # a /link code: the member this app joins


LINK_LIFETIME = timedelta(hours=1)


async def create_link(session: AsyncSession, member: Member, now: datetime) -> str:
    """A one-time code that attaches the app it is sent from to this member (/link)."""
    code = new_code()
    session.add(Invite(code_hash=code_hash(code), unit_id=member.unit_id, role=member.role,
                       expires_at=now + LINK_LIFETIME, max_uses=1, uses=0,
                       created_by=member.id, created_at=now, member_id=member.id))
    await session.flush()
    return code


async def create(
    session: AsyncSession, *, unit_id: int, role: Role, now: datetime,
    expires_days: int = 7, uses: int = 1, created_by: int | None = None,
) -> tuple[Invite, str]:
    if expires_days < 1 or uses < 1:
        raise ValueError("expiry and uses must be at least 1")
    unit = await session.get(Unit, unit_id)
    if unit is None:
        raise ValueError(f"unit {unit_id} does not exist")
    code = new_code()
    invite = Invite(
        code_hash=code_hash(code), unit_id=unit_id, role=role.value,
        expires_at=now + timedelta(days=expires_days), max_uses=uses, uses=0,
        created_by=created_by, created_at=now, unit=unit,
    )
    session.add(invite)
    await session.flush()
    audit.record(session, unit_id=unit_id, actor=created_by, action=Action.invite_created,
                 now=now, invite=invite.id, role=role.value, uses=uses, days=expires_days)
    return invite, code


async def is_throttled(
    session: AsyncSession, channel: str, external_id: str, now: datetime
) -> bool:
    recent = JoinFailure.at > now - FAILURE_WINDOW
    everyone = await session.scalar(select(func.count()).select_from(JoinFailure).where(recent))
    if (everyone or 0) >= GLOBAL_MAX_FAILURES:
        return True
    mine = await session.scalar(
        select(func.count()).select_from(JoinFailure).where(
            JoinFailure.channel == channel, JoinFailure.external_id == external_id, recent,
        )
    )
    return (mine or 0) >= MAX_FAILURES


async def redeem(
    session: AsyncSession, code: str, *, channel: str, external_id: str, now: datetime
) -> Redeemed | RedeemError:
    """Check and consume one use of the code. Failures are recorded for throttling."""
    if await is_throttled(session, channel, external_id, now):
        return RedeemError.throttled
    invite = await session.scalar(
        select(Invite).where(Invite.code_hash == code_hash(code)).with_for_update(of=Invite)
    )
    error: RedeemError | None = None
    if invite is None or invite.revoked_at is not None:
        error = RedeemError.unknown
    elif invite.expires_at <= now:
        error = RedeemError.expired
    elif invite.uses >= invite.max_uses:
        error = RedeemError.used_up
    if error is not None:
        session.add(JoinFailure(channel=channel, external_id=external_id, at=now))
        # Failures older than the window count for nothing: they do not pile up.
        await session.execute(delete(JoinFailure).where(JoinFailure.at <= now - FAILURE_WINDOW))
        await session.flush()
        return error
    assert invite is not None
    invite.uses += 1
    await session.execute(
        delete(JoinFailure).where(
            JoinFailure.channel == channel, JoinFailure.external_id == external_id
        )
    )
    await session.flush()
    return Redeemed(unit=invite.unit, role=Role(invite.role), member_id=invite.member_id)


async def list_invites(session: AsyncSession, unit_ids: list[int] | None = None) -> list[Invite]:
    query = select(Invite).where(Invite.member_id.is_(None)).order_by(Invite.id)  # not /link
    if unit_ids is not None:
        query = query.where(Invite.unit_id.in_(unit_ids))
    return list(await session.scalars(query))


async def revoke(
    session: AsyncSession, invite_id: int, now: datetime, by: int | None = None
) -> bool:
    invite = await session.get(Invite, invite_id)
    if invite is None or invite.revoked_at is not None:
        return False
    invite.revoked_at = now
    await session.flush()
    audit.record(session, unit_id=invite.unit_id, actor=by, action=Action.invite_revoked,
                 now=now, invite=invite.id)
    return True
