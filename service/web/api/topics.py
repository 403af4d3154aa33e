"""/api/v1/topics: the taxonomy. A change is checked by building the whole new taxonomy first
(a topic that cannot match anything is refused before it is stored), and papers are
re-classified in the background after the response."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends
from sqlalchemy import select
from sqlalchemy.orm import Session

from config.settings import Settings
from service.actions import topics as actions
from service.storage.db import session_scope
from service.storage.models import Topic
from service.topics.store import (
    current_taxonomy,
    papers_per_topic,
    reclassify_stale,
    topic_row,
)
from service.web.api.auth import ApiCaller, ApiRoute, app_settings, current_caller
from service.web.api.common import Slug
from service.web.api.errors import ApiError, responses
from service.web.api.schemas import TopicCreate, TopicFields, TopicOut

router = APIRouter(prefix="/topics", tags=["topics"], route_class=ApiRoute)


def reclassify(settings: Settings) -> None:
    """Bring every paper's topics up to the taxonomy as it now stands."""
    with session_scope(settings) as session:
        reclassify_stale(session, current_taxonomy(session))


def out(topic: Topic, papers: int) -> TopicOut:
    row = topic_row(topic)
    rules = {name: row.get(name, [] if name != "min_abstract_hits" else 2) for name in actions.RULE_FIELDS}
    return TopicOut(slug=topic.slug, name=topic.name, description=topic.description,
                    categories=list(topic.categories), keywords=list(topic.keywords), position=topic.position,
                    papers=papers, **rules)


def all_topics(session: Session) -> list[Topic]:
    current_taxonomy(session)  # seeds the shipped taxonomy on first use
    return list(session.scalars(select(Topic).order_by(Topic.position, Topic.id)))


def refused(exc: actions.TopicError) -> ApiError:
    if exc.problem == "exists":
        return ApiError(409, str(exc), field="body.slug")
    if exc.problem == "last":
        return ApiError(409, str(exc))
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
        return [out(topic, counts.get(topic.slug, 0)) for topic in all_topics(session)]


@router.get("/{slug}", response_model=TopicOut, responses=responses(404), summary="One topic")
def read_topic(slug: Slug, settings: Annotated[Settings, Depends(app_settings)]) -> TopicOut:
    with session_scope(settings) as session:
        all_topics(session)
        return out(get_topic(session, slug), papers_per_topic(session).get(slug, 0))


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
        result = out(topic, 0)
    background.add_task(reclassify, settings)
    return result


@router.patch("/{slug}", response_model=TopicOut, responses=responses(404),
              summary="Change a topic (papers are re-classified in the background)")
def update_topic(slug: Slug, body: TopicFields, background: BackgroundTasks,
                 settings: Annotated[Settings, Depends(app_settings)],
                 caller: Annotated[ApiCaller, Depends(current_caller)]) -> TopicOut:
    with session_scope(settings) as session:
        all_topics(session)
        topic = get_topic(session, slug)
        try:
            actions.update_topic(session, topic, body.model_dump(exclude_none=True), actor=caller.actor)
        except actions.TopicError as exc:
            raise refused(exc) from None
        result = out(topic, papers_per_topic(session).get(slug, 0))
    background.add_task(reclassify, settings)
    return result


@router.delete("/{slug}", status_code=204, responses=responses(404, 409),
               summary="Delete a topic (subscribers keep the slug; it matches nothing)")
def delete_topic(slug: Slug, background: BackgroundTasks, settings: Annotated[Settings, Depends(app_settings)],
                 caller: Annotated[ApiCaller, Depends(current_caller)]) -> None:
    with session_scope(settings) as session:
        all_topics(session)
        topic = get_topic(session, slug)
        try:
            actions.delete_topic(session, topic, actor=caller.actor)
        except actions.TopicError as exc:
            raise refused(exc) from None
    background.add_task(reclassify, settings)
