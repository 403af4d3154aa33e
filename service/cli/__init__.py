"""The `papermail` command line. Bad input is one clear line on stderr and a non-zero exit."""

from __future__ import annotations

import sys

import typer

from config.settings import SettingsError
from service.cli import admin, db, demo, digest, dkim, ingest, serve, subscribers, subscribers_csv  # noqa: F401  (subscribers_csv adds import/export)
from service.cli import check, inbound
from service.cli.errors import UNREACHABLE, UsageError, unreachable_line

app = typer.Typer(
    name="papermail",
    help="Trending AI research papers, matched to each reader, delivered to their inbox.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
serve.register(app)
ingest.register(app)
app.add_typer(db.app, name="db")
app.add_typer(subscribers.app, name="subscribers")
app.add_typer(digest.app, name="digest")
app.add_typer(admin.app, name="admin")
app.add_typer(dkim.app, name="dkim")
demo.register(app)
inbound.register(app)
check.register(app)


def main() -> None:
    try:
        app()
    except (SettingsError, UsageError) as exc:
        print(f"papermail: {exc}", file=sys.stderr)
        sys.exit(2)
    except UNREACHABLE as exc:
        print(f"papermail: {unreachable_line(exc)}", file=sys.stderr)
        sys.exit(2)
