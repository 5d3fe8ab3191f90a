"""One turn of a conversation: what came in, who sent it, and where replies go."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING

from bot.context import AppContext
from bot.i18n import Translator
from bot.messages import Capabilities, Choice, Inbound, Reply
from bot.models import Conversation, Member
from bot.views.reminders import COMBINED

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession


@dataclass
class Turn:
    app: AppContext
    session: AsyncSession
    inbound: Inbound
    caps: Capabilities
    convo: Conversation
    now: datetime
    t: Translator
    member: Member | None = None
    replies: list[Reply] = field(default_factory=list)

    def _(self, message: str) -> str:
        return self.t.gettext(message)

    def say(self, text: str, choices: list[Choice] | None = None) -> None:
        self.replies.append(Reply(text=text, choices=tuple(choices or ())))

    def outcome(self, text: str, choices: list[Choice] | None = None) -> None:
        """The answer to a pressed button: it replaces the message whose button was pressed
        (where the channel can edit), so its old buttons cannot be pressed again — unless
        that message holds other duties too (a combined reminder), which must stay."""
        combined = (self.inbound.choice or "").endswith(COMBINED)
        self.replies.append(Reply(text=text, choices=tuple(choices or ()),
                                  replaces_origin=not combined))

    def add(self, reply: Reply) -> None:
        self.replies.append(reply)

    @property
    def today(self) -> date:
        """Today where the member's unit works."""
        assert self.member is not None
        return self.member.unit.today(self.now)

    @property
    def args(self) -> list[str]:
        """Words after the command, e.g. ['en'] for '/lang en'."""
        return self.inbound.text.split()[1:]
