"""From matches and paper rows to the digest a reader sees (pure: no database, no I/O)."""

from __future__ import annotations

import functools
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from config.settings import Settings
from service.catalog.slugs import paper_path
from service.matching.explain import joined_lines, reason_lines, term_lines, topic_lines
from service.matching.records import Match, Reasons, TermHit, TopicReason
from service.storage.models import Paper, Subscriber
from service.rendering import DigestContext, DigestLinks, DigestPaper, Sender
from service.rendering.digest import Unmarked, reason_line, unmarked
from service.rendering.reader_paper import PaperBlock, ReaderPaper
from service.rendering.reader_paper import paper_block as new_block
from service.rendering.snippet import Span, term_spans
from service.subscribers.tokens import Purpose, compact_links, vote_links


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


class _Entry:
    """One Paper object's: its facts and shown reasons, for one topic_names mapping."""

    __slots__ = ("by_terms", "by_topics", "facts", "names_version", "page", "shown", "topic_names")

    def __init__(self, topic_names: Mapping[str, str], names_version: int, facts: PaperFacts) -> None:
        self.topic_names, self.names_version, self.facts = topic_names, names_version, facts
        self.shown: dict[Reasons, ShownReasons] = {}
        # The parts of ShownReasons readers share more often than whole reasons (see _shown_in_parts).
        self.by_terms: dict[tuple[TermHit, ...], _Part] = {}
        self.by_topics: dict[tuple[tuple[str, ...], tuple[TopicReason, ...]], _Part] = {}
        self.page: tuple[str, str, Unmarked] | None = None  # (base URL, the paper's page there, its Unmarked)


# Per Paper object, so per batch (a batch loads its papers once and its readers share them):
# reading ~15 instrumented attributes per paper per reader was a fifth of digest_context. With
# the facts, the paper's shown reasons by Reasons (equal reasons, equal spans and lines).
_FACTS: weakref.WeakKeyDictionary[Paper, _Entry] = weakref.WeakKeyDictionary()
MAX_REASONS_PER_PAPER = 512  # a batch's readers of one paper; bounds a long-lived Paper object's dicts
# The digest blocks (service.rendering.reader_paper), by what they show: the paper as shown (its
# Unmarked's id: equal ids, equal fields and page URL), the topic names, the reasons. Not per Paper
# object: a batch whose index was built afresh loads new Paper objects for the same papers, and
# their blocks are the same. ~1 KB each: a few batches' worth.
_BLOCKS: dict[tuple[int, int, Reasons], PaperBlock] = {}
MAX_BLOCKS = 32_768


def paper_facts(paper: Paper, topic_names: Mapping[str, str]) -> PaperFacts:
    return _entry(paper, topic_names).facts


# A worker reads the topic names afresh every batch (a new dict, equal to the last one) while its
# Paper objects live on (window.batch_index): the entries stay valid while the names are equal.
# (the mapping last given, the equal one the entries were made with, a number naming that one)
_names: tuple[Mapping[str, str], Mapping[str, str], int] = ({}, {}, 0)


def _same_names(topic_names: Mapping[str, str]) -> tuple[Mapping[str, str], int]:
    """The mapping entries were made with when TOPIC_NAMES equals it (checked once per new mapping),
    and its number (a new number for a mapping with other names)."""
    global _names
    given, kept, version = _names
    if topic_names is given:
        return kept, version
    if topic_names != kept:
        kept, version = topic_names, version + 1
    _names = (topic_names, kept, version)
    return kept, version


def _entry(paper: Paper, topic_names: Mapping[str, str]) -> _Entry:
    found = _FACTS.get(paper)
    topic_names, version = _same_names(topic_names)
    if found is not None and found.topic_names is topic_names:
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
    entry = _FACTS[paper] = _Entry(topic_names, version, facts)
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


def _shown(entry: _Entry, reasons: Reasons) -> ShownReasons:
    by_reasons = entry.shown
    shown = by_reasons.get(reasons)
    if shown is None:
        if len(by_reasons) >= MAX_REASONS_PER_PAPER:
            by_reasons.clear()
        shown = by_reasons[reasons] = _shown_in_parts(entry, reasons)
    return shown


# (title spans, abstract spans, names: the matched terms or topics, lines of "why")
_Part = tuple[tuple[Span, ...], tuple[Span, ...], tuple[str, ...], tuple[str, ...]]


def _shown_in_parts(entry: _Entry, reasons: Reasons) -> ShownReasons:
    """``shown_reasons`` from its keyword part and its topic part, each kept per paper: in a batch
    three quarters of (reader, paper) pairs have reasons of their own, but a third of them share the
    keyword hits and two thirds the topics (measured on bench/e2e.py's readers)."""
    terms, topics = reasons.terms, (reasons.topics, reasons.evidence)
    by_terms, by_topics = entry.by_terms, entry.by_topics
    term_part = by_terms.get(terms)
    if term_part is None:
        if len(by_terms) >= MAX_REASONS_PER_PAPER:
            by_terms.clear()
        term_part = by_terms[terms] = (
            tuple([span for hit in terms if hit.field == "title" for span in hit.spans]),
            tuple([span for hit in terms if hit.field == "abstract" for span in hit.spans]),
            tuple(dict.fromkeys(hit.term for hit in terms)), tuple(term_lines(terms)))
    topic_part = by_topics.get(topics)
    if topic_part is None:
        if len(by_topics) >= MAX_REASONS_PER_PAPER:
            by_topics.clear()
        facts, names = entry.facts, entry.topic_names
        evidence = reasons.evidence
        topic_part = by_topics[topics] = (
            tuple(evidence_spans(facts.title, evidence)) if evidence else (),
            tuple(evidence_spans(facts.abstract, evidence)) if evidence else (),
            tuple(names.get(slug, slug) for slug in reasons.topics),
            tuple(topic_lines(reasons.topics, evidence, names)))
    return ShownReasons(
        title_spans=term_part[0] + topic_part[0],
        abstract_spans=term_part[1] + topic_part[1],
        terms=term_part[2],
        topics=topic_part[2],
        why=tuple(joined_lines(term_part[3], topic_part[3], reasons)),
    )


def _digest_paper(facts: PaperFacts, shown: ShownReasons, reasons: Reasons, url: str | None,
                  votes: tuple[str, str] | None = None, marks: Sequence[str] = ()) -> DigestPaper:
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


def digest_paper(paper: Paper, match: Match, topic_names: Mapping[str, str],
                 votes: tuple[str, str] | None = None, marks: Sequence[str] = (),
                 url: str | None = None) -> DigestPaper:
    """URL: where the title links (default: the paper's Hugging Face or arXiv page)."""
    entry = _entry(paper, topic_names)
    reasons = match.reasons
    return _digest_paper(entry.facts, _shown(entry, reasons), reasons, url, votes, marks)


def paper_block(settings: Settings, paper: Paper, reasons: Reasons, topic_names: Mapping[str, str]) -> PaperBlock:
    """The digest block of PAPER for every reader with these REASONS for it (its title linking to
    its page here): ``reader_paper.ReaderPaper(block, votes…)`` is ``digest_paper(…, url=page_url)``
    as a digest shows it."""
    entry = _entry(paper, topic_names)
    page = entry.page
    if page is None or page[0] != settings.base_url:
        page = _new_page(settings, paper, entry)
    key = (page[2].unmarked_id, entry.names_version, reasons)
    block = _BLOCKS.get(key)
    if block is None:
        if len(_BLOCKS) >= MAX_BLOCKS:
            _BLOCKS.clear()
        facts = entry.facts
        shown = _shown_in_parts(entry, reasons)  # not kept: the block is
        block = _BLOCKS[key] = new_block(
            page[2], shown.title_spans, shown.abstract_spans,
            reason_line(shown.why, shown.terms, shown.topics, reasons.authors, reasons.trending), shown.terms,
            shown.topics, functools.partial(_digest_paper, facts, shown, reasons, page[1]))
    return block


def _new_page(settings: Settings, paper: Paper, entry: _Entry) -> tuple[str, str, Unmarked]:
    """The paper's page at the settings' base URL and how its blocks show it."""
    facts, url = entry.facts, page_url(settings, paper)
    shown_as = unmarked(facts.title, url, facts.authors, facts.organization, facts.upvotes, facts.topics,
                        facts.abstract, facts.pdf_url, facts.code_url, facts.project_url, facts.ai_summary)
    page = entry.page = (settings.base_url, url, shown_as)
    return page


def vote_urls(settings: Settings, subscriber: Subscriber, paper_id: int) -> tuple[str, str]:
    """The reader's "more like this" and "less like this" links for one paper (a keyed BLAKE2s MAC
    each, made together: a digest makes two per paper)."""
    return vote_links(settings, subscriber.id, subscriber.token_version, paper_id)


def subscriber_links(settings: Settings, subscriber: Subscriber, delivery_id: int | None) -> DigestLinks:
    sid, version = subscriber.id, subscriber.token_version
    preferences, unsubscribe, archive, feed = compact_links(settings, sid, version, READER_LINKS)
    return DigestLinks(
        preferences_url=preferences,
        unsubscribe_url=unsubscribe,
        unsubscribe_token=unsubscribe.rpartition("/")[2],  # BASE_URL/unsubscribe/<token>
        view_in_browser_url=compact_links(settings, sid, version, ("digest",), d=delivery_id)[0] if delivery_id else None,
        archive_url=archive,
        feed_url=feed,
    )


READER_LINKS: tuple[Purpose, ...] = ("preferences", "unsubscribe", "archive", "feed")


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
    # Each paper a block its readers with equal reasons share, and this reader's votes and marks.
    return DigestContext(
        recipient=subscriber.email,
        date=day,
        papers=[ReaderPaper(paper_block(settings, papers[m.paper_id], m.reasons, topic_names),
                            *vote_urls(settings, subscriber, m.paper_id), tuple(marks.get(m.paper_id, ())))
                for m in matches],
        links=subscriber_links(settings, subscriber, delivery_id),
        sender=sender,
        status=status,
    )
