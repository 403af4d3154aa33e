"""`papermail demo`: see papermail work offline in one command."""

from __future__ import annotations

from pathlib import Path

import typer

from config.settings import get_settings
from service.demo.run import DemoResult, run_demo
from service.mail import list_outbox


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)


def demo() -> None:
    """Offline demo: bundled sample papers, sample subscribers, their digests into the outbox."""
    settings = get_settings()
    result = run_demo(settings)
    typer.echo(f"sample papers: {result.ingest.line()}")
    kept = f"; {result.existing_subscribers} were already there" if result.existing_subscribers else ""
    typer.echo(f"subscribers: {result.new_subscribers} added{kept} (alice, bob, carol, dave, erin @example.org)")
    typer.echo(f"digests: {result.sent} sent to the outbox, {result.skipped} skipped (nothing matched)")
    if result.nothing_new:
        for line in why_nothing_new(result, settings.data_dir):
            typer.echo(line)
    entries = list_outbox(result.outbox, newest_first=True, limit=5)
    typer.echo(f"outbox: {result.outbox}")
    for entry in entries:
        typer.echo(f"  {entry.name}")
    typer.echo("open an .eml file in a mail client, or run `papermail up` and browse the service")


def why_nothing_new(result: DemoResult, data_dir: Path) -> list[str]:
    """A second run adds and sends nothing by design (a reader gets one digest a day): say so."""
    return [
        f"nothing new: the demo data is already in {data_dir}, and each demo reader already has today's "
        f"digest ({result.sent_before} sent by earlier runs; papermail sends one digest per reader per day).",
        "to see it all again from scratch, point PAPERMAIL_DATA_DIR at a fresh directory: "
        "PAPERMAIL_DATA_DIR=./var-demo make demo",
    ]
