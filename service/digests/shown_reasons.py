"""What a digest shows of a paper and of a reader's reasons for it, worked out once per paper and
reasons: the paper's facts (read off its ORM row once per Paper object) and ``ShownReasons``, the
highlights, matched names and "Why:" lines (``compose`` builds digests from them).

Readers with equal reasons for a paper see the same; readers who share only the keyword hits or
only the topics share those parts (``shown_in_parts``). ``shown_reasons`` is the same worked out
whole: the reference the parts are tested against.
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from service.matching.explain import joined_lines, reason_lines, term_lines, topic_lines
from service.matching.records import Reasons, TermHit, TopicReason
from service.rendering.digest import Unmarked
from service.rendering.snippet import Span, term_spans
from service.storage.models import Paper


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


class PaperEntry:
    """One Paper object's: its facts and shown reasons, for one topic_names mapping."""

    __slots__ = ("by_terms", "by_topics", "facts", "names_version", "page", "shown", "topic_names")

    def __init__(self, topic_names: Mapping[str, str], names_version: int, facts: PaperFacts) -> None:
        self.topic_names, self.names_version, self.facts = topic_names, names_version, facts
        self.shown: dict[Reasons, ShownReasons] = {}
        # The parts of ShownReasons readers share more often than whole reasons (see shown_in_parts).
        self.by_terms: dict[tuple[TermHit, ...], _Part] = {}
        self.by_topics: dict[tuple[tuple[str, ...], tuple[TopicReason, ...]], _Part] = {}
        # compose's: (base URL, the paper's page there, its Unmarked as digests show it)
        self.page: tuple[str, str, Unmarked] | None = None


# Per Paper object, so per batch (a batch loads its papers once and its readers share them):
# reading ~15 instrumented attributes per paper per reader was a fifth of digest_context. With
# the facts, the paper's shown reasons by Reasons (equal reasons, equal spans and lines).
_FACTS: weakref.WeakKeyDictionary[Paper, PaperEntry] = weakref.WeakKeyDictionary()
MAX_REASONS_PER_PAPER = 512  # a batch's readers of one paper; bounds a long-lived Paper object's dicts


def paper_facts(paper: Paper, topic_names: Mapping[str, str]) -> PaperFacts:
    """What a digest shows of PAPER whoever reads it."""
    return paper_entry(paper, topic_names).facts


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


def paper_entry(paper: Paper, topic_names: Mapping[str, str]) -> PaperEntry:
    """PAPER's entry for these topic names: made once per Paper object and names."""
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
    entry = _FACTS[paper] = PaperEntry(topic_names, version, facts)
    return entry


def shown_reasons(facts: PaperFacts, reasons: Reasons, topic_names: Mapping[str, str]) -> ShownReasons:
    """What a paper shows of REASONS, worked out whole (the reference of ``shown_in_parts``)."""
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


def shown_for(entry: PaperEntry, reasons: Reasons) -> ShownReasons:
    """What the entry's paper shows of REASONS, kept per reasons."""
    by_reasons = entry.shown
    found = by_reasons.get(reasons)
    if found is None:
        if len(by_reasons) >= MAX_REASONS_PER_PAPER:
            by_reasons.clear()
        found = by_reasons[reasons] = shown_in_parts(entry, reasons)
    return found


# (title spans, abstract spans, names: the matched terms or topics, lines of "why")
_Part = tuple[tuple[Span, ...], tuple[Span, ...], tuple[str, ...], tuple[str, ...]]


def shown_in_parts(entry: PaperEntry, reasons: Reasons) -> ShownReasons:
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
