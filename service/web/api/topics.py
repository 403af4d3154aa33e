"""/api/v1/topics: the taxonomy. A change is checked by building the whole new taxonomy first
(a topic that cannot match anything is refused before it is stored), and papers are
re-classified in the background after the response. A rename (PATCH with a new ``slug``) moves
the topic's subscribers along; a DELETE of a topic that subscribers follow answers 409 with
their count unless it says what becomes of them (``?then=remove`` or ``?then=merge&into=SLUG``)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, BackgroundTasks, Depends, Query
from sqlalchemy import select
from sqlalchemy.orm import Session

from config.settings import Settings
from service.actions import topics as actions
from service.storage.db import session_scope
from service.storage.models import Topic
from service.topics.followers import follower_count
from service.topics.store import (
    current_taxonomy,
    papers_per_topic,
    reclassify_stale,
    topic_row,
)
from service.web.api.auth import ApiCaller, ApiRoute, app_settings, current_caller
from service.web.api.common import Slug
from service.web.api.errors import ApiError, responses
from service.web.api.schemas import TopicCreate, TopicOut, TopicUpdate

router = APIRouter(prefix="/topics", tags=["topics"], route_class=ApiRoute)


def reclassify(settings: Settings) -> None:
    """Bring every paper's topics up to the taxonomy as it now stands."""
    with session_scope(settings) as session:
        reclassify_stale(session, current_taxonomy(session))


def out(topic: Topic, papers: int, subscribers: int) -> TopicOut:
    row = topic_row(topic)
    rules = {name: row.get(name, [] if name != "min_abstract_hits" else 2) for name in actions.RULE_FIELDS}
    return TopicOut(slug=topic.slug, name=topic.name, description=topic.description,
                    categories=list(topic.categories), keywords=list(topic.keywords), position=topic.position,
                    papers=papers, subscribers=subscribers, **rules)


def all_topics(session: Session) -> list[Topic]:
    current_taxonomy(session)  # seeds the shipped taxonomy on first use
    return list(session.scalars(select(Topic).order_by(Topic.position, Topic.id)))


def refused(exc: actions.TopicError) -> ApiError:
    if exc.problem == "exists":
        return ApiError(409, str(exc), field="body.slug")
    if exc.problem == "last":
        return ApiError(409, str(exc))
    if exc.problem == "into":
        return ApiError(422, str(exc), field="query.into")
    if exc.problem == "slug":
        return ApiError(422, str(exc), field="body.slug")
    return ApiError(422, str(exc), field="body")


def get_topic(session: Session, slug: str) -> Topic:
    topic = session.scalars(select(Topic).where(Topic.slug == slug)).one_or_none()
    if topic is None:
        raise ApiError(404, f"no topic {slug!r}")
    return topic


@router.get("", response_model=list[TopicOut], summary="Every topic, in display order, with paper counts")
def list_topics(settings: Annotated[Settings, Depends(app_settings)]) -> list[TopicOut]:
    with session_scope(settings) as session:
        counts = papers_per_topic(session)
        return [out(topic, counts.get(topic.slug, 0), follower_count(session, topic.slug))
                for topic in all_topics(session)]


@router.get("/{slug}", response_model=TopicOut, responses=responses(404), summary="One topic")
def read_topic(slug: Slug, settings: Annotated[Settings, Depends(app_settings)]) -> TopicOut:
    with session_scope(settings) as session:
        all_topics(session)
        return out(get_topic(session, slug), papers_per_topic(session).get(slug, 0), follower_count(session, slug))


@router.post("", response_model=TopicOut, status_code=201, responses=responses(409),
             summary="Create a topic (papers are re-classified in the background)")
def create_topic(body: TopicCreate, background: BackgroundTasks, settings: Annotated[Settings, Depends(app_settings)],
                 caller: Annotated[ApiCaller, Depends(current_caller)]) -> TopicOut:
    fields = body.model_dump(exclude_none=True)
    with session_scope(settings) as session:
        all_topics(session)
        try:
            topic = actions.add_topic(session, fields.pop("slug"), fields, actor=caller.actor)
        except actions.TopicError as exc:
            raise refused(exc) from None
        result = out(topic, 0, 0)
    background.add_task(reclassify, settings)
    return result


@router.patch("/{slug}", response_model=TopicOut, responses=responses(404, 409),
              summary="Change a topic, or rename it with a new slug (its subscribers follow; papers are re-classified)")
def update_topic(slug: Slug, body: TopicUpdate, background: BackgroundTasks,
                 settings: Annotated[Settings, Depends(app_settings)],
                 caller: Annotated[ApiCaller, Depends(current_caller)]) -> TopicOut:
    fields = body.model_dump(exclude_none=True)
    new_slug = fields.pop("slug", slug)
    with session_scope(settings) as session:
        all_topics(session)
        topic = get_topic(session, slug)
        try:
            actions.update_topic(session, topic, fields, actor=caller.actor)
            actions.rename_topic(session, topic, new_slug, actor=caller.actor)
        except actions.TopicError as exc:
            raise refused(exc) from None
        result = out(topic, papers_per_topic(session).get(new_slug, 0), follower_count(session, new_slug))
    background.add_task(reclassify, settings)
    return result


@router.delete("/{slug}", status_code=204, responses=responses(404, 409, 422),
               summary="Delete a topic; if subscribers follow it, say what becomes of them (else 409 with their count)")
def delete_topic(slug: Slug, background: BackgroundTasks, settings: Annotated[Settings, Depends(app_settings)],
                 caller: Annotated[ApiCaller, Depends(current_caller)],
                 then: Annotated[Literal["remove", "merge"] | None, Query(description=(
                     "What becomes of the topic's subscribers: `remove` it from their preferences, or `merge` it "
                     "into the topic `into`. Needed when anyone follows it."))] = None,
                 into: Annotated[str | None, Query(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$", max_length=64,
                                                   description="The topic to merge into (with then=merge).")] = None,
                 ) -> None:
    with session_scope(settings) as session:
        all_topics(session)
        topic = get_topic(session, slug)
        target = get_topic(session, into) if then == "merge" and into else None
        try:
            actions.delete_topic(session, topic, actor=caller.actor, then=then, into=target)
        except actions.TopicInUse as exc:
            raise ApiError(409, str(exc), code="topic_in_use", count=exc.followers) from None
        except actions.TopicError as exc:
            raise refused(exc) from None
    background.add_task(reclassify, settings)
