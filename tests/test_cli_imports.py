"""`vstbpn --help` stays fast: the command line loads the database, the settings, the
migrations and the export libraries only in the commands that use them. Checked by what a
fresh interpreter has imported, not by timing."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = (
    "alembic", "sqlalchemy", "bot.db", "bot.models", "bot.context", "bot.config",
    "bot.services", "bot.exports", "pydantic_settings", "openpyxl", "docx", "matplotlib",
)

HELPS = [
    ["--help"],
    ["report", "--help"],
    ["duty", "list", "--help"],
    ["checkin", "import", "--help"],
    ["member", "set-role", "--help"],
    ["invite", "create", "--help"],
    ["db", "upgrade", "--help"],
    ["doctor", "--help"],
]

# Runs in a fresh interpreter: after importing bot.cli and after each `--help`, which of
# HEAVY are loaded.
SCRIPT = """
import contextlib, io, json, sys

heavy, helps = json.loads(sys.argv[1])

def loaded():
    return sorted(m for m in sys.modules if any(m == h or m.startswith(h + ".") for h in heavy))

import bot.cli

found = {"import bot.cli": loaded()}
for args in helps:
    sys.argv = ["vstbpn", *args]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        try:
            bot.cli.main()
        except SystemExit as exc:
            code = exc.code
        else:
            code = 0
    assert code in (0, None) and "Usage" in out.getvalue(), (args, code, out.getvalue())
    found[" ".join(args)] = loaded()
print(json.dumps(found))
"""


def test_help_loads_no_database_settings_or_export_libraries() -> None:
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, json.dumps([HEAVY, HELPS])],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout.strip().splitlines()[-1])
    assert found == {step: [] for step in found}, found
    assert len(found) == len(HELPS) + 1
