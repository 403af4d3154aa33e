"""The taxonomy: create, change and delete topics, from the admin pages and the API.

A change is checked by building the whole new taxonomy first (a topic that cannot match
anything is refused before it is stored). Papers are not re-classified here: the caller does
that after the commit (``service.topics.store.reclassify_stale``), in the background.

Subscribers' preferences name topics by slug, so nothing here leaves one pointing at a topic
that is gone: a rename moves the slug in every follower's preferences, and a topic that people
follow is deleted only once the caller says what becomes of them (``then``): ``remove`` takes it
out of their preferences, ``merge`` puts another topic (``into``) in its place. Each follower so
changed gets their own audit row, so their history says why their topics changed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.admin import audit
from service.storage.models import Topic
from service.topics.followers import follower_count, followers, replaced
from service.topics.store import topic_row
from service.topics.taxonomy import Taxonomy

SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
COLUMN_FIELDS = ("name", "description", "categories", "keywords")
RULE_FIELDS = ("strong_categories", "title_keywords", "exclude", "min_abstract_hits")

Problem = Literal["slug", "exists", "name", "taxonomy", "last", "into"]
Then = Literal["remove", "merge"]


class TopicError(ValueError):
    """A change refused before anything was written; ``problem`` says which rule it broke (the
    caller words it for its page), the message says it for an API."""

    def __init__(self, problem: Problem, message: str) -> None:
        super().__init__(message)
        self.problem = problem


def apply_fields(row: dict[str, Any], fields: Mapping[str, Any]) -> dict[str, Any]:
    """Pure: ROW (as topic_row gives it) with FIELDS set; keys not named in FIELDS are kept."""
    known = {name: fields[name] for name in (*COLUMN_FIELDS, *RULE_FIELDS) if name in fields}
    return {**row, **known}


def _store(topic: Topic, row: Mapping[str, Any], fields: Mapping[str, Any]) -> None:
    for name in COLUMN_FIELDS:
        setattr(topic, name, row[name])
    if "position" in fields:
        topic.position = fields["position"]
    topic.rules = {**(topic.rules or {}), **{name: row[name] for name in RULE_FIELDS if name in fields}}


def _all(session: Session) -> list[Topic]:
    return list(session.scalars(select(Topic).order_by(Topic.position, Topic.id)))


def _check(session: Session, row: dict[str, Any]) -> None:
    """The taxonomy as it would stand with ROW in its place (or added at the end)."""
    if not str(row.get("name", "")).strip():
        raise TopicError("name", "name: a topic needs a name")
    rows = [row if t.slug == row["slug"] else topic_row(t) for t in _all(session)]
    if not any(r is row for r in rows):
        rows.append(row)
    try:
        Taxonomy.from_rows(rows)
    except ValueError as exc:
        raise TopicError("taxonomy", str(exc)) from None


def add_topic(session: Session, slug: str, fields: Mapping[str, Any], *, actor: str) -> Topic:
    """A new topic from FIELDS (COLUMN_FIELDS, RULE_FIELDS and ``position``; by default after
    the last one). Raises TopicError."""
    _check_slug(session, slug)
    empty = {"slug": slug, "name": "", "description": "", "categories": [], "keywords": []}
    row = apply_fields(empty, fields)
    _check(session, row)
    position = fields.get("position")
    if position is None:
        position = (session.scalar(select(func.max(Topic.position))) or 0) + 1
    topic = Topic(slug=slug, rules={}, position=position)
    _store(topic, row, fields)
    session.add(topic)
    session.flush()
    audit.record(session, actor, "topic.create", "topic", slug, None, topic_row(topic))
    return topic


def update_topic(session: Session, topic: Topic, fields: Mapping[str, Any], *, actor: str) -> None:
    """Change the FIELDS given (the others stay). Raises TopicError, TOPIC untouched."""
    before = topic_row(topic)
    row = apply_fields(before, fields)
    _check(session, row)
    _store(topic, row, fields)
    audit.record(session, actor, "topic.update", "topic", topic.slug, *audit.changed(before, topic_row(topic)))


class TopicInUse(Exception):
    """Subscribers follow the topic and the caller did not say what becomes of them."""

    def __init__(self, slug: str, followers: int) -> None:
        super().__init__(f"{followers} subscriber{'s' if followers != 1 else ''} follow topic {slug!r}: say whether "
                         "to remove it from their preferences (then=remove) or merge it into another topic "
                         "(then=merge&into=SLUG)")
        self.slug = slug
        self.followers = followers


def _check_slug(session: Session, slug: str) -> None:
    if not SLUG.fullmatch(slug) or len(slug) > 64:
        raise TopicError("slug", f"slug: {slug!r} is not lowercase words joined by '-'")
    if session.scalars(select(Topic.id).where(Topic.slug == slug)).first() is not None:
        raise TopicError("exists", f"a topic {slug!r} exists already")


def _move_followers(session: Session, slug: str, into: str | None, *, actor: str, action: str) -> int:
    """Every follower of SLUG with it replaced by INTO (or removed); how many changed."""
    moved = 0
    for subscriber in session.scalars(followers(session, slug)):
        prefs = dict(subscriber.preferences or {})
        topics = list(prefs.get("topics") or [])
        new = replaced(topics, slug, into)
        if new == topics:
            continue
        subscriber.preferences = {**prefs, "topics": new}
        audit.record(session, actor, action, "subscriber", subscriber.id,
                     {"preferences": {"topics": topics}}, {"preferences": {"topics": new}})
        moved += 1
    return moved


def rename_topic(session: Session, topic: Topic, new_slug: str, *, actor: str) -> int:
    """Give TOPIC the slug NEW_SLUG; its followers keep it (their preferences follow). How many
    followers moved. Raises TopicError (slug, exists)."""
    if new_slug == topic.slug:
        return 0
    _check_slug(session, new_slug)
    old = topic.slug
    moved = _move_followers(session, old, new_slug, actor=actor, action="subscriber.topic_renamed")
    topic.slug = new_slug
    audit.record(session, actor, "topic.rename", "topic", new_slug, {"slug": old}, {"slug": new_slug,
                                                                                     "subscribers": moved})
    return moved


def delete_topic(session: Session, topic: Topic, *, actor: str, then: Then | None = None,
                 into: Topic | None = None) -> int:
    """Delete TOPIC; what its followers get instead is THEN (see the module). How many followers
    changed. Raises TopicInUse when it has followers and THEN is None, TopicError for the last
    topic or a merge into no other topic; nothing is written then."""
    if len(_all(session)) == 1:
        raise TopicError("last", "the last topic cannot be deleted")
    if then == "merge" and (into is None or into.id == topic.id):
        raise TopicError("into", "into: merging needs another topic to merge into")
    count = follower_count(session, topic.slug)
    if count and then is None:
        raise TopicInUse(topic.slug, count)
    moved = 0
    if count:
        target = into.slug if then == "merge" and into is not None else None
        moved = _move_followers(session, topic.slug, target, actor=actor,
                                action="subscriber.topic_merged" if target else "subscriber.topic_removed")
    after = {"subscribers": moved, "then": then, "into": into.slug if then == "merge" and into else None}
    audit.record(session, actor, "topic.delete", "topic", topic.slug, topic_row(topic),
                 after if count else None)
    session.delete(topic)
    return moved
