"""`vstbpn run` as a real process: starts with only a token, answers, stops on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import sys

TOKEN = "424242:PROCESS-secret-token"


async def test_run_command_serves_and_never_logs_the_token(tmp_path, tg_api) -> None:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("VSTBPN_")
    } | {
        "VSTBPN_TELEGRAM_TOKEN": TOKEN,
        "VSTBPN_TELEGRAM_BASE_URL": tg_api.base_url,
        "VSTBPN_LOG_LEVEL": "DEBUG",
        "XDG_DATA_HOME": str(tmp_path / "data"),
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", "from bot.cli import main; main()", "run",
        cwd=tmp_path, env=env, stderr=asyncio.subprocess.PIPE,
    )
    try:
        tg_api.push_message(555, "xin chào")
        (answer,) = await tg_api.wait_for_messages(555, 1, timeout=60)
        assert "Để tham gia" in (answer.text or "")
    finally:
        proc.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(proc.communicate(), timeout=60)
    log = stderr.decode()
    assert proc.returncode == 0, log
    database = tmp_path / "data" / "vstbpn" / "vstbpn.db"  # the per-user default
    assert database.exists() and database.stat().st_mode & 0o777 == 0o600
    assert str(database) in log  # says which database it uses
    assert '"event": "telegram_started"' in log
    assert TOKEN not in log and "xin chào" not in log
