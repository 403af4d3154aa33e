"""`papermail demo`: see papermail work offline in one command."""

from __future__ import annotations

import typer

from config.settings import get_settings
from service.demo.run import run_demo
from service.mail import list_outbox


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)


def demo() -> None:
    """Offline demo: bundled sample papers, sample subscribers, their digests into the outbox."""
    settings = get_settings()
    result = run_demo(settings)
    typer.echo(f"sample papers: {result.ingest.line()}")
    typer.echo(f"subscribers: {result.new_subscribers} added (alice, bob, carol, dave, erin @example.org)")
    typer.echo(f"digests: {result.sent} sent to the outbox, {result.skipped} skipped (nothing matched)")
    entries = list_outbox(result.outbox, newest_first=True, limit=5)
    typer.echo(f"outbox: {result.outbox}")
    for entry in entries:
        typer.echo(f"  {entry.name}")
    typer.echo("open an .eml file in a mail client, or run `papermail up` and browse the service")
