"""GET /healthz and GET /metrics on the bot's web server, for the proxy and for Prometheus."""

from __future__ import annotations

import math
import os
from datetime import datetime

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bot import db, metrics
from bot.channels.web import WebServer
from bot.context import AppContext
from bot.services import outbox


def add_routes(web: WebServer, app: AppContext) -> None:
    async def healthz(_request: Request) -> Response:
        """200 only when the database answers and its schema is the newest; which process
        runs the clock is said too (a proxy may send any update to any process)."""
        body: dict[str, object] = {"pid": os.getpid(), "leader": metrics.leading()}
        try:
            current = await db.current_revision(app.engine)
        except Exception:  # noqa: BLE001 — any failure of the database is "unhealthy"
            return JSONResponse({**body, "status": "database unreachable"}, status_code=503)
        head = db.SCHEMA_HEAD
        body.update(migrations=current)
        if current != head:
            return JSONResponse({**body, "status": f"migrations at {current}, not {head}"},
                                status_code=503)
        return JSONResponse({**body, "status": "ok"})

    async def metrics_page(_request: Request) -> Response:
        """The counters even while the database is away (when they matter most); the lag,
        which needs it, is then NaN: unknown."""
        try:
            async with app.sessions() as session:
                oldest = await outbox.oldest_due(session, app.clock.now())
        except Exception:  # noqa: BLE001 — /healthz says what is wrong with the database
            metrics.OUTBOX_LAG.set(math.nan)
        else:
            now: datetime = app.clock.now()
            metrics.OUTBOX_LAG.set(0 if oldest is None else (now - oldest).total_seconds())
        return Response(generate_latest(metrics.REGISTRY), media_type=CONTENT_TYPE_LATEST)

    web.add_route("/healthz", healthz, methods=["GET"])
    web.add_route("/metrics", metrics_page, methods=["GET"])
