"""The composition root: builds the context, starts every configured channel, one dispatcher
with a sender per channel, and the clock; stops them in reverse on SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
import logging
import signal

from bot.channels import files, health
from bot.channels.port import Channel
from bot.channels.telegram import TelegramChannel, bot_username
from bot.channels.telegram import deep_link as telegram_link
from bot.channels.web import WebServer
from bot.channels.zalo import ZaloChannel
from bot.config import Settings, safe_url
from bot.context import AppContext
from bot.logs import setup_logging
from bot.views.reminders import render as render_reminder
from scheduler.dispatcher import Dispatcher
from scheduler.service import SchedulerService, freeze_survivors

log = logging.getLogger("vstbpn")


def web_server(settings: Settings) -> WebServer:
    """The bot's web server, where channels add their webhook routes; started if one did."""
    return WebServer(settings.webhook_listen, settings.webhook_port)


def configured_channels(app: AppContext, web: WebServer | None = None) -> list[Channel]:
    """Every channel whose token is set (and, with a public address, the download links)."""
    channels: list[Channel] = []
    if app.settings.telegram_token is not None:
        channels.append(TelegramChannel(app, web))
    if app.settings.zalo_token is not None:
        channels.append(ZaloChannel(app, web))
    if web is not None and app.settings.public_url is not None:
        web.add_route(files.PATH, files.download(app), methods=["GET"])
    return channels


def make_dispatcher(app: AppContext, channels: list[Channel]) -> Dispatcher:
    return Dispatcher(app, list(channels), render_reminder)


async def start_channel(app: AppContext, channel: Channel) -> None:
    await channel.start()
    app.deep_links[channel.name] = channel.deep_link


async def serve(
    app: AppContext, channels: list[Channel], stop: asyncio.Event, web: WebServer | None = None
) -> None:
    """Run the web server (if a channel added a route), the channels and the reminder clock
    until ``stop`` is set."""
    started: list[Channel] = []
    service: SchedulerService | None = None
    try:
        if web is not None and web.routes:
            health.add_routes(web, app)
            await web.start()  # listening before any webhook is registered
        for channel in channels:
            await start_channel(app, channel)
            started.append(channel)
        service = SchedulerService(app, make_dispatcher(app, channels))
        service.start()
        # What start-up loaded lives as long as the process: out of the collector's sight, a
        # full collection no longer stops every update under way for 50–150 ms.
        freeze_survivors()
        await stop.wait()
    finally:
        if service is not None:
            await service.stop()
        if web is not None:  # no new webhook updates, then the channels finish what they took
            await web.stop()
        for channel in reversed(started):
            await channel.stop()


async def learn_deep_links(app: AppContext) -> None:
    """For the command line, which does not start the channels: links for invites."""
    username = await bot_username(app.settings)
    if username:
        app.deep_links["telegram"] = lambda code: telegram_link(username, code)


def secrets_of(settings: Settings) -> list[str]:
    """Values that must never appear in a log line."""
    found = [settings.telegram_token, settings.zalo_token]
    return [s.get_secret_value() for s in found if s is not None] + [
        s for s in (settings.telegram_secret, settings.zalo_secret) if s is not None]


def run(settings: Settings) -> None:
    """`vstbpn run`: the bot in the foreground until SIGINT or SIGTERM."""
    settings.require_channel()  # nothing to serve without a token: one line, before anything
    setup_logging(settings.log_level, settings.log_format, secrets_of(settings))

    async def main() -> None:
        app = await AppContext.create(settings)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            web = web_server(settings)
            channels = configured_channels(app, web)
            log.info("bot_starting", extra={
                "database": safe_url(settings.database_url),
                "channels": [c.name for c in channels],
            })
            await serve(app, channels, stop, web)
        finally:
            await app.close()

    asyncio.run(main())
