"""Backfill Hugging Face daily papers day by day (`papermail ingest hf-daily --since DATE`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx
from sqlalchemy import select

from config.settings import Settings
from service.storage.db import session_scope
from service.ingest.poll import PollSummary, fetch_url, ingest_parsed, sync_sources
from service.storage.models import Source
from service.papers import ParseResult, SourceError
from service.sources import hf_daily

# A bound even for a server whose pages all differ; a server that ignores `p` is caught sooner,
# by its second page repeating the first (see backfill_hf).
MAX_PAGES_PER_DAY = 50


def days_between(since: date, until: date) -> Iterator[date]:
    day = since
    while day <= until:
        yield day
        day += timedelta(days=1)


def with_params(url: str, **params: str | int) -> str:
    """URL with PARAMS set (replacing any of the same name), other query parameters kept."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    query.update({k: str(v) for k, v in params.items()})
    return urlunsplit(parts._replace(query=urlencode(query)))


def backfill_hf(
    settings: Settings,
    source_name: str,
    since: date,
    *,
    until: date | None = None,
    on_day: Callable[[date, PollSummary], None] = lambda day, summary: None,
    client: httpx.Client | None = None,
) -> PollSummary:
    """Every page of every day from SINCE to UNTIL (default today, UTC); one transaction a page."""
    with session_scope(settings) as session:
        sync_sources(session, settings)
        source = session.scalars(select(Source).where(Source.name == source_name)).one_or_none()
        if source is None:
            raise SourceError(f"no source named {source_name!r}")
        if source.kind != hf_daily.KIND:
            raise SourceError(f"--since backfills Hugging Face daily papers; {source_name!r} is {source.kind}")
        base_url = source.url
    total = PollSummary(source=source_name)
    for day in days_between(since, until or datetime.now(UTC).date()):
        day_summary = PollSummary(source=source_name)
        previous: bytes | None = None
        for page in range(MAX_PAGES_PER_DAY):
            fetched = fetch_url(settings, with_params(base_url, date=day.isoformat(), p=page), client=client)
            if fetched.body == previous:  # the server ignores `p`: this day has no more pages
                break
            previous = fetched.body
            result = hf_daily.parse(fetched.body, fetched.content_type)
            if hf_daily.is_last_page(result):
                break
            result = dated(result, day)
            with session_scope(settings) as session:
                summary = ingest_parsed(session, result, source_kind=hf_daily.KIND, source_name=source_name,
                                        now=datetime.now(UTC))
            _add(day_summary, summary)
        _add(total, day_summary)
        on_day(day, day_summary)
    return total


def dated(result: ParseResult, day: date) -> ParseResult:
    """Items the page did not date themselves belong to DAY, the day the page was asked for."""
    papers = [p if p.announced_on else p.model_copy(update={"announced_on": day}) for p in result.papers]
    return result.model_copy(update={"papers": papers})


def _add(into: PollSummary, summary: PollSummary) -> None:
    into.fetched += summary.fetched
    into.new += summary.new
    into.updated += summary.updated
    into.unchanged += summary.unchanged
    into.errors += summary.errors
    into.reasons.extend(summary.reasons)
