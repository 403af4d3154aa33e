"""/vote/{token}: 👍 / 👎 from a digest. GET shows the paper and one button and changes nothing
(mail scanners fetch every link in a message); the button's POST records the vote; once it is
recorded the page offers to undo it. A forged, tampered or revoked token is a 404 and a paper
never sent to the reader is refused, both with nothing recorded."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from config.settings import Settings
from service.actions.votes import VoteRefused, cast_vote, current_vote, may_vote, subscriber_actor, undo_vote
from service.digests.compose import digest_paper
from service.matching.records import Match, Reasons
from service.storage.db import session_scope
from service.storage.models import Paper, Subscriber, Topic
from service.subscribers.erase import ERASED
from service.subscribers.tokens import InvalidToken, VoteTokenData, link, read_vote_token
from service.rendering.digest import PaperView, paper_view
from service.web.public.context import PageError, check_csrf, link_not_valid, public, read_form, writing
from service.web.templating import render

router = APIRouter()

LABELS = {1: "More like this", -1: "Less like this"}
DONE = {
    "voted": "Recorded. Your next digest takes it into account.",
    "undone": "Your vote is undone.",
}


@dataclass(frozen=True)
class Voting:
    subscriber: Subscriber
    paper: Paper
    token: VoteTokenData


def load_vote(session: Session, settings: Settings, token: str) -> Voting:
    """The reader, paper and vote a link is for; PageError 404 when it leads nowhere."""
    try:
        data = read_vote_token(settings, token)
    except InvalidToken as exc:
        raise link_not_valid(exc) from None
    subscriber = session.get(Subscriber, data.subscriber_id)
    if subscriber is None or subscriber.token_version != data.version or subscriber.status == ERASED:
        raise link_not_valid(InvalidToken("this link is no longer valid; ask for a new one"))
    paper = session.get(Paper, data.paper_id)
    if paper is None:
        raise PageError(404, "Paper not found", "This paper is no longer in papermail; nothing was recorded.")
    return Voting(subscriber, paper, data)


def card(session: Session, paper: Paper) -> PaperView:
    names = {slug: name for slug, name in session.execute(select(Topic.slug, Topic.name))}
    return paper_view(digest_paper(paper, Match(paper.id, 0.0, Reasons()), names))


def _context(request: Request, token: str) -> dict[str, Any]:
    settings = public(request).settings
    with session_scope(settings) as session:
        voting = load_vote(session, settings, token)
        subscriber, value = voting.subscriber, voting.token.value
        allowed = may_vote(session, subscriber.id, voting.paper.id)
        return {
            "page_title": LABELS[value],
            "token": token,
            "paper": card(session, voting.paper),
            "value": value,
            "label": LABELS[value],
            "current": current_vote(session, subscriber.id, voting.paper.id),
            "allowed": allowed,
            "done": DONE.get(request.query_params.get("done", "")),
            "preferences_url": link(settings, "preferences", subscriber.id, subscriber.token_version),
        }


@router.get("/vote/{token}")
async def page(request: Request, token: str) -> Response:
    context = await run_in_threadpool(_context, request, token)
    return render(request, "public/vote.html", context, status_code=200 if context["allowed"] else 403)


def _change(request: Request, token: str, undo: bool) -> None:
    state = public(request)
    with writing(state) as session:
        voting = load_vote(session, state.settings, token)
        actor = subscriber_actor(voting.subscriber.id)
        if undo:
            undo_vote(session, voting.subscriber, voting.paper.id, actor)
            return
        try:
            cast_vote(session, voting.subscriber, voting.paper.id, voting.token.value, actor, datetime.now(UTC))
        except VoteRefused as exc:
            raise PageError(403, "Nothing to vote on", f"Nothing was recorded: {exc}.") from None


@router.post("/vote/{token}")
async def vote(request: Request, token: str) -> Response:
    form = await read_form(request)
    check_csrf(request, form, "vote")
    await run_in_threadpool(_change, request, token, False)
    return RedirectResponse(f"/vote/{token}?done=voted", status_code=303)


@router.post("/vote/{token}/undo")
async def undo(request: Request, token: str) -> Response:
    form = await read_form(request)
    check_csrf(request, form, "vote-undo")
    await run_in_threadpool(_change, request, token, True)
    return RedirectResponse(f"/vote/{token}?done=undone", status_code=303)
