"""The bot's own web server: one small Starlette app under uvicorn, on which channels register
their webhook routes (Telegram's /telegram; later Zalo's, /healthz and /metrics).

bot.app creates it, hands it to the channels, and starts it only when a route was added.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Awaitable, Callable, Iterator

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.config import SettingsError

log = logging.getLogger(__name__)

Endpoint = Callable[[Request], Awaitable[Response]]


class BodyTooLarge(Exception):
    """The request body is over the route's limit."""


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refusing (BodyTooLarge) as soon as it passes ``limit`` bytes.

    The declared Content-Length is checked before anything is read, and a chunked stream is
    cut off once it passes the limit, so a large body is never held in memory.
    """
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise BodyTooLarge
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise BodyTooLarge
    return bytes(body)


def refuse(status: int) -> Response:
    """An error answer that also closes the connection, so an unread body is not taken in."""
    return Response(status_code=status, headers={"Connection": "close"})


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # bot.app owns SIGINT/SIGTERM and stops everything in order; uvicorn must not take them.
        yield


class WebServer:
    """HTTP for every channel: ``add_route`` before ``start``; ``stop`` finishes requests."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self.routes: list[Route] = []
        self._server: _Server | None = None
        self._task: asyncio.Task[None] | None = None

    def add_route(self, path: str, endpoint: Endpoint, methods: list[str]) -> None:
        self.routes.append(Route(path, endpoint, methods=methods))

    async def start(self) -> None:
        # Bind here rather than in uvicorn, which exits the process when the port is taken.
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.host, self.port))
        except OSError as exc:
            sock.close()
            raise SettingsError(
                f"Cannot listen on VSTBPN_WEBHOOK_LISTEN={self.host} "
                f"VSTBPN_WEBHOOK_PORT={self.port} ({exc.strerror}): choose a free port and an "
                "address of this machine"
            ) from None
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            Starlette(routes=self.routes), lifespan="off", access_log=False,
            log_config=None, log_level="warning", timeout_graceful_shutdown=5,
        )
        server = _Server(config)
        self._server = server
        self._task = asyncio.create_task(server.serve(sockets=[sock]))
        # uvicorn says it is listening only through this flag (no event to wait on).
        while not server.started and not self._task.done():  # noqa: ASYNC110
            await asyncio.sleep(0.01)
        if self._task.done():
            sock.close()
            self._task.result()  # startup failed: raise why
            raise RuntimeError("the web server stopped while starting")
        log.info("web_server_started", extra={
            "listen": self.host, "port": self.port, "paths": [r.path for r in self.routes],
        })

    async def stop(self) -> None:
        if self._server is None or self._task is None:
            return
        self._server.should_exit = True
        await self._task
        self._server = self._task = None
        log.info("web_server_stopped")
