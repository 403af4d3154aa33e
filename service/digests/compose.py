"""From matches and paper rows to the digest a reader sees (pure: no database, no I/O)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

from config.settings import Settings
from service.matching.records import Match
from service.storage.models import Paper, Subscriber
from service.rendering import DigestContext, DigestLinks, DigestPaper, Sender
from service.subscribers.tokens import link


def digest_paper(paper: Paper, match: Match, topic_names: Mapping[str, str]) -> DigestPaper:
    reasons = match.reasons
    title_spans = [span for hit in reasons.terms if hit.field == "title" for span in hit.spans]
    abstract_spans = [span for hit in reasons.terms if hit.field == "abstract" for span in hit.spans]
    return DigestPaper(
        title=paper.title,
        url=paper.hf_url or paper.abs_url,
        authors=paper.authors,
        organization=paper.organization,
        upvotes=paper.upvotes,
        topics=[topic_names.get(slug, slug) for slug in sorted({t.slug for t in paper.topics})],
        abstract=paper.abstract,
        title_spans=title_spans,
        abstract_spans=abstract_spans,
        pdf_url=paper.pdf_url,
        code_url=paper.github_repo,
        project_url=paper.project_page,
        matched_terms=list(dict.fromkeys(hit.term for hit in reasons.terms)),
        matched_topics=[topic_names.get(slug, slug) for slug in reasons.topics],
        matched_authors=reasons.authors,
        trending=reasons.trending,
    )


def subscriber_links(settings: Settings, subscriber: Subscriber, delivery_id: int | None) -> DigestLinks:
    version = subscriber.token_version
    return DigestLinks(
        preferences_url=link(settings, "preferences", subscriber.id, version),
        unsubscribe_url=link(settings, "unsubscribe", subscriber.id, version),
        view_in_browser_url=link(settings, "digest", subscriber.id, version, d=delivery_id) if delivery_id else None,
    )


def digest_context(
    settings: Settings,
    subscriber: Subscriber,
    matches: Sequence[Match],
    papers: Mapping[int, Paper],
    topic_names: Mapping[str, str],
    day: date,
    sender: Sender,
    delivery_id: int | None = None,
) -> DigestContext:
    return DigestContext(
        recipient=subscriber.email,
        date=day,
        papers=[digest_paper(papers[m.paper_id], m, topic_names) for m in matches],
        links=subscriber_links(settings, subscriber, delivery_id),
        sender=sender,
    )


def reasons_record(match: Match) -> dict[str, object]:
    """What delivery_papers keeps of a match: enough to show 'why' again in the archive."""
    reasons = match.reasons
    return {
        "score": match.score,
        "terms": [{"term": h.term, "field": h.field, "spans": [list(s) for s in h.spans]} for h in reasons.terms],
        "topics": list(reasons.topics),
        "authors": list(reasons.authors),
        "trending": reasons.trending,
    }
