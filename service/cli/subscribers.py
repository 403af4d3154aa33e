"""`papermail subscribers ...`: add subscribers from the command line."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import typer

from config.settings import get_settings
from service.actions.seeds import add_seeds
from service.actions.subscribers import add_subscriber
from service.cli.errors import UsageError
from service.storage.db import session_scope
from service.storage.migrate import upgrade
from service.subscribers.preferences import split_terms
from service.subscribers.seed_refs import BadRef, parse_each
from service.subscribers.store import InvalidSubscriber, parse_preferences
from service.topics.store import current_taxonomy

app = typer.Typer(help="Manage subscribers.", no_args_is_help=True)


@app.command("add")
def add(
    email: str = typer.Argument(..., help="The subscriber's address."),
    topic: list[str] = typer.Option([], "--topic", help="A topic slug (repeatable)."),
    keyword: list[str] = typer.Option([], "--keyword", help='A term or "quoted phrase" (repeatable; ";" separates).'),
    exclude: list[str] = typer.Option([], "--exclude", help="Drop papers mentioning this (repeatable)."),
    author: list[str] = typer.Option([], "--author", help="An author to follow (repeatable)."),
    min_upvotes: int = typer.Option(None, "--min-upvotes", help="Trending threshold."),
    max_papers: int = typer.Option(None, "--max-papers", help="At most this many papers a digest (1-50)."),
    frequency: str = typer.Option(None, "--frequency", help="daily, weekdays or weekly."),
    weekly_day: str = typer.Option(None, "--weekly-day", help="mon..sun, for weekly."),
    send_hour: int = typer.Option(None, "--send-hour", help="Local hour 0-23."),
    timezone: str = typer.Option(None, "--timezone", help="IANA name, e.g. Europe/Paris."),
    confirmed: bool = typer.Option(False, "--confirmed", help="The admin attests consent: active at once."),
    like: list[str] = typer.Option([], "--like", help='A paper for "more like these": an arXiv id, an arXiv or '
                                   "Hugging Face paper URL, or an exact title (repeatable)."),
) -> None:
    """Create a subscriber (pending unless --confirmed)."""
    settings = get_settings()
    upgrade(settings)
    given: dict[str, Any] = {
        "topics": topic, "keywords": split_terms(keyword), "exclude": split_terms(exclude), "authors": author,
        "min_upvotes": min_upvotes, "max_papers": max_papers, "frequency": frequency, "weekly_day": weekly_day,
        "send_hour": send_hour, "timezone": timezone or settings.default_timezone,
    }
    data = {name: value for name, value in given.items() if value not in (None, [])}
    try:
        seeds = parse_each(like)
    except BadRef as exc:
        raise UsageError(f"--like {exc}") from None
    seeded = ""
    try:
        with session_scope(settings) as session:
            taxonomy = current_taxonomy(session)
            prefs = parse_preferences(data, set(taxonomy.slugs))
            subscriber = add_subscriber(session, email, prefs, confirmed=confirmed, actor="cli", now=datetime.now(UTC))
            address, status = subscriber.email, subscriber.status
            if seeds:
                added = add_seeds(session, subscriber, seeds, "cli", datetime.now(UTC))
                if added.ambiguous:  # nothing is created: the command line cannot ask which
                    raise UsageError(f"--like {added.ambiguous[0].describe()}")
                seeded = f", {added.summary()}"
    except InvalidSubscriber as exc:
        raise UsageError(str(exc)) from None
    typer.echo(f"{address}: {status}{seeded}")
