"""From matches and paper rows to the digest a reader sees (pure: no database, no I/O).

What a paper shows of a reader's reasons is worked out in ``shown_reasons``; here, the blocks readers
share and each reader's links."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from datetime import date

from config.settings import Settings
from service.catalog.slugs import paper_path
from service.digests.shown_reasons import PaperEntry, PaperFacts, ShownReasons, paper_entry, shown_for, shown_in_parts
from service.matching.records import Match, Reasons
from service.rendering import DigestContext, DigestLinks, DigestPaper, Sender
from service.rendering.digest import Unmarked, reason_line, unmarked
from service.rendering.reader_paper import PaperBlock, ReaderPaper
from service.rendering.reader_paper import paper_block as new_block
from service.storage.models import Paper, Subscriber
from service.subscribers.tokens import Purpose, compact_links, vote_links

# The digest blocks (service.rendering.reader_paper), by what they show: the paper as shown (its
# Unmarked's id: equal ids, equal fields and page URL), the topic names, the reasons. Not per Paper
# object: a batch whose index was built afresh loads new Paper objects for the same papers, and
# their blocks are the same. ~1 KB each: a few batches' worth.
_BLOCKS: dict[tuple[int, int, Reasons], PaperBlock] = {}
MAX_BLOCKS = 32_768


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
    entry = paper_entry(paper, topic_names)
    reasons = match.reasons
    return _digest_paper(entry.facts, shown_for(entry, reasons), reasons, url, votes, marks)


def paper_block(settings: Settings, paper: Paper, reasons: Reasons, topic_names: Mapping[str, str]) -> PaperBlock:
    """The digest block of PAPER for every reader with these REASONS for it (its title linking to
    its page here): ``reader_paper.ReaderPaper(block, votes…)`` is ``digest_paper(…, url=page_url)``
    as a digest shows it."""
    entry = paper_entry(paper, topic_names)
    page = entry.page
    if page is None or page[0] != settings.base_url:
        page = _new_page(settings, paper, entry)
    key = (page[2].unmarked_id, entry.names_version, reasons)
    block = _BLOCKS.get(key)
    if block is None:
        if len(_BLOCKS) >= MAX_BLOCKS:
            _BLOCKS.clear()
        facts = entry.facts
        shown = shown_in_parts(entry, reasons)  # not kept: the block is
        block = _BLOCKS[key] = new_block(
            page[2], shown.title_spans, shown.abstract_spans,
            reason_line(shown.why, shown.terms, shown.topics, reasons.authors, reasons.trending), shown.terms,
            shown.topics, functools.partial(_digest_paper, facts, shown, reasons, page[1]))
    return block


def _new_page(settings: Settings, paper: Paper, entry: PaperEntry) -> tuple[str, str, Unmarked]:
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
