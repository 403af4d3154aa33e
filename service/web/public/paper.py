"""/papers/{arxiv_id}: one paper — everything the front page shows, the full abstract, the
sources that reported it and the papers most like it.

Its one address is ``paper_path`` (service.catalog.slugs); the others that name the same
paper (the Atom feed's ``/papers/<row id>`` entry ids, a versioned arXiv id, ``p-<id>`` of a
paper that has since got an arXiv id) answer 301 to it.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from service.catalog.cards import PaperCard, paper_card
from service.catalog.similar import similar_to
from service.catalog.listing import find_paper
from service.catalog.slugs import paper_path, parse_ref
from service.storage.db import session_scope
from service.web.public.context import PageError, public
from service.web.templating import render

router = APIRouter()


def not_found() -> PageError:
    return PageError(404, "No such paper", "papermail has no paper at this address. It may not have been "
                                           "ingested yet: browse the day's papers on the front page.")


@dataclass(frozen=True)
class PaperPage:
    card: PaperCard
    similar: tuple[PaperCard, ...]


@router.get("/papers/{slug:path}")
async def paper_page(request: Request, slug: str) -> Response:
    ref = parse_ref(slug)
    if ref is None:
        raise not_found()
    state = public(request)

    def load() -> PaperPage | str:
        with session_scope(state.settings) as session:
            paper = find_paper(session, ref)
            if paper is None:
                raise not_found()
            canonical = paper_path(paper.arxiv_id, paper.id)
            if request.url.path != canonical:
                return canonical
            corpus = state.corpus.corpus(state.settings, session)
            similar = tuple(paper_card(p) for p in similar_to(session, corpus, paper))
            return PaperPage(paper_card(paper), similar)

    page = await run_in_threadpool(load)
    if isinstance(page, str):
        return RedirectResponse(page, status_code=301)
    context = {"page_title": page.card.title, "card": page.card, "similar": page.similar}
    return render(request, "public/paper.html", context)
