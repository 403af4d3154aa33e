"""/api/v1/papers: the papers as the front page has them — by day, week or month, by topic, by
full-text search — one page at a time; and one paper by its arXiv id (or ``p-<id>``)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from sqlalchemy import select

from config.settings import Settings
from service.catalog.cards import paper_card, thumbnail_url
from service.catalog.days import SpanError, parse_span
from service.catalog.listing import Filters, find_paper, find_papers
from service.catalog.search import MAX_QUERY_CHARS, clean_query
from service.catalog.slugs import parse_ref
from service.rendering.context import safe_url
from service.storage.db import session_scope
from service.storage.models import Paper, Topic
from service.web.api.auth import ApiRoute, app_settings
from service.web.api.common import Limit, Offset
from service.web.api.errors import ApiError, responses
from service.web.api.schemas import Page, PaperLinksOut, PaperOut

router = APIRouter(prefix="/papers", tags=["papers"], route_class=ApiRoute)
TopicSlug = Annotated[str | None, Query(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$", max_length=64,
                                        description="Only papers in this topic (its slug).")]


def out(settings: Settings, paper: Paper) -> PaperOut:
    card = paper_card(paper)
    links = PaperLinksOut(page=settings.base_url + card.path, hugging_face=safe_url(paper.hf_url),
                          arxiv=safe_url(paper.abs_url), pdf=safe_url(paper.pdf_url),
                          code=safe_url(paper.github_repo), project=safe_url(paper.project_page))
    return PaperOut(id=paper.id, slug=card.slug, arxiv_id=paper.arxiv_id, uid=paper.uid, title=paper.title,
                    authors=list(card.authors), organization=card.organization, day=card.day,
                    published_at=paper.published_at, upvotes=card.upvotes, comments=card.comments,
                    abstract=card.abstract, ai_summary=card.summary, ai_keywords=list(card.keywords),
                    thumbnail=thumbnail_url(paper.thumbnail), topics=[slug for slug, _ in card.topics],
                    sources=list(card.sources), links=links)


@router.get("", response_model=Page[PaperOut], summary="Papers by day, topic and search, one page at a time")
def list_papers(
    settings: Annotated[Settings, Depends(app_settings)],
    day: Annotated[str | None, Query(alias="date", description="A day, YYYY-MM-DD (the paper's source day, UTC).")] = None,
    week: Annotated[str | None, Query(description="An ISO week, YYYY-Www.")] = None,
    month: Annotated[str | None, Query(description="A month, YYYY-MM.")] = None,
    q: Annotated[str | None, Query(max_length=MAX_QUERY_CHARS, description=(
        "Full-text search over titles, abstracts and authors: every word must match, a quoted phrase as a "
        "phrase; results best match first."))] = None,
    topic: TopicSlug = None,
    order: Annotated[Literal["newest", "trending"], Query(description=(
        "Without q: newest day first, or most upvoted first (ties: most upvoted first)."))] = "newest",
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[PaperOut]:
    try:
        span = parse_span(day, week, month)
    except SpanError as exc:
        raise ApiError(422, str(exc), field=f"query.{exc.param}") from None
    with session_scope(settings) as session:
        if topic is not None and session.scalar(select(Topic.id).where(Topic.slug == topic)) is None:
            raise ApiError(422, f"no topic {topic!r}", field="query.topic")
        papers, total = find_papers(session, Filters(span, topic, clean_query(q)), offset=offset, limit=limit,
                                    order=order)
        return Page(items=[out(settings, p) for p in papers], total=total, limit=limit, offset=offset)


@router.get("/{ref:path}", response_model=PaperOut, responses=responses(404), summary="One paper")
def read_paper(ref: str, settings: Annotated[Settings, Depends(app_settings)]) -> PaperOut:
    """REF: the bare arXiv id (a version suffix is ignored), or ``p-<id>`` / the id."""
    parsed = parse_ref(ref)
    with session_scope(settings) as session:
        paper = find_paper(session, parsed) if parsed is not None else None
        if paper is None:
            raise ApiError(404, f"no paper {ref[:80]!r}")
        return out(settings, paper)
