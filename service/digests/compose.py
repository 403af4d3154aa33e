"""From matches and paper rows to the digest a reader sees (pure: no database, no I/O)."""

from __future__ import annotations

import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from config.settings import Settings
from service.catalog.slugs import paper_path
from service.matching.explain import reason_lines
from service.matching.records import Match, Reasons, TopicReason
from service.storage.models import Paper, Subscriber
from service.rendering import DigestContext, DigestLinks, DigestPaper, Sender
from service.rendering.snippet import Span, term_spans
from service.subscribers.tokens import link, make_token, token_url, vote_link


def evidence_spans(text: str, evidence: Sequence[TopicReason]) -> list[Span]:
    """Where TEXT holds the terms of any of these topics' evidence, in text order.

    One ``term_spans`` call (cached there) per topic: a paper's evidence for a topic is the same
    for every reader, while the set of topics a reader matched it by is not. Asked with all the
    reader's terms at once, the cache missed for a third of the papers (a tokenised abstract each);
    asked per topic, it misses once per paper and topic."""
    if len(evidence) == 1:
        return list(term_spans(text, sorted(evidence[0].terms)))
    return sorted({span for e in evidence for span in term_spans(text, sorted(e.terms))})


@dataclass(frozen=True, slots=True)
class PaperFacts:
    """What a digest shows of a paper whoever reads it, read off the ORM row once."""

    title: str
    url: str | None
    authors: tuple[str, ...]
    organization: str | None
    upvotes: int
    topics: tuple[str, ...]  # display names
    abstract: str
    pdf_url: str | None
    code_url: str | None
    project_url: str | None
    ai_summary: str | None


@dataclass(frozen=True, slots=True)
class ShownReasons:
    """What a digest shows of one match's reasons: the same for every reader whose reasons for
    the paper are equal (readers of one topic, of one keyword)."""

    title_spans: tuple[Span, ...]
    abstract_spans: tuple[Span, ...]
    terms: tuple[str, ...]
    topics: tuple[str, ...]
    why: tuple[str, ...]


# Per Paper object, so per batch (a batch loads its papers once and its readers share them):
# reading ~15 instrumented attributes per paper per reader was a fifth of digest_context. With
# the facts, the paper's shown reasons by Reasons (equal reasons, equal spans and lines).
_FACTS: weakref.WeakKeyDictionary[Paper, tuple[Mapping[str, str], PaperFacts, dict[Reasons, ShownReasons]]] = (
    weakref.WeakKeyDictionary()
)
MAX_REASONS_PER_PAPER = 512  # a batch's readers of one paper; bounds a long-lived Paper object's dict


def paper_facts(paper: Paper, topic_names: Mapping[str, str]) -> PaperFacts:
    return _facts_entry(paper, topic_names)[1]


def _facts_entry(paper: Paper, topic_names: Mapping[str, str]
                 ) -> tuple[Mapping[str, str], PaperFacts, dict[Reasons, ShownReasons]]:
    found = _FACTS.get(paper)
    if found is not None and found[0] is topic_names:
        return found
    facts = PaperFacts(
        title=paper.title,
        url=paper.hf_url or paper.abs_url,
        authors=tuple(paper.authors),
        organization=paper.organization,
        upvotes=paper.upvotes,
        topics=tuple(topic_names.get(slug, slug) for slug in sorted({t.slug for t in paper.topics})),
        abstract=paper.abstract,
        pdf_url=paper.pdf_url,
        code_url=paper.github_repo,
        project_url=paper.project_page,
        ai_summary=paper.ai_summary,
    )
    entry = _FACTS[paper] = (topic_names, facts, {})
    return entry


def shown_reasons(facts: PaperFacts, reasons: Reasons, topic_names: Mapping[str, str]) -> ShownReasons:
    title_spans = [span for hit in reasons.terms if hit.field == "title" for span in hit.spans]
    abstract_spans = [span for hit in reasons.terms if hit.field == "abstract" for span in hit.spans]
    # Why it is in a topic: marked too.
    if reasons.evidence:
        title_spans += evidence_spans(facts.title, reasons.evidence)
        abstract_spans += evidence_spans(facts.abstract, reasons.evidence)
    return ShownReasons(
        title_spans=tuple(title_spans),
        abstract_spans=tuple(abstract_spans),
        terms=tuple(dict.fromkeys(hit.term for hit in reasons.terms)),
        topics=tuple(topic_names.get(slug, slug) for slug in reasons.topics),
        why=tuple(reason_lines(reasons, topic_names)),
    )


def digest_paper(paper: Paper, match: Match, topic_names: Mapping[str, str],
                 votes: tuple[str, str] | None = None, marks: Sequence[str] = (),
                 url: str | None = None) -> DigestPaper:
    """URL: where the title links (default: the paper's Hugging Face or arXiv page)."""
    _, facts, by_reasons = _facts_entry(paper, topic_names)
    reasons = match.reasons
    shown = by_reasons.get(reasons)
    if shown is None:
        if len(by_reasons) >= MAX_REASONS_PER_PAPER:
            by_reasons.clear()
        shown = by_reasons[reasons] = shown_reasons(facts, reasons, topic_names)
    return DigestPaper(
        title=facts.title,
        url=url or facts.url,
        authors=facts.authors,
        organization=facts.organization,
        upvotes=facts.upvotes,
        topics=facts.topics,
        abstract=facts.abstract,
        title_spans=shown.title_spans,
        abstract_spans=shown.abstract_spans,
        pdf_url=facts.pdf_url,
        code_url=facts.code_url,
        project_url=facts.project_url,
        matched_terms=shown.terms,
        matched_topics=shown.topics,
        matched_authors=reasons.authors,
        trending=reasons.trending,
        more_url=votes[0] if votes else None,
        less_url=votes[1] if votes else None,
        why=shown.why,
        ai_summary=facts.ai_summary,
        marks=marks,
    )


def vote_urls(settings: Settings, subscriber: Subscriber, paper_id: int) -> tuple[str, str]:
    """The reader's "more like this" and "less like this" links for one paper (a cheap HMAC
    each: a digest makes two per paper)."""
    version = subscriber.token_version
    return (vote_link(settings, subscriber.id, version, paper_id, 1),
            vote_link(settings, subscriber.id, version, paper_id, -1))


def subscriber_links(settings: Settings, subscriber: Subscriber, delivery_id: int | None) -> DigestLinks:
    version = subscriber.token_version
    unsubscribe_token = make_token(settings, "unsubscribe", subscriber.id, version)
    return DigestLinks(
        preferences_url=link(settings, "preferences", subscriber.id, version),
        unsubscribe_url=token_url(settings, "unsubscribe", unsubscribe_token),
        unsubscribe_token=unsubscribe_token,
        view_in_browser_url=link(settings, "digest", subscriber.id, version, d=delivery_id) if delivery_id else None,
        archive_url=link(settings, "archive", subscriber.id, version),
        feed_url=link(settings, "feed", subscriber.id, version),
    )


def page_url(settings: Settings, paper: Paper) -> str:
    """A digest's title links to the paper's page on this site (its sources' pages are linked there)."""
    return settings.base_url + paper_path(paper.arxiv_id, paper.id)


def digest_context(
    settings: Settings,
    subscriber: Subscriber,
    matches: Sequence[Match],
    papers: Mapping[int, Paper],
    topic_names: Mapping[str, str],
    day: date,
    sender: Sender,
    delivery_id: int | None = None,
    marks: Mapping[int, Sequence[str]] | None = None,
    status: str | None = None,
) -> DigestContext:
    """MARKS: why some papers are news later (``window.marks_for``); STATUS: the day's line."""
    marks = marks or {}
    return DigestContext(
        recipient=subscriber.email,
        date=day,
        papers=[digest_paper(papers[m.paper_id], m, topic_names, vote_urls(settings, subscriber, m.paper_id),
                             marks.get(m.paper_id, ()), page_url(settings, papers[m.paper_id])) for m in matches],
        links=subscriber_links(settings, subscriber, delivery_id),
        sender=sender,
        status=status,
    )
