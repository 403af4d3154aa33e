"""The edge of ingestion: fetch a configured source, parse, upsert, and keep its poll state.

One poll is one transaction: the papers and the source's new state commit together, or
nothing does and the failure alone is recorded in a second, small transaction.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal

import httpx
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from config.settings import Settings
from service.storage.db import session_scope
from service.ingest.fetch import FetchError, FetchResult, HostInterval, RetryLater, fetch
from service.ingest.health import backoff_delay
from service.ingest.store import upsert_papers
from service.storage.models import Source
from service.papers import ParseResult, SourceError
from service.sources import get_source, source_for
from service.sources.arxiv_api import MIN_INTERVAL_SECONDS
from service.topics.store import current_taxonomy, reclassify_stale

log = logging.getLogger(__name__)

# arXiv asks automated clients for 3 s between API calls; one limiter per process.
POLITENESS = HostInterval({"export.arxiv.org": MIN_INTERVAL_SECONDS})
# Kept on the source row so an admin sees why without reading logs.
MAX_REASONS = 20

Status = Literal["ok", "not_modified", "failed", "retry_later"]


@dataclass
class PollSummary:
    source: str
    status: Status = "ok"
    fetched: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: int = 0
    reasons: list[str] = field(default_factory=list)
    message: str | None = None

    def line(self) -> str:
        counts = (
            f"fetched {self.fetched}, new {self.new}, updated {self.updated}, "
            f"unchanged {self.unchanged}, errors {self.errors}"
        )
        if self.status == "not_modified":
            return f"{self.source}: not modified since the last poll ({counts})"
        if self.status in ("failed", "retry_later"):
            return f"{self.source}: {self.status.replace('_', ' ')}: {self.message}"
        return f"{self.source}: {counts}"


def sync_sources(session: Session, settings: Settings) -> None:
    """Configured sources that the table lacks are added; rows edited by admins are kept."""
    known = set(session.scalars(select(Source.name)))
    for config in settings.sources:
        if config.name not in known:
            session.add(
                Source(
                    name=config.name,
                    kind=config.kind,
                    url=config.url,
                    poll_interval_minutes=config.poll_interval_minutes,
                    enabled=config.enabled,
                )
            )
    session.flush()


def due_source_names(session: Session, now: datetime) -> list[str]:
    query = (
        select(Source.name)
        .where(Source.enabled.is_(True), or_(Source.next_poll_at.is_(None), Source.next_poll_at <= now))
        .order_by(Source.name)
    )
    return list(session.scalars(query))


def claim_due_sources(settings: Settings, now: datetime | None = None) -> list[str]:
    """Names of the sources due now; each is pushed one interval ahead so the next tick of
    beat does not enqueue it again while its poll is still queued."""
    now = now or datetime.now(UTC)
    with session_scope(settings) as session:
        sync_sources(session, settings)
        names = due_source_names(session, now)
        for source in session.scalars(select(Source).where(Source.name.in_(names))):
            source.next_poll_at = now + timedelta(minutes=source.poll_interval_minutes)
    return names


def ingest_parsed(
    session: Session, result: ParseResult, *, source_kind: str, source_name: str, now: datetime
) -> PollSummary:
    taxonomy = current_taxonomy(session)
    reclassify_stale(session, taxonomy)
    counts = upsert_papers(
        session, result.papers, source_kind=source_kind, source_name=source_name, taxonomy=taxonomy, now=now
    )
    reasons = [f"item {e.index}{f' ({e.ident})' if e.ident else ''}: {e.reason}" for e in result.errors]
    return PollSummary(
        source=source_name,
        fetched=len(result.papers) + len(result.errors),
        new=counts.new,
        updated=counts.updated,
        unchanged=counts.unchanged,
        errors=len(result.errors),
        reasons=reasons,
    )


def ingest_document(
    settings: Settings,
    body: bytes,
    *,
    source_name: str,
    content_type: str | None = None,
    fmt: str = "auto",
    now: datetime | None = None,
) -> PollSummary:
    """Parse and store a document given by hand (`papermail ingest --file/--url`).

    Raises SourceError when the document as a whole is unusable.
    """
    source = source_for(body, content_type, fmt)
    result = source.parse(body, content_type)
    with session_scope(settings) as session:
        return ingest_parsed(session, result, source_kind=source.kind, source_name=source_name, now=now or datetime.now(UTC))


def fetch_url(
    settings: Settings,
    url: str,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
    client: httpx.Client | None = None,
) -> FetchResult:
    """One GET with the settings' limits; arXiv's API host gets its 3 s spacing."""
    return fetch(
        url,
        etag=etag,
        last_modified=last_modified,
        connect_timeout=settings.fetch_connect_timeout_seconds,
        read_timeout=settings.fetch_read_timeout_seconds,
        max_bytes=settings.fetch_max_bytes,
        user_agent=settings.user_agent,
        max_redirects=settings.fetch_max_redirects,
        limiter=POLITENESS,
        client=client,
    )


def poll_source(
    settings: Settings, name: str, *, now: datetime | None = None, client: httpx.Client | None = None
) -> PollSummary:
    """Fetch, parse and store source NAME; record the outcome on its row. Never raises for a
    bad feed: the failure is in the summary and on the row."""
    now = now or datetime.now(UTC)
    with session_scope(settings) as session:
        sync_sources(session, settings)
        source = session.scalars(select(Source).where(Source.name == name)).one_or_none()
        if source is None:
            raise SourceError(f"no source named {name!r}")
        kind, url, etag, last_modified = source.kind, source.url, source.etag, source.last_modified
        interval = timedelta(minutes=source.poll_interval_minutes)

    try:
        fetched = fetch_url(settings, url, etag=etag, last_modified=last_modified, client=client)
        if fetched.status == "not_modified":
            summary = PollSummary(source=name, status="not_modified")
            with session_scope(settings) as session:
                _record_success(session, name, summary, now, interval, content_hash=None)
            return summary
        result = get_source(kind).parse(fetched.body, fetched.content_type)
        try:
            return _store(settings, result, kind, name, now, interval, fetched)
        except IntegrityError:
            # Another poll ("ingest now" beside beat's) inserted the same paper first; its row
            # is committed now, so a second pass merges into it instead.
            return _store(settings, result, kind, name, now, interval, fetched)
    except RetryLater as exc:
        summary = PollSummary(source=name, status="retry_later", message=str(exc))
        _record_failure(settings, name, summary, now, retry_at=now + max(timedelta(seconds=exc.after_seconds), interval))
        return summary
    except (FetchError, SourceError) as exc:
        summary = PollSummary(source=name, status="failed", message=str(exc))
        _record_failure(settings, name, summary, now)
        return summary
    except Exception as exc:  # a bug must not stop the other sources: record it, log it
        log.exception("poll of %s failed", name)
        summary = PollSummary(source=name, status="failed", message=f"internal error: {type(exc).__name__}: {exc}")
        _record_failure(settings, name, summary, now)
        return summary


def _store(
    settings: Settings, result: ParseResult, kind: str, name: str, now: datetime, interval: timedelta,
    fetched: FetchResult,
) -> PollSummary:
    """The papers and the source's new state, in one transaction."""
    with session_scope(settings) as session:
        summary = ingest_parsed(session, result, source_kind=kind, source_name=name, now=now)
        _record_success(session, name, summary, now, interval, content_hash=hashlib.sha256(fetched.body).hexdigest(),
                        etag=fetched.etag, last_modified=fetched.last_modified)
    return summary


def _record_success(
    session: Session,
    name: str,
    summary: PollSummary,
    now: datetime,
    interval: timedelta,
    *,
    content_hash: str | None,
    etag: str | None = None,
    last_modified: str | None = None,
) -> None:
    source = session.scalars(select(Source).where(Source.name == name)).one()
    source.last_attempt_at = source.last_success_at = now
    source.consecutive_failures = 0
    source.next_poll_at = now + interval
    source.new_last_poll = summary.new
    source.errors_last_poll = summary.errors
    source.last_error = "; ".join(summary.reasons[:MAX_REASONS]) or None
    if summary.status == "not_modified":
        return  # the content, and so items/staleness, is what the last poll saw
    source.items_last_poll = summary.fetched
    source.etag, source.last_modified = etag, last_modified
    if content_hash != source.content_hash:
        source.content_hash = content_hash
        source.content_changed_at = now


def _record_failure(
    settings: Settings, name: str, summary: PollSummary, now: datetime, retry_at: datetime | None = None
) -> None:
    with session_scope(settings) as session:
        source = session.scalars(select(Source).where(Source.name == name)).one()
        source.last_attempt_at = source.last_error_at = now
        source.last_error = summary.message
        source.consecutive_failures += 1
        interval = timedelta(minutes=source.poll_interval_minutes)
        source.next_poll_at = retry_at or now + backoff_delay(interval, source.consecutive_failures)
