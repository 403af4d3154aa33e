"""The digest as a reader sees it: a view model independent of the database and the matcher,
turned into template context, then rendered by the shared renderer."""

from __future__ import annotations

import functools
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from service.rendering.context import Sender, footer, safe_url
from service.rendering.renderer import (
    SUBJECT_LIMIT,
    EmailRenderer,
    RenderedEmail,
    default_renderer,
)
from service.rendering.snippet import Highlighted, Span, highlight, snippet
from service.rendering.digest_splice import build_splicer, paper_shape
from service.rendering.splice import SpliceError
from service.sources.latex import has_tex, readable

if TYPE_CHECKING:  # reader_paper builds on this module
    from service.rendering.reader_paper import ReaderPaper

SHOWN_AUTHORS = 3
SUMMARY_TERMS = 5
# Words of abstract under a paper: a taste of it, with the matched terms in view. Fewer when
# the AI summary already says what the paper is about.
SNIPPET_WORDS = 45
SNIPPET_WORDS_AFTER_SUMMARY = 25


# Not frozen (DigestPaper and PaperView): a frozen dataclass sets each field through
# object.__setattr__, and a digest makes 10 of each per reader (measured: 6.6 µs against 2 µs each).
@dataclass(slots=True)
class DigestPaper:
    """One paper of one digest. Spans index ``title`` / ``abstract`` as given."""

    title: str
    url: str | None  # the HF paper page when known, else the arXiv abstract page
    authors: Sequence[str] = ()
    organization: str | None = None
    upvotes: int | None = None
    topics: Sequence[str] = ()  # display names
    abstract: str = ""
    title_spans: Sequence[Span] = ()
    abstract_spans: Sequence[Span] = ()
    pdf_url: str | None = None
    code_url: str | None = None
    project_url: str | None = None
    # Why it was chosen (all shown to the reader): keywords as the subscriber wrote them,
    # topic display names, followed authors, or picked as trending.
    matched_terms: Sequence[str] = ()
    matched_topics: Sequence[str] = ()
    matched_authors: Sequence[str] = ()
    trending: bool = False
    # The reader's signed 👍 / 👎 links for this paper (BASE_URL/vote/<token>), when known.
    more_url: str | None = None
    less_url: str | None = None
    # The same reasons as lines naming their evidence ("'KV cache' in the abstract", see
    # service.matching.explain); when given, they are what the reader sees.
    why: Sequence[str] = ()
    ai_summary: str | None = None  # the source's one-line summary (Hugging Face), shown first
    # Why an older paper is news now: "now trending", "code released" (service/digests/window.py).
    marks: Sequence[str] = ()

    @property
    def reason(self) -> str:
        return reason_line(self.why, self.matched_terms, self.matched_topics, self.matched_authors, self.trending)

    def view(self) -> PaperView:
        return paper_view(self)

    def reference(self) -> DigestPaper:
        """What the plain render shows (reader_paper.ReaderPaper has one too)."""
        return self


@dataclass(frozen=True, slots=True)
class DigestLinks:
    preferences_url: str
    unsubscribe_url: str
    # Not rendered: the List-Unsubscribe mailto carries the token alone, so it travels with the URL.
    unsubscribe_token: str
    view_in_browser_url: str | None = None
    archive_url: str | None = None  # the reader's past digests, BASE_URL/archive/<token>
    feed_url: str | None = None  # their personal Atom feed, BASE_URL/feed/<token>


@dataclass(frozen=True, slots=True)
class DigestContext:
    recipient: str
    date: date  # the subscriber's local date of the digest
    # A worker's digest holds ReaderPapers (service.rendering.reader_paper): each renders as its DigestPaper would.
    papers: Sequence[DigestPaper | ReaderPaper]
    links: DigestLinks
    sender: Sender
    why: str = ""  # "You get this because…"; a default naming the recipient when empty
    # One line on the day's sources when something is off ("arXiv announced nothing today
    # (holiday)"), from service.ingest.day_status; None when all is well.
    status: str | None = None

    @property
    def matched(self) -> list[tuple[str, int]]:
        """What matched across the digest, most papers first: [(term or topic, paper count)]."""
        counts: dict[str, int] = {}
        for paper in self.papers:
            for name in dict.fromkeys([*paper.matched_terms, *paper.matched_topics]):
                counts[name] = counts.get(name, 0) + 1
        return sorted(counts.items(), key=lambda item: -item[1])  # stable: ties keep first-seen order


def reason_line(why: Sequence[str], terms: Sequence[str], topics: Sequence[str], authors: Sequence[str],
                trending: bool) -> str:
    """The "Why:" line under a paper: its reason lines when given, else a summary of what matched."""
    if why:
        return "; ".join(why)
    return reason_text(terms, topics, authors, trending)


def _quoted(items: Sequence[str]) -> str:
    return ", ".join(f"“{item}”" for item in items)


def reason_text(terms: Sequence[str], topics: Sequence[str], authors: Sequence[str], trending: bool) -> str:
    """E.g. ``matched “quantization”, topic Efficient inference``."""
    parts = []
    if terms:
        parts.append(f"matched {_quoted(terms)}")
    if topics:
        parts.append(("topic " if len(topics) == 1 else "topics ") + ", ".join(topics))
    if authors:
        parts.append(("by " if parts else "by followed author ") + ", ".join(authors))
    if trending and not parts:
        parts.append("trending on Hugging Face")
    return ", ".join(parts)


def authors_line(authors: Sequence[str], shown: int = SHOWN_AUTHORS) -> str:
    if len(authors) <= shown:
        return ", ".join(authors)
    return ", ".join(authors[:shown]) + " et al."


def summary_text(count: int, matched: Sequence[tuple[str, int]], shown: int = SUMMARY_TERMS) -> str:
    """The digest's opening line: how many papers and why."""
    papers = f"{count} paper{'' if count == 1 else 's'}"
    if count == 0:
        return "Nothing new matched your topics this time."
    if not matched:
        return f"{papers} trending on Hugging Face."
    terms = ", ".join(f"{term} ({n})" for term, n in matched[:shown])
    rest = f" and {len(matched) - shown} more" if len(matched) > shown else ""
    return f"{papers} matched your interests: {terms}{rest}."


def date_label(day: date) -> str:
    return f"{day:%b} {day.day}"  # "Nov 27", locale-independent


@dataclass(slots=True)
class PaperView:
    """A paper as the templates show it. Attributes, not a dict: Jinja tries ``getattr`` first
    and a dict makes every lookup raise and catch an AttributeError (measured: 25 % slower)."""

    title: str
    title_marked: Highlighted
    url: str | None
    authors: str
    organization: str | None
    byline: str  # authors · organisation, for the text part
    upvotes: int
    topics: tuple[str, ...]  # tuples: the templates' fragment keys (service.rendering.fragments)
    tagline: str  # ▲ upvotes · topics, for the text part
    snippet: Highlighted
    links: tuple[tuple[str, str], ...]
    summary: str | None  # the AI summary, plain text
    # Names the fields above: equal ids, equal fields (never reused), so the templates key their
    # per-paper fragments by it (service.rendering.fragments).
    shown_id: int
    # Names them but the highlights (title_marked, snippet): what the spliced render keys a paper's
    # block by, the highlights being the reader's (service.rendering.digest_splice).
    unmarked_id: int
    # The reader's own (paper_view builds the fields above once per paper and highlights).
    reason: str
    more_url: str | None = None
    less_url: str | None = None
    marks: tuple[str, ...] = ()

    @property
    def heading(self) -> str:
        """The title as the text part shows it, after its marks: "[now trending] Title"."""
        return heading(self.marks, self.title)

    def spliced_shape(self) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
        return paper_shape(self)


def heading(marks: Sequence[str], title: str) -> str:
    return "".join(f"[{mark}] " for mark in marks) + title if marks else title


# PaperView's fields from title to unmarked_id, as _shown returns them.
Shown = tuple[str, Highlighted, str | None, str, str | None, str, int, tuple[str, ...], str, Highlighted,
              tuple[tuple[str, str], ...], str | None, int, int]
_SHOWN_IDS = itertools.count()


@dataclass(frozen=True, slots=True)
class Unmarked:
    """What a paper shows whoever reads it, before highlights (one per paper, cached)."""

    title: str
    url: str | None
    authors: str
    organization: str | None
    byline: str
    upvotes: int
    topics: tuple[str, ...]
    tagline: str
    links: tuple[tuple[str, str], ...]
    summary: str | None
    abstract: str
    title_is_raw: bool  # False when LaTeX cleaning changed it: its spans no longer apply
    abstract_is_raw: bool
    snippet_words: int
    unmarked_id: int


def as_read(text: str) -> tuple[str, bool]:
    """(TEXT as readers see it, whether that is TEXT itself: only then do its spans apply)."""
    if not has_tex(text):
        return text, True
    cleaned = readable(text)
    return cleaned, cleaned == text


def paper_view(paper: DigestPaper) -> PaperView:
    key = (paper.title, paper.url, tuple(paper.authors), paper.organization, paper.upvotes, tuple(paper.topics),
           paper.abstract, tuple(paper.title_spans), tuple(paper.abstract_spans), paper.pdf_url, paper.code_url,
           paper.project_url, paper.ai_summary)  # fmt: skip
    return PaperView(*_shown(*key), paper.reason, paper.more_url, paper.less_url, tuple(paper.marks))


# Cached: what a paper shows is the same for every reader whose highlights agree, and a batch's
# readers share a few hundred papers (measured: a third of paper_view's time went on rebuilding it).
@functools.lru_cache(maxsize=4096)
def _shown(
    raw_title: str, url: str | None, all_authors: tuple[str, ...], organization: str | None, upvotes: int | None,
    topics: tuple[str, ...], raw_abstract: str, raw_title_spans: tuple[Span, ...],
    raw_abstract_spans: tuple[Span, ...], pdf_url: str | None, code_url: str | None, project_url: str | None,
    ai_summary: str | None,
) -> Shown:
    """PaperView's fields from ``title`` to ``unmarked_id``, in order."""
    u = unmarked(raw_title, url, all_authors, organization, upvotes, topics, raw_abstract, pdf_url, code_url,
                 project_url, ai_summary)  # fmt: skip
    title_marked, marked_snippet = marked(u, raw_title_spans, raw_abstract_spans)
    return (u.title, title_marked, u.url, u.authors, u.organization, u.byline, u.upvotes, u.topics, u.tagline,
            marked_snippet, u.links, u.summary, next(_SHOWN_IDS), u.unmarked_id)  # fmt: skip


def marked(u: Unmarked, raw_title_spans: Sequence[Span], raw_abstract_spans: Sequence[Span]
           ) -> tuple[Highlighted, Highlighted]:
    """(highlighted title, highlighted snippet) of a paper with these spans (they index the raw texts)."""
    return (highlight(u.title, raw_title_spans if u.title_is_raw else ()),
            snippet(u.abstract, raw_abstract_spans if u.abstract_is_raw else (), u.snippet_words))


@functools.lru_cache(maxsize=4096)
def unmarked(
    raw_title: str, url: str | None, all_authors: tuple[str, ...], organization: str | None, upvotes: int | None,
    topics: tuple[str, ...], raw_abstract: str, pdf_url: str | None, code_url: str | None,
    project_url: str | None, ai_summary: str | None,
) -> Unmarked:
    links = [("PDF", safe_url(pdf_url)), ("Code", safe_url(code_url)), ("Project page", safe_url(project_url))]
    authors = authors_line(all_authors)
    votes = upvotes or 0
    title, title_is_raw = as_read(raw_title)
    abstract, abstract_is_raw = as_read(raw_abstract)
    summary = readable(ai_summary) if ai_summary else None
    return Unmarked(
        title=title,
        url=safe_url(url),
        authors=authors,
        organization=organization,
        byline=" · ".join(filter(None, [authors, organization])),
        upvotes=votes,
        topics=topics,
        tagline=" · ".join([f"▲ {votes}", *topics] if votes else topics),
        links=tuple((label, link) for label, link in links if link),
        summary=summary,
        abstract=abstract,
        title_is_raw=title_is_raw,
        abstract_is_raw=abstract_is_raw,
        snippet_words=SNIPPET_WORDS_AFTER_SUMMARY if summary else SNIPPET_WORDS,
        unmarked_id=next(_SHOWN_IDS),
    )


def cut_words(text: str, limit: int) -> str:
    """TEXT in at most LIMIT characters: whole words, then "…" when any had to go (a single
    word longer than the limit is the one thing cut inside: it has no boundary to cut at)."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    room = max(limit - 1, 0)  # one character for the ellipsis
    space = text.rfind(" ", 0, room + 1)  # a word that ends exactly at the room still fits
    kept = text[:space] if space > 0 else text[:room]
    return kept.rstrip(" ,;:-–—·") + "…"


def digest_template_vars(ctx: DigestContext, reference: bool = False) -> dict[str, Any]:
    """Template context of one digest (pure: the renderer only fills templates with it). REFERENCE:
    every paper as paper_view shows its DigestPaper (the plain render's way); else a ReaderPaper is
    its own view (the spliced render's)."""
    matched = ctx.matched
    count = len(ctx.papers)
    papers: list[Any] = [paper_view(p.reference()) for p in ctx.papers] if reference else [p.view() for p in ctx.papers]
    lead = papers[0].title if papers else ""
    more = f" + {count - 1} more" if count > 1 else ""
    why = ctx.why or (
        f"You get this email because {ctx.recipient} subscribed to {ctx.sender.name} digests "
        "and chose these topics and keywords."
    )
    links = [
        ("Preferences", ctx.links.preferences_url),
        ("Past digests", ctx.links.archive_url or ""),
        ("Your feed", ctx.links.feed_url or ""),
        ("Unsubscribe", ctx.links.unsubscribe_url),
        ("View in browser", ctx.links.view_in_browser_url or ""),
    ]
    return {
        "recipient": ctx.recipient,
        "count": count,
        "long_date": f"{ctx.date:%A}, {ctx.date:%B} {ctx.date.day}, {ctx.date.year}",
        "date_label": date_label(ctx.date),
        "summary": summary_text(count, matched),
        "status": ctx.status,
        "subject_title": lead,  # fitted to the subject's length by render_digest
        "papers": papers,
        "preheader": f"{lead}{more}" if papers else "Nothing new matched your topics this time.",
        "view_in_browser_url": ctx.links.view_in_browser_url,
        "preferences_url": ctx.links.preferences_url,
        **footer(ctx.sender, why, links),
    }


def render_digest(ctx: DigestContext, renderer: EmailRenderer | None = None) -> RenderedEmail:
    """The digest as render_digest_plain renders it, byte for byte, by splicing pieces rendered
    once per shape (service.rendering.digest_splice): no Jinja call per reader once a batch's
    papers have been seen."""
    renderer = renderer or default_renderer()
    splicer = renderer.derived("digest-splicer", build_splicer)
    if splicer is None:
        return render_digest_plain(ctx, renderer)
    try:
        return splicer.render(digest_template_vars(ctx), cut_words)
    except SpliceError:  # a marker character in a paper's own text: this one the plain way
        return render_digest_plain(ctx, renderer)


def render_digest_plain(ctx: DigestContext, renderer: EmailRenderer | None = None) -> RenderedEmail:
    """The digest through Jinja, every part per reader: the reference the spliced render equals."""
    renderer = renderer or default_renderer()
    context = digest_template_vars(ctx, reference=True)
    # The subject names the best paper, and the count and date must fit beside it: the title
    # gets what the rest leaves of the 78 characters, cut between words.
    rest = len(renderer.subject("digest", {**context, "subject_title": "X"}, limit=1 << 16)) - 1
    context["subject_title"] = cut_words(context["subject_title"], SUBJECT_LIMIT - rest)
    return renderer.render("digest", context)
