"""/healthz and /metrics on the bot's web server."""

from __future__ import annotations

import httpx

from bot import db, metrics
from bot.channels import health
from bot.channels.web import WebServer
from bot.messages import Inbound
from handlers.router import handle
from tests.test_forms import CONSOLE


def _sample(text: str, name: str, **labels: str) -> float:
    """One sample of the exposition text, e.g. vstbpn_updates_total{channel="x",…}."""
    wanted = ",".join(f'{k}="{v}"' for k, v in labels.items())
    head = f"{name}{{{wanted}}}" if labels else name
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith(head + " "))


async def test_health_and_metrics(app) -> None:
    web = WebServer("127.0.0.1", 0)
    health.add_routes(web, app)
    await web.start()
    base = f"http://127.0.0.1:{web.port}"
    try:
        async with httpx.AsyncClient(base_url=base) as http:
            ok = await http.get("/healthz")
            assert ok.status_code == 200 and ok.json()["status"] == "ok"
            assert ok.json()["migrations"] == db.SCHEMA_HEAD
            assert ok.json()["leader"] is False  # no clock runs in this test

            before = _sample((await http.get("/metrics")).text, "vstbpn_updates_total",
                             channel="console", outcome="ok")
            await handle(app, Inbound("console", "stranger-1", "stranger-1", "/help"), CONSOLE)
            page = await http.get("/metrics")
            assert page.headers["content-type"].startswith("text/plain")
            assert _sample(page.text, "vstbpn_updates_total", channel="console",
                           outcome="ok") == before + 1
            assert _sample(page.text, "vstbpn_handler_seconds_count", channel="console") >= 1
            assert _sample(page.text, "vstbpn_outbox_lag_seconds") == 0  # nothing waits

            metrics.LEADER.set(1)
            assert (await http.get("/healthz")).json()["leader"] is True
            metrics.LEADER.set(0)
            await db.downgrade(app.engine, "-1")  # a schema behind the code: not healthy
            stale = await http.get("/healthz")
            assert stale.status_code == 503 and "migrations" in stale.json()["status"]
            await db.upgrade(app.engine)
    finally:
        await web.stop()
