"""`vstbpn run` as a child process, for tests of several bot processes on one database.

:class:`BotProcess` starts the real command (webhook mode on a loopback port, against a fake
Bot API), drains and keeps its log (JSON lines on stderr, so the pipe never fills), and
talks to it over HTTP: ``/healthz``, ``/metrics`` and the Telegram webhook.

Run as ``python -m tests.fakes.bot_process run`` (what :class:`BotProcess` does), the module
is ``vstbpn``'s own entry point with one test seam: ``VSTBPN_TEST_CLOCK_OFFSET`` (seconds)
moves the process's system clock by that much, so that "now" falls on a working day inside
the send window whatever the day and hour the tests run. Time still passes at its real pace
(leases, retries and the scheduler's intervals are real), and processes given the same offset
agree on "now" as production processes on synchronised clocks do.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

REPO = Path(__file__).resolve().parents[2]
CLOCK_OFFSET_ENV = "VSTBPN_TEST_CLOCK_OFFSET"
WEBHOOK_SECRET = "webhook-secret-for-tests"


def free_port() -> int:
    """A loopback port free right now (bound and released: another process could take it
    before the bot binds it, which on a test machine does not happen in practice)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def parse_metrics(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of a /metrics page, by (sample name, labels)."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def sample(samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str,
           **labels: str) -> float:
    """The sum of the samples called ``name`` whose labels include ``labels`` (0: none)."""
    wanted = set(labels.items())
    return sum(value for (n, have), value in samples.items() if n == name and wanted <= have)


class BotProcess:
    """One `vstbpn run` process in Telegram webhook mode; ``start``, then ``stop`` or
    ``kill`` (always kill in a ``finally``: a failed test must leave no process running)."""

    def __init__(
        self, name: str, *, database_url: str, bot_api_url: str, token: str,
        clock_offset: float = 0.0, cwd: Path | None = None, **settings: str,
    ) -> None:
        self.name = name
        self.port = free_port()
        self.token = token
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("VSTBPN_")} | {
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
            "VSTBPN_TELEGRAM_TOKEN": token,
            "VSTBPN_TELEGRAM_BASE_URL": bot_api_url,
            "VSTBPN_TELEGRAM_MODE": "webhook",
            "VSTBPN_WEBHOOK_URL": f"{self.base_url}/telegram",
            "VSTBPN_WEBHOOK_LISTEN": "127.0.0.1",
            "VSTBPN_WEBHOOK_PORT": str(self.port),
            "VSTBPN_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "VSTBPN_DATABASE_URL": database_url,
            "VSTBPN_LOG_LEVEL": "INFO",
            "VSTBPN_LOG_FORMAT": "json",
            CLOCK_OFFSET_ENV: repr(clock_offset),
        } | {f"VSTBPN_{key.upper()}": value for key, value in settings.items()}
        self.cwd = cwd or REPO
        self.proc: asyncio.subprocess.Process | None = None
        self.lines: list[str] = []
        self._drain: asyncio.Task[None] | None = None
        self.http = httpx.AsyncClient(base_url=self.base_url, timeout=10)

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.fakes.bot_process", "run",
            cwd=self.cwd, env=self.env, stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
            limit=4 * 1024 * 1024,  # one log line may hold a traceback
        )
        self._drain = asyncio.create_task(self._read_log())

    async def _read_log(self) -> None:
        assert self.proc is not None and self.proc.stderr is not None
        while line := await self.proc.stderr.readline():
            self.lines.append(line.decode(errors="replace").rstrip("\n"))

    @property
    def returncode(self) -> int | None:
        return None if self.proc is None else self.proc.returncode

    def terminate(self) -> None:
        """SIGTERM, as systemd or Docker stops the bot."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)

    async def wait(self, timeout: float) -> int:  # noqa: ASYNC109 — a safety bound
        assert self.proc is not None
        rc = await asyncio.wait_for(self.proc.wait(), timeout)
        if self._drain is not None:
            await asyncio.wait_for(self._drain, 5)
        return rc

    async def stop(self, timeout: float = 10.0) -> tuple[int, float]:  # noqa: ASYNC109
        """SIGTERM and wait: (exit code, seconds it took)."""
        started = time.monotonic()
        self.terminate()
        rc = await self.wait(timeout)
        return rc, time.monotonic() - started

    async def kill(self) -> None:
        """Make sure the process is gone (SIGKILL if still running); never raises."""
        with contextlib.suppress(Exception):
            if self.proc is not None and self.proc.returncode is None:
                self.proc.kill()
                await asyncio.wait_for(self.proc.wait(), 10)
        with contextlib.suppress(Exception):
            if self._drain is not None:
                await asyncio.wait_for(self._drain, 5)
        with contextlib.suppress(Exception):
            await self.http.aclose()

    # ------------------------------------------------------------------ the log

    def log(self, last: int | None = None) -> str:
        lines = self.lines if last is None else self.lines[-last:]
        return f"----- {self.name} (pid {self.proc.pid if self.proc else '-'}, " \
               f"exit {self.returncode}) -----\n" + "\n".join(lines)

    def events(self, event: str) -> list[dict[str, Any]]:
        found = []
        for line in self.lines:
            with contextlib.suppress(ValueError):
                entry = json.loads(line)
                if isinstance(entry, dict) and entry.get("event") == event:
                    found.append(entry)
        return found

    def errors(self) -> list[str]:
        """Log lines at error level (or not JSON at all: a crash's traceback)."""
        found = []
        for line in self.lines:
            try:
                entry = json.loads(line)
            except ValueError:
                found.append(line)
                continue
            if not isinstance(entry, dict) or entry.get("level") in ("error", "critical"):
                found.append(line)
        return found

    # ------------------------------------------------------------------ HTTP

    async def healthz(self) -> tuple[int, dict[str, Any]] | None:
        """(status, body) of GET /healthz, or None while nothing listens."""
        try:
            response = await self.http.get("/healthz")
        except httpx.TransportError:
            return None
        return response.status_code, response.json()

    async def wait_healthy(self, timeout: float = 60.0) -> dict[str, Any]:  # noqa: ASYNC109
        """Poll /healthz until it says 200; its body."""
        async with asyncio.timeout(timeout):
            while True:
                if self.returncode is not None:
                    raise AssertionError(f"{self.name} exited with {self.returncode}\n{self.log()}")
                answer = await self.healthz()
                if answer is not None and answer[0] == 200:
                    return answer[1]
                await asyncio.sleep(0.1)

    async def leader(self) -> bool | None:
        answer = await self.healthz()
        return None if answer is None else bool(answer[1].get("leader"))

    async def metrics(self) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
        response = await self.http.get("/metrics")
        response.raise_for_status()
        return parse_metrics(response.text)

    async def post_update(self, update: dict[str, Any]) -> int:
        """POST one update to the webhook, as Telegram does; the HTTP status."""
        response = await self.http.post(
            "/telegram", json=update, headers={"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET})
        return response.status_code


def _main() -> None:
    offset = float(os.environ.get(CLOCK_OFFSET_ENV) or 0)
    if offset:
        from datetime import UTC, datetime, timedelta

        from scheduler import clock

        shift = timedelta(seconds=offset)
        clock.SystemClock.now = lambda self: datetime.now(UTC) + shift  # type: ignore[method-assign]

    from bot.cli import main

    main()


if __name__ == "__main__":
    _main()
