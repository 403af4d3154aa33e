"""/api/v1/subscribers/{id}/seeds and /votes: what a subscriber's learned profile is made of —
list, add and remove seed papers, list votes, reset both."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Response
from sqlalchemy.orm import Session

from config.settings import Settings
from service.actions.seeds import SeedsAdded, add_seed_papers, add_seeds, remove_seed, reset_learned, seeds_of
from service.actions.votes import votes_of
from service.storage.db import session_scope
from service.storage.models import Subscriber
from service.subscribers.erase import ERASED
from service.subscribers.seed_refs import BadRef, SeedRef, parse_each
from service.web.api.auth import ApiCaller, ApiRoute, app_settings, current_caller
from service.web.api.common import MAX_BIG_ID, SubscriberId
from service.web.api.errors import ApiError, responses
from service.web.api.schemas import (
    AmbiguousTitleOut,
    LearnedReset,
    PaperChoiceOut,
    SeedOut,
    SeedsAddedOut,
    SeedsIn,
    VoteOut,
)

router = APIRouter(prefix="/subscribers", tags=["subscribers"], route_class=ApiRoute)
SeedId = Annotated[int, Path(ge=1, le=MAX_BIG_ID, description="A seed id.")]


def get_subscriber(session: Session, subscriber_id: int, *, editable: bool = False) -> Subscriber:
    # subscribers.py has the same; it imports like_refs from here, so this module cannot import it.
    subscriber = session.get(Subscriber, subscriber_id)
    if subscriber is None:
        raise ApiError(404, f"no subscriber {subscriber_id}")
    if editable and subscriber.status == ERASED:
        raise ApiError(409, f"subscriber {subscriber_id} was erased")
    return subscriber


def like_refs(like: list[str], field: str = "body.like") -> list[SeedRef]:
    """The ``like`` list as seed references, or a 422 naming the first bad one."""
    try:
        return parse_each(like)
    except BadRef as exc:
        raise ApiError(422, str(exc), field=field if exc.index is None else f"{field}.{exc.index}") from None


def added_out(added: SeedsAdded) -> SeedsAddedOut:
    return SeedsAddedOut(
        added=[f"{r.kind}:{r.ref}" for r in added.added], already=added.already, over_limit=added.over_limit,
        ambiguous=[AmbiguousTitleOut(title=a.title, choices=[
            PaperChoiceOut(paper_id=c.paper_id, arxiv_id=c.arxiv_id, title=c.title) for c in a.choices])
            for a in added.ambiguous],
    )


@router.get("/{subscriber_id}/seeds", response_model=list[SeedOut], responses=responses(404),
            summary='The seed papers ("more like these")')
def list_seeds(subscriber_id: SubscriberId, settings: Annotated[Settings, Depends(app_settings)]) -> list[SeedOut]:
    with session_scope(settings) as session:
        get_subscriber(session, subscriber_id)
        return [SeedOut(id=s.seed_id, kind=s.kind, ref=s.ref, paper_id=s.paper_id, title=s.title)
                for s in seeds_of(session, subscriber_id)]


@router.post("/{subscriber_id}/seeds", response_model=SeedsAddedOut, responses=responses(404, 409),
             summary="Add seed papers by reference (or by paper id, to settle an ambiguous title)")
def post_seeds(subscriber_id: SubscriberId, body: SeedsIn, settings: Annotated[Settings, Depends(app_settings)],
               caller: Annotated[ApiCaller, Depends(current_caller)]) -> SeedsAddedOut:
    refs, now = like_refs(body.like), datetime.now(UTC)
    with session_scope(settings) as session:
        subscriber = get_subscriber(session, subscriber_id, editable=True)
        added = add_seeds(session, subscriber, refs, caller.actor, now)
        if body.papers:
            picked = add_seed_papers(session, subscriber, body.papers, caller.actor, now)
            added.added += picked.added
            added.already += picked.already
            added.over_limit += picked.over_limit
        return added_out(added)


@router.delete("/{subscriber_id}/seeds/{seed_id}", status_code=204, responses=responses(404),
               summary="Remove one seed paper")
def delete_seed(subscriber_id: SubscriberId, seed_id: SeedId, settings: Annotated[Settings, Depends(app_settings)],
                caller: Annotated[ApiCaller, Depends(current_caller)]) -> Response:
    with session_scope(settings) as session:
        subscriber = get_subscriber(session, subscriber_id)
        if not remove_seed(session, subscriber, seed_id, caller.actor):
            raise ApiError(404, f"subscriber {subscriber_id} has no seed {seed_id}")
    return Response(status_code=204)


@router.get("/{subscriber_id}/votes", response_model=list[VoteOut], responses=responses(404),
            summary="The 👍 / 👎 votes, newest first")
def list_votes(subscriber_id: SubscriberId, settings: Annotated[Settings, Depends(app_settings)]) -> list[VoteOut]:
    with session_scope(settings) as session:
        get_subscriber(session, subscriber_id)
        return [VoteOut(paper_id=v.paper_id, arxiv_id=v.arxiv_id, title=v.title, value=v.value,
                        voted_at=v.voted_at) for v in votes_of(session, subscriber_id)]


@router.delete("/{subscriber_id}/learned", response_model=LearnedReset, responses=responses(404),
               summary="Reset what papermail learned: every vote and seed paper")
def reset(subscriber_id: SubscriberId, settings: Annotated[Settings, Depends(app_settings)],
          caller: Annotated[ApiCaller, Depends(current_caller)]) -> LearnedReset:
    with session_scope(settings) as session:
        votes, seeds = reset_learned(session, get_subscriber(session, subscriber_id), caller.actor)
        return LearnedReset(votes_deleted=votes, seeds_deleted=seeds)
