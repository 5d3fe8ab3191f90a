"""A member's role, apart from the tables: the command line names it in its options and must
not load SQLAlchemy for that (bot.models re-exports it)."""

from __future__ import annotations

import enum


class Role(enum.StrEnum):
    member = "member"
    focal = "focal"
    admin = "admin"
