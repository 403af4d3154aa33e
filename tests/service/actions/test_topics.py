"""Topic actions: a change is checked against the whole taxonomy before anything is written,
and each one leaves one audit row with the topic before and after."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from config.settings import Settings
from service.actions.topics import TopicError, add_topic, delete_topic, update_topic
from service.storage import migrate
from service.storage.db import session_factory
from service.storage.models import AuditLog, Topic
from service.topics.store import current_taxonomy, topic_row

SPEECH = {"name": "Speech", "description": "", "keywords": ["speech recognition"], "categories": ["cs.SD"],
          "strong_categories": [], "title_keywords": [], "exclude": []}


@pytest.fixture
def session(settings: Settings) -> Iterator[Session]:
    migrate.upgrade(settings)
    with session_factory(settings)() as session:
        current_taxonomy(session)  # the shipped topics
        yield session


def log(session: Session) -> list[AuditLog]:
    return list(session.scalars(select(AuditLog).order_by(AuditLog.id)))


def topic(session: Session, slug: str) -> Topic | None:
    return session.scalars(select(Topic).where(Topic.slug == slug)).one_or_none()


def test_add_places_the_topic_last_and_logs_it(session: Session) -> None:
    last = session.scalar(select(func.max(Topic.position)))
    created = add_topic(session, "speech", SPEECH, actor="root@example.org")
    assert created.position == (last or 0) + 1 and created.rules["strong_categories"] == []
    [entry] = log(session)
    assert (entry.action, entry.actor, entry.target_type, entry.target_id) == (
        "topic.create", "root@example.org", "topic", "speech")
    assert entry.before is None and entry.after == topic_row(created)


@pytest.mark.parametrize(("slug", "fields", "problem"), [
    ("Speech Audio", SPEECH, "slug"),
    ("llm", SPEECH, "exists"),
    ("speech", {**SPEECH, "name": "  "}, "name"),
    ("speech", {**SPEECH, "keywords": []}, "taxonomy"),  # nothing it could ever match
    ("speech", {**SPEECH, "categories": ["not a category"]}, "taxonomy"),
])
def test_a_refused_topic_is_never_stored(session: Session, slug: str, fields: dict[str, object], problem: str) -> None:
    before = session.scalar(select(func.count(Topic.id)))
    with pytest.raises(TopicError) as refused:
        add_topic(session, slug, fields, actor="api:crm")
    assert refused.value.problem == problem and str(refused.value)
    assert session.scalar(select(func.count(Topic.id))) == before and log(session) == []


def test_update_logs_only_the_changed_fields_and_keeps_the_rest(session: Session) -> None:
    llm = topic(session, "llm")
    assert llm is not None
    old = topic_row(llm)
    hits = int(old.get("min_abstract_hits") or 2) + 1
    update_topic(session, llm, {"keywords": ["language model"], "min_abstract_hits": hits}, actor="api:crm")
    [entry] = log(session)
    assert entry.action == "topic.update" and entry.target_id == "llm"
    assert entry.before == {"keywords": old["keywords"], "min_abstract_hits": old.get("min_abstract_hits")}
    assert entry.after == {"keywords": ["language model"], "min_abstract_hits": hits}
    assert (llm.name, llm.categories) == (old["name"], old["categories"])


def test_a_refused_update_leaves_the_topic_as_it_was(session: Session) -> None:
    llm = topic(session, "llm")
    assert llm is not None
    old = topic_row(llm)
    with pytest.raises(TopicError):
        update_topic(session, llm, {"keywords": [], "title_keywords": [], "strong_categories": []}, actor="cli")
    assert topic_row(llm) == old and log(session) == []


def test_delete_logs_the_whole_topic_and_keeps_the_last_one(session: Session) -> None:
    slugs = list(session.scalars(select(Topic.slug).order_by(Topic.position)))
    first = topic(session, slugs[0])
    assert first is not None
    row = topic_row(first)
    delete_topic(session, first, actor="root@example.org")
    [entry] = log(session)
    assert (entry.action, entry.before, entry.after) == ("topic.delete", row, None)
    for slug in slugs[1:-1]:
        doomed = topic(session, slug)
        assert doomed is not None
        delete_topic(session, doomed, actor="root@example.org")
    last = topic(session, slugs[-1])
    assert last is not None
    with pytest.raises(TopicError) as refused:
        delete_topic(session, last, actor="root@example.org")
    assert refused.value.problem == "last" and topic(session, slugs[-1]) is not None
    assert len(log(session)) == len(slugs) - 1
