"""A paper as the front page, the paper page and the API show it (pure: a stored row in, a view out).

Everything here came from a feed, so it is untrusted: the templates escape every string (Jinja
autoescape, no ``|safe``), links are kept only when they are absolute http(s) URLs, and a
thumbnail only when it is on a host the Content-Security-Policy lets pages load images from.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date
from urllib.parse import urlsplit

from service.catalog.slugs import paper_path, paper_slug
from service.rendering.context import safe_url
from service.storage.models import Paper

SHOWN_AUTHORS = 3
CARD_KEYWORDS = 6
ONE_LINER_CHARS = 280
# Pages load thumbnails straight from these hosts (see README, "Thumbnails"): the CSP's img-src
# lists exactly them, so a thumbnail elsewhere is not shown rather than shown broken.
THUMBNAIL_HOSTS = ("cdn-thumbnails.huggingface.co",)


@dataclass(frozen=True, slots=True)
class PaperCard:
    id: int
    slug: str
    path: str  # /papers/<slug>
    arxiv_id: str | None
    title: str
    authors: tuple[str, ...]
    organization: str | None
    upvotes: int
    comments: int | None
    thumbnail: str | None
    summary: str | None  # the source's AI summary: the one-liner
    abstract: str
    keywords: tuple[str, ...]
    topics: tuple[tuple[str, str], ...]  # (slug, name), in taxonomy order
    links: tuple[tuple[str, str], ...]  # (label, url), http(s) only
    day: date
    sources: tuple[str, ...]

    @property
    def shown_authors(self) -> tuple[str, ...]:
        return self.authors[:SHOWN_AUTHORS]

    @property
    def more_authors(self) -> int:
        return max(0, len(self.authors) - SHOWN_AUTHORS)

    @property
    def card_keywords(self) -> tuple[str, ...]:
        return self.keywords[:CARD_KEYWORDS]

    @property
    def one_liner(self) -> str:
        """The AI summary, else the abstract's first sentence."""
        if self.summary:
            return self.summary
        first = self.abstract.split(". ", 1)[0]
        return first if len(first) <= ONE_LINER_CHARS else first[:ONE_LINER_CHARS].rsplit(" ", 1)[0] + "…"


def paper_day(paper: Paper) -> date:
    """The day the paper belongs to: its source's announcement day, else its publication day,
    else the day papermail first saw it (UTC)."""
    if paper.announced_on is not None:
        return paper.announced_on
    moment = paper.published_at or paper.first_seen_at
    return moment.astimezone(UTC).date()


def thumbnail_url(url: str | None) -> str | None:
    safe = safe_url(url)
    if safe is None:
        return None
    parts = urlsplit(safe)
    return safe if parts.scheme == "https" and parts.hostname in THUMBNAIL_HOSTS and not parts.port else None


def paper_links(paper: Paper) -> tuple[tuple[str, str], ...]:
    candidates = [
        ("Hugging Face", paper.hf_url),
        ("arXiv", paper.abs_url),
        ("PDF", paper.pdf_url),
        ("Code", paper.github_repo),
        ("Project page", paper.project_page),
    ]
    links: list[tuple[str, str]] = []
    for label, url in candidates:
        safe = safe_url(url)
        if safe and safe not in (u for _, u in links):
            links.append((label, safe))
    return tuple(links)


def _text_list(values: Sequence[object] | None) -> tuple[str, ...]:
    """A JSON list column as strings (a feed may have put anything in it)."""
    return tuple(str(v).strip() for v in values or () if str(v).strip())


def paper_card(paper: Paper) -> PaperCard:
    topics = sorted(paper.topics, key=lambda t: (t.position, t.id))
    return PaperCard(
        id=paper.id,
        slug=paper_slug(paper.arxiv_id, paper.id),
        path=paper_path(paper.arxiv_id, paper.id),
        arxiv_id=paper.arxiv_id,
        title=paper.title,
        authors=_text_list(paper.authors),
        organization=paper.organization or None,
        upvotes=paper.upvotes or 0,
        comments=paper.num_comments,
        thumbnail=thumbnail_url(paper.thumbnail),
        summary=(paper.ai_summary or "").strip() or None,
        abstract=paper.abstract or "",
        keywords=tuple(dict.fromkeys(_text_list(paper.ai_keywords))),
        topics=tuple((t.slug, t.name) for t in topics),
        links=paper_links(paper),
        day=paper_day(paper),
        sources=_text_list(paper.source_names),
    )
