"""The `papermail` command line. Bad input is one clear line on stderr and a non-zero exit.

Each command's module is imported only when that command runs (service.cli.lazy): COMMANDS says
where each lives and the line `papermail --help` shows for it (tests/service/cli/test_lazy.py
keeps that line equal to the command's own help).
"""

from __future__ import annotations

import sys

import typer

from config.errors import SettingsError
from service.cli.errors import UsageError, is_unreachable, unreachable_line
from service.cli.lazy import LazyCommand, LazyGroup

# In the order `papermail --help` lists them: single commands first, then the groups.
COMMANDS: dict[str, LazyCommand] = {
    "up": LazyCommand("service.cli.serve", "Run web + worker + beat on the configured backends (embedded by default)."),
    "web": LazyCommand("service.cli.serve", "Run the web app (public pages, admin, API) with uvicorn."),
    "worker": LazyCommand("service.cli.serve", "Run a Celery worker on the configured broker."),
    "beat": LazyCommand("service.cli.serve", "Run Celery beat: source polling and the digest planner on their "
                        "intervals."),
    "ingest": LazyCommand("service.cli.ingest", "Fetch or read, parse, store and classify papers; prints "
                          "fetched/new/updated/unchanged/errors."),
    "demo": LazyCommand("service.cli.demo", "Offline demo: bundled sample papers, sample subscribers, their digests "
                        "into the outbox."),
    "inbound": LazyCommand("service.cli.inbound", "Receive bounces, complaints and mailto unsubscribes (SMTP/LMTP "
                           "receiver, or IMAP polling)."),
    "check": LazyCommand("service.cli.check", "Check this deployment against the bulk-sender rules; exit 2 when a "
                         "rule fails."),
    "db": LazyCommand("service.cli.db", "Database schema (Alembic migrations).", group=True),
    "subscribers": LazyCommand("service.cli.subscribers", "Manage subscribers.", group=True,
                               extends=("service.cli.subscribers_csv",)),
    "digest": LazyCommand("service.cli.digest", "Plan, send and preview digests.", group=True),
    "admin": LazyCommand("service.cli.admin", "Admin accounts and API tokens.", group=True),
    "dkim": LazyCommand("service.cli.dkim", "DKIM signing keys.", group=True),
}


class PapermailGroup(LazyGroup):
    entries = COMMANDS


app = typer.Typer(
    name="papermail",
    help="Trending AI research papers, matched to each reader, delivered to their inbox.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    cls=PapermailGroup,
)


@app.callback()
def _root() -> None:
    # No options of its own: typer makes a group (not a single command) only for an app with a
    # callback or registered commands, and the commands here are registered lazily.
    pass


def main() -> None:
    try:
        app()
    except (SettingsError, UsageError) as exc:
        print(f"papermail: {exc}", file=sys.stderr)
        sys.exit(2)
    except Exception as exc:
        if not is_unreachable(exc):
            raise
        print(f"papermail: {unreachable_line(exc)}", file=sys.stderr)
        sys.exit(2)
