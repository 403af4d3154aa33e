"""`papermail ingest`: poll configured sources, or read a file or URL, and store the papers."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from urllib.parse import urlsplit

import typer
from sqlalchemy import select

from config.settings import Settings, get_settings
from service.cli.progress import progress
from service.cli.errors import UsageError
from service.storage.db import session_scope
from service.ingest.fetch import FetchError
from service.ingest.backfill import backfill_hf, days_between
from service.ingest.poll import PollSummary, fetch_url, ingest_document, poll_source, sync_sources
from service.storage.migrate import upgrade
from service.storage.models import Source
from service.papers import SourceError
from service.sources import FORMATS


def register(app: typer.Typer) -> None:
    app.command("ingest")(ingest)


def ingest(
    source: str = typer.Argument(None, help="A configured source name (default: every enabled source)."),
    file: Path = typer.Option(None, "--file", help="Read this document instead of fetching.", dir_okay=False),
    url: str = typer.Option(None, "--url", help="Fetch this URL instead of a configured source."),
    fmt: str = typer.Option("auto", "--format", help=f"Document format: {'|'.join(FORMATS)}."),
    since: str = typer.Option(None, "--since", help="Backfill HF daily papers from this date (YYYY-MM-DD)."),
) -> None:
    """Fetch or read, parse, store and classify papers; prints fetched/new/updated/unchanged/errors."""
    settings = get_settings()
    if file and url:
        raise UsageError("give --file or --url, not both")
    if fmt not in FORMATS:
        raise UsageError(f"--format must be one of {', '.join(FORMATS)}")
    upgrade(settings)
    try:
        if file or url:
            summaries = [read_document(settings, source, file, url, fmt)]
        elif since:
            summaries = [backfill(settings, source or "hf-daily", parse_date(since))]
        else:
            summaries = [poll_source(settings, name) for name in source_names(settings, source)]
    except (SourceError, FetchError) as exc:
        typer.echo(f"papermail: {exc}", err=True)
        raise typer.Exit(1) from None
    for summary in summaries:
        typer.echo(summary.line())
        for reason in summary.reasons[:10]:
            typer.echo(f"  rejected {reason}", err=True)
    if any(s.status in ("failed", "retry_later") for s in summaries):
        raise typer.Exit(1)


def parse_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"--since must be a date like 2026-11-01, not {text!r}") from None


def source_names(settings: Settings, name: str | None) -> list[str]:
    with session_scope(settings) as session:
        sync_sources(session, settings)
        if name is None:
            return list(session.scalars(select(Source.name).where(Source.enabled.is_(True)).order_by(Source.name)))
        if session.scalars(select(Source.name).where(Source.name == name)).first() is None:
            known = ", ".join(session.scalars(select(Source.name).order_by(Source.name)))
            raise UsageError(f"no source named {name!r} (configured: {known})")
        return [name]


def read_document(settings: Settings, source: str | None, file: Path | None, url: str | None, fmt: str) -> PollSummary:
    if file is not None:
        try:
            body = file.read_bytes()
        except OSError as exc:
            raise UsageError(f"cannot read {file}: {exc.strerror}") from None
        return ingest_document(settings, body, source_name=source or "file", fmt=fmt)
    assert url is not None
    if urlsplit(url).scheme not in ("http", "https"):
        raise UsageError(f"--url must be an http(s) URL, not {url!r}")
    fetched = fetch_url(settings, url)
    return ingest_document(
        settings, fetched.body, source_name=source or urlsplit(url).hostname or "url",
        content_type=fetched.content_type, fmt=fmt,
    )


def backfill(settings: Settings, source: str, since: date) -> PollSummary:
    days = list(days_between(since, date.today()))
    if not days:
        raise UsageError(f"--since {since} is in the future")
    with progress() as shown:
        task = shown.add_task(f"{source} since {since}", total=len(days))
        return backfill_hf(settings, source, since, on_day=lambda day, _summary: shown.advance(task))
