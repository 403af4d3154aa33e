"""`papermail db ...`: schema migrations."""

from __future__ import annotations

import typer

from config.settings import get_settings
from service.storage import migrate

app = typer.Typer(help="Database schema (Alembic migrations).", no_args_is_help=True)


@app.command("upgrade")
def upgrade(revision: str = typer.Argument("head", help="Target revision.")) -> None:
    """Apply migrations up to REVISION (default: the newest)."""
    settings = get_settings()
    migrate.upgrade(settings, revision)
    typer.echo(f"database at revision {migrate.current_revision(settings)}")


@app.command("downgrade")
def downgrade(revision: str = typer.Argument(..., help="Target revision, or 'base' for empty.")) -> None:
    """Revert migrations down to REVISION."""
    settings = get_settings()
    migrate.downgrade(settings, revision)
    typer.echo(f"database at revision {migrate.current_revision(settings) or 'base'}")


@app.command("current")
def current() -> None:
    """Print the revision the database is at."""
    settings = get_settings()
    typer.echo(migrate.current_revision(settings) or "base")
