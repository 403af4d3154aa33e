"""`papermail admin ...`: admin accounts and API tokens."""

from __future__ import annotations

import sys
from datetime import UTC, datetime

import typer

from config.settings import get_settings
from service.admin import audit
from service.admin.users import AdminError, create_admin
from service.admin.api_tokens import TokenError, create_token, list_tokens, revoke_token
from service.cli.errors import UsageError
from service.storage.db import session_scope
from service.storage.migrate import upgrade

app = typer.Typer(help="Admin accounts and API tokens.", no_args_is_help=True)


def read_password(from_stdin: bool) -> str:
    if from_stdin:
        # The first line only: `echo "$PW" | papermail admin create-user ...` adds a newline.
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise UsageError("no password on standard input")
        return password
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


@app.command("create-user")
def create_user(
    email: str = typer.Argument(..., help="The admin's address (their login)."),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="Read the password from standard input."),
) -> None:
    """Create an admin who can log in to /admin (prompts for the password twice)."""
    settings = get_settings()
    password = read_password(password_stdin)
    upgrade(settings)
    try:
        with session_scope(settings) as session:
            user = create_admin(session, email, password, datetime.now(UTC))
            audit.record(session, "cli", "admin.create", "admin_user", user.id, None, {"email": user.email})
            address = user.email
    except AdminError as exc:
        raise UsageError(str(exc)) from None
    typer.echo(f"admin {address} created")


@app.command("create-token")
def create_token_command(name: str = typer.Argument(..., help="What the token is for, e.g. 'crm-sync'.")) -> None:
    """Create an API token for /api/v1; it is printed once and never shown again."""
    settings = get_settings()
    upgrade(settings)
    try:
        with session_scope(settings) as session:
            row, token = create_token(session, name, datetime.now(UTC))
            audit.record(session, "cli", "api_token.create", "api_token", row.id, None, {"name": row.name})
            token_id = row.id
    except TokenError as exc:
        raise UsageError(str(exc)) from None
    typer.echo(token)
    typer.echo(f"token {token_id} ({name}): keep it now, it is not stored and cannot be shown again", err=True)


@app.command("list-tokens")
def list_tokens_command() -> None:
    """API tokens: id, name, created, last used, revoked."""
    settings = get_settings()
    upgrade(settings)
    with session_scope(settings) as session:
        for row in list_tokens(session):
            used = f"{row.last_used_at:%Y-%m-%d %H:%M}" if row.last_used_at else "never"
            state = f"revoked {row.revoked_at:%Y-%m-%d}" if row.revoked_at else "live"
            typer.echo(f"{row.id}\t{row.name}\tcreated {row.created_at:%Y-%m-%d}\tused {used}\t{state}")


@app.command("revoke-token")
def revoke_token_command(token_id: int = typer.Argument(..., help="The id from list-tokens.")) -> None:
    """Revoke an API token: every request with it is refused from now on."""
    settings = get_settings()
    upgrade(settings)
    with session_scope(settings) as session:
        row = revoke_token(session, token_id, datetime.now(UTC))
        if row is None:
            raise UsageError(f"no API token {token_id}")
        audit.record(session, "cli", "api_token.revoke", "api_token", row.id, None, {"name": row.name})
    typer.echo(f"token {token_id} revoked")
