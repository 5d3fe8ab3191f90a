"""Small texts several handlers share."""

from __future__ import annotations

from bot.i18n import N_, Translator
from bot.models import Role

ROLE_NAMES = {
    Role.member: N_("member"),
    Role.focal: N_("focal point"),
    Role.admin: N_("admin"),
}
LANGUAGE_NAMES = {"vi": "Tiếng Việt", "en": "English"}


def role_name(t: Translator, role: str) -> str:
    return t.gettext(ROLE_NAMES[Role(role)])
