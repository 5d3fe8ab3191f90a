"""Memory at rest: python bench/bench_footprint.py [--runs R] [--members N] [--wait S].

Starts, against the fake Bot API of the tests (long polling), in turn:

- a bare python-telegram-bot echo bot (the baseline);
- `vstbpn run` on an empty SQLite database;
- `vstbpn run` on a database of N members (20 a unit), after its first plan has read them.

and reads each process's resident memory (VmRSS) and peak (VmHWM) after S seconds at rest.
Alternates the three R times and prints the median and spread.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_plan import setup  # noqa: E402
from tests.fakes.telegram_api import FakeTelegramAPI  # noqa: E402

TOKEN = "424242:FOOTPRINT"
RUN = "from bot.cli import main; main()"
BARE = """
import sys
from telegram.ext import Application, MessageHandler, filters
async def echo(update, context):
    await update.message.reply_text(update.message.text)
app = Application.builder().token(sys.argv[1]).base_url(sys.argv[2] + "/bot").build()
app.add_handler(MessageHandler(filters.TEXT, echo))
app.run_polling()
"""


def memory(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) in MB."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text()
                  .splitlines() if ":" in line)
    return (int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024)


async def measure(args: list[str], env: dict[str, str], wait: float) -> tuple[float, float]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, *args, env=env, cwd=env.get("HOME", "/tmp"),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
    try:
        await asyncio.sleep(wait)
        assert proc.returncode is None, f"{args[-1]} stopped"
        return memory(proc.pid)
    finally:
        if proc.returncode is None:
            proc.terminate()
        await proc.wait()


async def main(runs: int, members: int, wait: float) -> None:
    results: dict[str, list[tuple[float, float]]] = {}
    async with FakeTelegramAPI() as api:
        with tempfile.TemporaryDirectory() as tmp:
            big = f"sqlite+aiosqlite:///{tmp}/big.db"
            await setup(big, max(1, members // 20), 20)
            base = {k: v for k, v in os.environ.items() if not k.startswith("VSTBPN_")}
            ours = base | {"VSTBPN_TELEGRAM_TOKEN": TOKEN,
                           "VSTBPN_TELEGRAM_BASE_URL": api.base_url, "HOME": tmp}
            cases = {
                "bare python-telegram-bot": (["-c", BARE, TOKEN, api.base_url], base),
                "vstbpn run, empty": (["-c", RUN, "run"], ours | {
                    "VSTBPN_DATABASE_URL": f"sqlite:///{tmp}/empty.db"}),
                f"vstbpn run, {members:,} members": (["-c", RUN, "run"], ours | {
                    "VSTBPN_DATABASE_URL": big}),
            }
            for _ in range(runs):
                for name, (args, env) in cases.items():
                    results.setdefault(name, []).append(
                        await measure(args, env | {"PYTHONPATH": str(ROOT)}, wait))
    bare = statistics.median(r[0] for r in results["bare python-telegram-bot"])
    for name, found in results.items():
        rss = [r[0] for r in found]
        print(f"{name:34} RSS {statistics.median(rss):6.1f} MB (min {min(rss):.1f}, max "
              f"{max(rss):.1f})  peak {max(r[1] for r in found):6.1f} MB  "
              f"× bare {statistics.median(rss) / bare:.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--members", type=int, default=50_000)
    parser.add_argument("--wait", type=float, default=20.0)
    parser.add_argument("--tiny", action="store_true", help="a short run, for CI")
    ns = parser.parse_args()
    if ns.tiny:
        ns.runs, ns.members, ns.wait = 1, 200, 6.0
    asyncio.run(main(ns.runs, ns.members, ns.wait))
