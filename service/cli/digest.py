"""`papermail digest preview | run | plan`."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import Progress

from config.settings import get_settings
from service.cli.errors import UsageError
from service.mail.toolkit import DeliveryTools
from service.digests.preview import preview_digest, preview_ranking
from service.digests.run import plan, run_foreground
from service.storage.migrate import upgrade
from service.subscribers.store import InvalidSubscriber

app = typer.Typer(help="Plan, send and preview digests.", no_args_is_help=True)


def parse_at(at: str | None) -> datetime:
    if at is None:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(at)
    except ValueError:
        raise UsageError(f"--at must be an ISO date-time like 2026-11-27T08:00:00+00:00, not {at!r}") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@app.command("preview")
def preview(
    email: str = typer.Argument(..., help="The subscriber's address."),
    fmt: str = typer.Option("text", "--format", help="html, text, or json (the ranking as data)."),
    limit: int | None = typer.Option(
        None, "--limit", min=0, help="json: how many papers (0: every candidate; default: their max papers)."
    ),
    out: Path = typer.Option(None, "--out", help="Write to this file instead of stdout.", dir_okay=False),
    at: str = typer.Option(None, "--at", help="As if at this ISO date-time (default: now)."),
) -> None:
    """Show what EMAIL would get now: ranked papers with the reason each was chosen.

    --format json prints {"papers": [{"arxiv_id", "title", "score", "parts", "reasons"}, ...]},
    best first; "parts" are the named parts of the score (they add up to it).
    """
    if fmt not in ("html", "text", "json"):
        raise UsageError("--format must be html, text or json")
    if limit is not None and fmt != "json":
        raise UsageError("--limit goes with --format json")
    settings = get_settings()
    upgrade(settings)
    try:
        if fmt == "json":
            body = json.dumps(preview_ranking(settings, email, parse_at(at), limit), ensure_ascii=False, indent=2)
        else:
            rendered = preview_digest(settings, email, parse_at(at))
            body = rendered.html if fmt == "html" else f"Subject: {rendered.subject}\n\n{rendered.text}"
    except InvalidSubscriber as exc:
        raise UsageError(str(exc)) from None
    if out is None:
        typer.echo(body)
    else:
        out.write_text(body, encoding="utf-8")
        typer.echo(f"wrote {out}")


def usable_cores() -> int:
    """The cores this process may run on: a container's CPU set, not the host's count."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


@app.command("run")
def run(
    at: str = typer.Option(None, "--at", help="Plan as if at this ISO date-time (default: now)."),
    processes: int = typer.Option(0, "--processes", min=0, help="Send over this many processes (0: one per core)."),
) -> None:
    """Plan and send every digest due, in the foreground (no worker needed)."""
    settings = get_settings()
    upgrade(settings)
    now = parse_at(at)
    # On stderr, and only on a terminal: rich's live display left a blank first line on stdout
    # when piped, and stdout is the counts line that scripts read.
    console = Console(stderr=True)
    with Progress(transient=True, console=console, disable=not console.is_terminal) as progress:
        task = progress.add_task("sending digests", total=None)
        summary, outcome = run_foreground(
            settings, now, DeliveryTools.from_settings(settings),
            on_batch=lambda batch: progress.advance(task, batch.sent + batch.skipped + batch.failed),
            processes=processes or usable_cores(),
        )
    typer.echo(
        f"claimed {summary.claimed}, sent {outcome.sent}, skipped {outcome.skipped}, failed {outcome.failed}, "
        f"deferred {len(outcome.retry)}"
    )
    if outcome.failed:
        raise typer.Exit(1)


@app.command("plan")
def plan_command(at: str = typer.Option(None, "--at", help="Plan as if at this ISO date-time (default: now).")) -> None:
    """Claim every digest due and enqueue the batches for the workers (what beat runs)."""
    settings = get_settings()
    upgrade(settings)
    from workers.tasks import enqueue_batch

    summary = plan(settings, parse_at(at), enqueue_batch)
    typer.echo(summary.line())
