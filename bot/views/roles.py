"""The names of roles, as people read them."""

from __future__ import annotations

from bot.i18n import N_, Translator
from bot.models import Role

ROLE_NAMES = {
    Role.member: N_("member"),
    Role.focal: N_("focal point"),
    Role.admin: N_("admin"),
}


def role_name(t: Translator, role: str) -> str:
    return t.gettext(ROLE_NAMES[Role(role)])
