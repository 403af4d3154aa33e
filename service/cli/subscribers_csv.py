"""`papermail subscribers import FILE.csv` and `papermail subscribers export`, added to the
`subscribers` command group of service.cli.subscribers."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn

from config.settings import get_settings
from service.actions.subscribers import import_subscribers, note_export
from service.cli.progress import progress
from service.cli.errors import UsageError
from service.cli.subscribers import app
from service.storage.db import session_scope
from service.storage.migrate import upgrade
from service.subscribers.csv_format import CsvFormatError, export_lines, parse_rows
from service.task_queue import TaskQueue
from service.topics.store import current_taxonomy

MAX_ISSUES_SHOWN = 50


def count_lines(path: Path) -> int:
    with path.open("rb") as handle:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))


@app.command("import")
def import_csv(
    file: Path = typer.Argument(..., help="CSV: email, topics, keywords, exclude, authors, frequency, timezone, "
                                          "send_hour, status (all but email optional; ';' separates values).",
                                dir_okay=False),
    dry_run: bool = typer.Option(False, "--dry-run", help="Check every row and report; write nothing."),
    confirmed: bool = typer.Option(False, "--confirmed",
                                   help="The admin attests consent: rows are active at once, no confirmation mail."),
    update: bool = typer.Option(False, "--update",
                                help="Rows for addresses already subscribed update their preferences (only the "
                                     "columns the file has) instead of being skipped; their status and mail stay."),
) -> None:
    """Import subscribers: broken rows are reported and skipped, the rest go in (pending with a confirmation mail, or active with --confirmed). Existing addresses are skipped, or updated with --update; they never get a confirmation mail."""  # noqa: E501
    settings = get_settings()
    if not file.is_file():
        raise UsageError(f"no such file: {file}")
    upgrade(settings)
    with session_scope(settings) as session:
        topics = set(current_taxonomy(session).slugs)
    queue = None if dry_run or confirmed else TaskQueue(settings)
    total = count_lines(file)
    with file.open(encoding="utf-8-sig", errors="replace", newline="") as handle:
        try:
            rows = parse_rows(handle, topics, settings.default_timezone)
        except CsvFormatError as exc:
            raise UsageError(f"{file}: {exc}") from None
        with progress(TextColumn("importing" if not dry_run else "checking"), BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn()) as shown:
            task = shown.add_task("rows", total=total)
            report = import_subscribers(
                settings, rows, confirmed=confirmed, dry_run=dry_run, now=datetime.now(UTC), actor="cli",
                source_name=file.name, on_row=lambda line: shown.update(task, completed=line),
                confirm=queue.send_confirmations if queue is not None else None, update=update,
            )
    for issue in report.issues[:MAX_ISSUES_SHOWN]:
        typer.echo(issue.text(), err=True)
    if len(report.issues) > MAX_ISSUES_SHOWN:
        typer.echo(f"... and {len(report.issues) - MAX_ISSUES_SHOWN} more", err=True)
    typer.echo(report.summary())


@app.command("export")
def export_csv() -> None:
    """Every subscriber as CSV on standard output (streamed: any number of rows)."""
    settings = get_settings()
    upgrade(settings)
    out = sys.stdout
    with session_scope(settings) as session:
        note_export(session, actor="cli")  # as an admin's export is: every address leaves papermail
    with session_scope(settings) as session:
        for line in export_lines(session):
            out.write(line)
    out.flush()
