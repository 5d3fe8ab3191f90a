"""The `vstbpn` command: run the bot, manage units, members and invites, migrate."""

from __future__ import annotations

import logging
import sys
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from bot.cli_checkins import register as register_checkin_commands
from bot.cli_common import JsonOpt, emit, fail, local_time, with_app
from bot.cli_duties import register as register_duty_commands
from bot.cli_ops import register as register_ops_commands
from bot.cli_reports import register as register_report_commands
from bot.roles import Role

if TYPE_CHECKING:
    from bot.context import AppContext
    from bot.models import Member

# Only typer and light modules here: the database, settings and services are imported in the
# commands that use them, so that `vstbpn --help` starts fast (see bot/cli_common.py).

T = TypeVar("T")
log = logging.getLogger("vstbpn")

app = typer.Typer(help="Ban VSTBPN assistant.", no_args_is_help=True, add_completion=False)
unit_app = typer.Typer(help="Units (the unit tree).", no_args_is_help=True)
invite_app = typer.Typer(help="Invite codes.", no_args_is_help=True)
member_app = typer.Typer(help="Members.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema (Alembic migrations).", no_args_is_help=True)
app.add_typer(unit_app, name="unit")
app.add_typer(invite_app, name="invite")
app.add_typer(member_app, name="member")
app.add_typer(db_app, name="db")

# --- run ---------------------------------------------------------------------------------


@app.command()
def run() -> None:
    """Run the bot: every channel whose token is set, and the reminder clock."""
    from bot import app as composition
    from bot.config import SettingsError, load_settings

    try:
        composition.run(load_settings())
    except SettingsError as exc:
        fail(str(exc))


@app.command()
def console(
    member: Annotated[int | None, typer.Option(help="Talk as this member (see `member list`).")]
    = None,
    lang: Annotated[str | None, typer.Option(help="Language of a stranger: vi or en.")] = None,
    name: Annotated[str, typer.Option(help="Display name of a stranger.")] = "Console user",
) -> None:
    """Chat with the bot in this terminal, as a member or (without --member) as a stranger."""
    from bot.channels.console import ConsoleChat, identity_for_member, repl, stranger_identity
    from bot.config import LANGUAGES

    if lang is not None and lang not in LANGUAGES:
        fail(f"--lang must be one of {', '.join(LANGUAGES)}")

    async def work(ctx: AppContext) -> None:
        if member is None:
            external_id, display = stranger_identity(), name
        else:
            try:
                external_id, display = await identity_for_member(ctx, member)
            except LookupError as exc:
                fail(str(exc))
        typer.echo("Ban VSTBPN — console. /quit to leave.\n")
        await repl(ConsoleChat(ctx, external_id, display, lang))

    with_app(work)


# --- db ----------------------------------------------------------------------------------


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Migrate the schema up (the bot also does this on start)."""
    from bot import db

    async def work(ctx: AppContext) -> str | None:
        await db.upgrade(ctx.engine, revision)
        return await db.current_revision(ctx.engine)

    typer.echo(f"database at revision {with_app(work)}")


@db_app.command("downgrade")
def db_downgrade(revision: str) -> None:
    """Migrate the schema down to REVISION ('base' removes everything)."""
    from bot import db

    async def work(ctx: AppContext) -> str | None:
        await db.downgrade(ctx.engine, revision)
        return await db.current_revision(ctx.engine)

    typer.echo(f"database at revision {with_app(work)}")


@db_app.command("current")
def db_current() -> None:
    """Show the schema revision of the database and of the code."""
    from bot import db
    from bot.config import safe_url

    async def work(ctx: AppContext) -> tuple[str, str | None]:
        return safe_url(ctx.settings.database_url), await db.current_revision(ctx.engine)

    url, revision = with_app(work)
    typer.echo(f"database {url} at revision {revision}; code at {db.SCHEMA_HEAD}")


# --- units -------------------------------------------------------------------------------


@unit_app.command("add")
def unit_add(
    name: str,
    parent: Annotated[int | None, typer.Option(help="Parent unit ID.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Add a unit, at the top or under PARENT."""
    from bot.services import units

    async def work(ctx: AppContext) -> dict[str, Any]:
        async with ctx.sessions() as session, session.begin():
            try:
                unit = await units.add_unit(session, name, ctx.clock.now(), parent)
            except units.UnitError as exc:
                fail(str(exc))
            return {"id": unit.id, "name": unit.name, "parent_id": unit.parent_id}

    row = with_app(work)
    if as_json:
        emit([row], True, [])
    else:
        typer.echo(f"unit {row['id']} added: {row['name']}")


@unit_app.command("list")
def unit_list(as_json: JsonOpt = False) -> None:
    """List units as a tree."""
    from bot.services import tree, units

    async def work(ctx: AppContext) -> list[dict[str, Any]]:
        async with ctx.sessions() as session:
            ordered = tree.depth_order(await units.list_units(session))
            return [
                {"id": u.id, "name": u.name, "parent_id": u.parent_id, "depth": depth,
                 "tree": "  " * depth + u.name}
                for depth, u in ordered
            ]

    emit(with_app(work), as_json, ["id", "tree"])


# --- invites -----------------------------------------------------------------------------


@invite_app.command("create")
def invite_create(
    unit: Annotated[int, typer.Option(help="Unit ID.")],
    role: Annotated[Role, typer.Option(help="Role of whoever joins.")] = Role.member,
    expires_days: Annotated[int, typer.Option(min=1, help="Days the invite is valid.")] = 7,
    uses: Annotated[int, typer.Option(min=1, help="How many people may join with it.")] = 1,
    as_json: JsonOpt = False,
) -> None:
    """Create an invite: a Telegram deep link and the bare code."""
    from bot.services import invites

    async def work(ctx: AppContext) -> dict[str, Any]:
        async with ctx.sessions() as session, session.begin():
            try:
                invite, code = await invites.create(
                    session, unit_id=unit, role=role, now=ctx.clock.now(),
                    expires_days=expires_days, uses=uses,
                )
            except ValueError as exc:
                fail(str(exc))
            from bot.app import learn_deep_links  # imports the channels: only when needed

            await learn_deep_links(ctx)
            links = ctx.any_deep_link(code)
            return {
                "id": invite.id, "unit_id": unit, "unit": invite.unit.name, "role": role.value,
                "code": code, "link": links[0] if links else None,
                "expires_at": local_time(invite.expires_at, invite.unit), "uses": uses,
            }

    row = with_app(work)
    if as_json:
        emit([row], True, [])
        return
    typer.echo(f"Invite {row['id']} for {row['unit']} as {row['role']}, "
               f"{row['uses']} use(s), expires {row['expires_at']}")
    if row["link"]:
        typer.echo(f"link: {row['link']}")
    else:
        typer.echo("(set VSTBPN_TELEGRAM_TOKEN or VSTBPN_TELEGRAM_BOT_USERNAME for a link)")
    typer.echo(f"code: {row['code']}")


@invite_app.command("list")
def invite_list(
    unit: Annotated[int | None, typer.Option(help="Only this unit's subtree.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """List invites (codes are not stored, so they cannot be shown again)."""
    from bot.services import invites, tree

    async def work(ctx: AppContext) -> list[dict[str, Any]]:
        async with ctx.sessions() as session:
            ids = await tree.subtree_ids(session, unit) if unit is not None else None
            now = ctx.clock.now()
            return [
                {"id": i.id, "unit_id": i.unit_id, "unit": i.unit.name, "role": i.role,
                 "uses": f"{i.uses}/{i.max_uses}", "expires_at": local_time(i.expires_at, i.unit),
                 "status": "revoked" if i.revoked_at else "expired" if i.expires_at <= now
                 else "used" if i.uses >= i.max_uses else "open"}
                for i in await invites.list_invites(session, ids)
            ]

    emit(with_app(work), as_json, ["id", "unit", "role", "uses", "expires_at", "status"])


@invite_app.command("revoke")
def invite_revoke(invite_id: int) -> None:
    """Revoke an invite so its code no longer works."""
    from bot.services import invites

    async def work(ctx: AppContext) -> bool:
        async with ctx.sessions() as session, session.begin():
            return await invites.revoke(session, invite_id, ctx.clock.now())

    if not with_app(work):
        fail(f"no open invite {invite_id}")
    typer.echo(f"invite {invite_id} revoked")


# --- members -----------------------------------------------------------------------------


def _member_row(m: Member) -> dict[str, Any]:
    return {
        "id": m.id, "name": m.full_name, "role": m.role, "unit_id": m.unit_id,
        "unit": m.unit.name, "language": m.language, "active": m.active,
        "joined_at": local_time(m.created_at, m.unit),
    }


@member_app.command("list")
def member_list(
    unit: Annotated[int | None, typer.Option(help="Only this unit's subtree.")] = None,
    include_removed: Annotated[bool, typer.Option(help="Show removed members too.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """List members."""
    from bot.services import members, tree

    async def work(ctx: AppContext) -> list[dict[str, Any]]:
        async with ctx.sessions() as session:
            ids = await tree.subtree_ids(session, unit) if unit is not None else None
            found = await members.list_members(session, ids, include_removed=include_removed)
            return [_member_row(m) for m in found]

    emit(with_app(work), as_json, ["id", "name", "role", "unit", "language", "active"])


@member_app.command("remove")
def member_remove(member_id: int) -> None:
    """Remove a member (they become a stranger to the bot; their history is kept)."""
    from bot.models import Member
    from bot.services import members

    async def work(ctx: AppContext) -> bool:
        async with ctx.sessions() as session, session.begin():
            member = await session.get(Member, member_id)
            if member is None or not member.active:
                return False
            await members.remove(session, member, ctx.clock.now())
            return True

    if not with_app(work):
        fail(f"no active member {member_id}")
    typer.echo(f"member {member_id} removed")


@member_app.command("set-role")
def member_set_role(member_id: int, role: Role) -> None:
    """Change a member's role (member, focal, admin)."""
    from bot.models import Member
    from bot.services import members

    async def work(ctx: AppContext) -> bool:
        async with ctx.sessions() as session, session.begin():
            member = await session.get(Member, member_id)
            if member is None or not member.active:
                return False
            members.set_role(session, member, role, ctx.clock.now())
            return True

    if not with_app(work):
        fail(f"no active member {member_id}")
    typer.echo(f"member {member_id} is now {role.value}")


@member_app.command("forget")
def member_forget(
    member_id: int,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Erase a person's name and chat accounts (for a request to be forgotten); the unit's
    check-ins and report totals stay as they are."""
    from bot.models import Member
    from bot.services import members

    if not yes:
        typer.confirm(f"Erase the name and chat accounts of member {member_id}? This cannot be "
                      "undone", abort=True)

    async def work(ctx: AppContext) -> bool:
        async with ctx.sessions() as session, session.begin():
            member = await session.get(Member, member_id)
            if member is None:
                return False
            await members.forget(session, member, ctx.clock.now())
            return True

    if not with_app(work):
        fail(f"no member {member_id}")
    typer.echo(f"member {member_id} forgotten: name and chat accounts erased, totals kept")


# --- audit -------------------------------------------------------------------------------


@app.command("audit")
def audit_log(
    unit: Annotated[int | None, typer.Option(help="Only this unit and the units below it.")]
    = None,
    limit: Annotated[int, typer.Option(min=1, help="How many entries, newest first.")] = 50,
    lang: Annotated[str | None, typer.Option(help="Language of the descriptions: vi or en.")]
    = None,
    as_json: JsonOpt = False,
) -> None:
    """What admins did (invites, roles, removals, duties, targets, report decisions)."""
    from bot.config import LANGUAGES
    from bot.i18n import Translator
    from bot.services import audit, tree, units
    from bot.views import audit as audit_view

    if lang is not None and lang not in LANGUAGES:
        fail(f"--lang must be one of {', '.join(LANGUAGES)}")

    async def work(ctx: AppContext) -> list[dict[str, Any]]:
        t = Translator(lang or ctx.settings.default_language)
        async with ctx.sessions() as session:
            if unit is not None and await units.by_id(session, unit) is None:
                fail(f"no unit {unit} (see `vstbpn unit list`)")
            ids = await tree.subtree_ids(session, unit) if unit is not None else [
                u.id for u in await units.list_units(session)]
            entries = await audit.recent(session, ids, limit=limit)
            names = await audit.names(session, entries)
            return [{
                "id": e.id, "at": e.at.astimezone(ctx.settings.tz).strftime("%Y-%m-%d %H:%M"),
                "unit": names.units.get(e.unit_id, e.unit_id), "who": audit_view.actor(t, e, names),
                "action": e.action, "what": audit_view.what(t, e, names),
            } for e in entries]

    emit(with_app(work), as_json, ["at", "unit", "who", "what"])


register_duty_commands(app)
register_checkin_commands(app)
register_report_commands(app)
register_ops_commands(app)


def main() -> None:
    try:
        app()
    except Exception as exc:
        from bot.config import SettingsError

        if not isinstance(exc, SettingsError):
            raise
        typer.echo(str(exc), err=True)
        sys.exit(2)
