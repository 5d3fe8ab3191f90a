"""Chat with the bot in a terminal, as a chosen member or as a stranger."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from pathlib import Path

from bot.context import AppContext
from bot.i18n import Translator
from bot.messages import Capabilities, Inbound, Reply, numbered
from bot.services import members
from handlers.router import handle

CHANNEL = "console"
CAPS = Capabilities(buttons=False, max_text=100_000, files=True, groups=False)


async def identity_for_member(app: AppContext, member_id: int) -> tuple[str, str]:
    """The console identity (external id, display name) of a member, created on first use."""
    async with app.transaction() as session:
        member = await members.by_id(session, member_id)
        if member is None or not member.active:
            raise LookupError(f"no active member {member_id}")
        external_id = f"member-{member.id}"
        await members.link_account(session, member, channel=CHANNEL, external_id=external_id,
                                   chat_id=external_id, now=app.clock.now())
        return external_id, member.full_name


def stranger_identity() -> str:
    return f"stranger-{secrets.token_hex(4)}"


class ConsoleChat:
    """One person's conversation; `say` returns what the bot printed."""

    def __init__(
        self, app: AppContext, external_id: str, display_name: str = "",
        language: str | None = None, files_dir: Path | None = None,
    ) -> None:
        self.app = app
        self.external_id = external_id
        self.display_name = display_name
        self.language = language
        self.files_dir = files_dir or Path.cwd()

    async def say(self, text: str) -> list[str]:
        inbound = Inbound(
            channel=CHANNEL, user_id=self.external_id, chat_id=self.external_id, text=text,
            display_name=self.display_name, language_hint=self.language,
        )
        return [self.render(r) for r in await handle(self.app, inbound, CAPS)]

    def render(self, reply: Reply) -> str:
        hint = Translator(reply.lang).gettext("(reply with a number)")
        text = numbered(reply, hint)
        if reply.file is not None:
            path = self.files_dir / reply.file.filename
            path.write_bytes(reply.file.content)
            text += f"\n[{path}]"
        return text


async def repl(chat: ConsoleChat, read: Callable[[str], str] = input) -> None:
    """Read lines until EOF or /quit, printing the bot's answers."""
    while True:
        try:
            line = await asyncio.to_thread(read, "> ")
        except EOFError:
            return
        if line.strip() in {"/quit", "/exit"}:
            return
        if not line.strip():
            continue
        for out in await chat.say(line):
            print(out, end="\n\n", flush=True)
