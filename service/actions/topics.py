"""The taxonomy: create, change and delete topics, from the admin pages and the API.

A change is checked by building the whole new taxonomy first (a topic that cannot match
anything is refused before it is stored). Papers are not re-classified here: the caller does
that after the commit (``service.topics.store.reclassify_stale``), in the background.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.admin import audit
from service.storage.models import Topic
from service.topics.store import topic_row
from service.topics.taxonomy import Taxonomy

SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
COLUMN_FIELDS = ("name", "description", "categories", "keywords")
RULE_FIELDS = ("strong_categories", "title_keywords", "exclude", "min_abstract_hits")

Problem = Literal["slug", "exists", "name", "taxonomy", "last"]


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
    if not SLUG.fullmatch(slug) or len(slug) > 64:
        raise TopicError("slug", f"slug: {slug!r} is not lowercase words joined by '-'")
    if session.scalars(select(Topic.id).where(Topic.slug == slug)).first() is not None:
        raise TopicError("exists", f"a topic {slug!r} exists already")
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


def delete_topic(session: Session, topic: Topic, *, actor: str) -> None:
    """Subscribers keep the slug in their preferences; it matches nothing. Raises TopicError
    for the last topic (a taxonomy needs one)."""
    if len(_all(session)) == 1:
        raise TopicError("last", "the last topic cannot be deleted")
    audit.record(session, actor, "topic.delete", "topic", topic.slug, topic_row(topic), None)
    session.delete(topic)
