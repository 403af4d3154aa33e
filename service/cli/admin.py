"""`papermail admin ...`: admin accounts (create, list, disable, enable, set a password, make a
reset link) and API tokens (create, list, revoke)."""

from __future__ import annotations

import sys
from datetime import UTC, datetime

import typer
from sqlalchemy.orm import Session

from config.settings import get_settings
from service.actions.admin import (
    add_admin,
    change_admin_password,
    issue_api_token,
    note_reset_link,
    revoke_api_token,
    set_admin_active,
)
from service.admin.api_tokens import TokenError, list_tokens
from service.admin.password_reset import RESET_HOURS, reset_url
from service.admin.roles import ROLES
from service.admin.users import AdminError, AdminExists, find_admin, list_admins
from service.cli.errors import UsageError
from service.storage.db import session_scope
from service.storage.migrate import upgrade
from service.storage.models import AdminUser

app = typer.Typer(help="Admin accounts and API tokens.", no_args_is_help=True)
ACTOR = "cli"  # how the audit log names whoever ran these commands
ROLE_HELP = f"One of {', '.join(ROLES)}: owner may do everything, viewer only reads (and exports no address)."


def read_password(from_stdin: bool) -> str:
    if from_stdin:
        # The first line only: `echo "$PW" | papermail admin create-user ...` adds a newline.
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise UsageError("no password on standard input")
        return password
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


def _user(session: Session, email: str) -> AdminUser:
    user = find_admin(session, email)
    if user is None:
        raise UsageError(f"no admin {email.strip().lower()} (see `papermail admin list-users`)")
    return user


@app.command("create-user")
def create_user(
    email: str = typer.Argument(..., help="The admin's address (their login)."),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="Read the password from standard input."),
    role: str = typer.Option("owner", "--role", help=ROLE_HELP),
) -> None:
    """Create an admin who can log in to /admin (prompts for the password twice)."""
    settings = get_settings()
    if role not in ROLES:
        raise UsageError(f"--role: {role!r} is not one of {', '.join(ROLES)}")
    password = read_password(password_stdin)
    upgrade(settings)
    try:
        with session_scope(settings) as session:
            user = add_admin(session, email, password, actor=ACTOR, now=datetime.now(UTC), role=role)
            address = user.email
    except AdminExists as exc:
        enable = "" if exc.active else f", to let it sign in again `papermail admin enable-user {exc.email}`"
        raise UsageError(f"an admin {exc.email} exists already: to change its password run "
                         f"`papermail admin set-password {exc.email}`{enable}") from None
    except AdminError as exc:
        raise UsageError(str(exc)) from None
    typer.echo(f"admin {address} created ({role})")


@app.command("list-users")
def list_users() -> None:
    """Admin accounts: id, address, role, active or disabled, last sign-in."""
    settings = get_settings()
    upgrade(settings)
    with session_scope(settings) as session:
        users = list_admins(session)
        if not users:
            typer.echo("no admin yet: `papermail admin create-user EMAIL`", err=True)
        for user in users:
            seen = f"{user.last_login_at:%Y-%m-%d %H:%M}" if user.last_login_at else "never"
            state = "active" if user.is_active else "disabled"
            typer.echo(f"{user.id}\t{user.email}\t{user.role}\t{state}\tlast sign-in {seen}")


def _set_active(email: str, active: bool) -> None:
    settings = get_settings()
    upgrade(settings)
    try:
        with session_scope(settings) as session:
            user = _user(session, email)
            changed = set_admin_active(session, user, active, actor=ACTOR)
            address = user.email
    except AdminError as exc:
        raise UsageError(str(exc)) from None
    word = "enabled" if active else "disabled"
    typer.echo(f"admin {address} {word}" if changed else f"admin {address} was {word} already")


@app.command("disable-user")
def disable_user(email: str = typer.Argument(..., help="The admin's address.")) -> None:
    """Stop an admin signing in (their open sessions end too); the account and its history stay."""
    _set_active(email, False)


@app.command("enable-user")
def enable_user(email: str = typer.Argument(..., help="The admin's address.")) -> None:
    """Let a disabled admin sign in again."""
    _set_active(email, True)


@app.command("set-password")
def set_password_command(
    email: str = typer.Argument(..., help="The admin's address."),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="Read the password from standard input."),
) -> None:
    """Set an admin's password (prompts twice); ends their sessions and unlocks the account."""
    settings = get_settings()
    upgrade(settings)
    with session_scope(settings) as session:
        _user(session, email)  # an unknown address is said before the password is asked
    password = read_password(password_stdin)
    try:
        with session_scope(settings) as session:
            user = _user(session, email)
            change_admin_password(session, user, password, actor=ACTOR)
            address = user.email
    except AdminError as exc:
        raise UsageError(str(exc)) from None
    typer.echo(f"password of {address} set")


@app.command("reset-link")
def reset_link(email: str = typer.Argument(..., help="The admin's address.")) -> None:
    """Print a one-time link (valid for a day) with which the admin chooses a new password."""
    settings = get_settings()
    upgrade(settings)
    with session_scope(settings) as session:
        user = _user(session, email)
        if not user.is_active:
            raise UsageError(f"admin {user.email} is disabled: `papermail admin enable-user {user.email}` first")
        note_reset_link(session, user, actor=ACTOR)
        link = reset_url(settings.base_url, settings.secret_key, user)
    typer.echo(link)
    typer.echo(f"works once, for {RESET_HOURS} hours", err=True)


@app.command("create-token")
def create_token_command(
    name: str = typer.Argument(..., help="What the token is for, e.g. 'crm-sync'."),
    role: str = typer.Option("owner", "--role", help=ROLE_HELP),
) -> None:
    """Create an API token for /api/v1; it is printed once and never shown again."""
    settings = get_settings()
    upgrade(settings)
    try:
        with session_scope(settings) as session:
            row, token = issue_api_token(session, name, actor=ACTOR, now=datetime.now(UTC), role=role)
            token_id = row.id
    except TokenError as exc:
        raise UsageError(str(exc)) from None
    typer.echo(token)
    typer.echo(f"token {token_id} ({name}, {role}): keep it now, it is not stored and cannot be shown again", err=True)


@app.command("list-tokens")
def list_tokens_command() -> None:
    """API tokens: id, name, role, created, last used, revoked."""
    settings = get_settings()
    upgrade(settings)
    with session_scope(settings) as session:
        for row in list_tokens(session):
            used = f"{row.last_used_at:%Y-%m-%d %H:%M}" if row.last_used_at else "never"
            state = f"revoked {row.revoked_at:%Y-%m-%d}" if row.revoked_at else "live"
            typer.echo(f"{row.id}\t{row.name}\t{row.role}\tcreated {row.created_at:%Y-%m-%d}\tused {used}\t{state}")


@app.command("revoke-token")
def revoke_token_command(token_id: int = typer.Argument(..., help="The id from list-tokens.")) -> None:
    """Revoke an API token: every request with it is refused from now on."""
    settings = get_settings()
    upgrade(settings)
    with session_scope(settings) as session:
        if revoke_api_token(session, token_id, actor=ACTOR, now=datetime.now(UTC)) is None:
            raise UsageError(f"no API token {token_id}")
    typer.echo(f"token {token_id} revoked")
