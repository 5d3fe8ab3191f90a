"""Command-line duty administration and the calendar dry run (registered on the main app)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the duty, deadline and calendar commands to the `vstbpn` app."""
