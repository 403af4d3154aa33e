"""`papermail admin ...`: admin accounts and API tokens."""

from __future__ import annotations

import sys
from datetime import UTC, datetime

import typer

from config.settings import get_settings
from service.actions.admin import add_admin, issue_api_token, revoke_api_token
from service.admin.api_tokens import TokenError, list_tokens
from service.admin.users import AdminError
from service.cli.errors import UsageError
from service.storage.db import session_scope
from service.storage.migrate import upgrade

app = typer.Typer(help="Admin accounts and API tokens.", no_args_is_help=True)
ACTOR = "cli"  # how the audit log names whoever ran these commands


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
            user = add_admin(session, email, password, actor=ACTOR, now=datetime.now(UTC))
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
            row, token = issue_api_token(session, name, actor=ACTOR, now=datetime.now(UTC))
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
        if revoke_api_token(session, token_id, actor=ACTOR, now=datetime.now(UTC)) is None:
            raise UsageError(f"no API token {token_id}")
    typer.echo(f"token {token_id} revoked")
