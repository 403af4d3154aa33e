"""A topic that subscribers follow is never dropped from under them: deleting it needs a choice
(remove it from their preferences, or merge it into another topic), a rename moves them along,
and each follower changed gets an audit row of their own."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from config.settings import Settings
from service.actions.topics import TopicError, TopicInUse, delete_topic, rename_topic
from service.storage import migrate
from service.storage.db import session_factory
from service.storage.models import AuditLog, Subscriber, Topic
from service.topics.followers import follower_count, replaced
from service.topics.store import current_taxonomy


pytestmark = pytest.mark.integration  # both databases: the preferences' JSON is read each its own way


@pytest.fixture
def session(db_settings: Settings) -> Iterator[Session]:
    migrate.upgrade(db_settings)
    with session_factory(db_settings)() as session:
        current_taxonomy(session)
        session.add_all([
            Subscriber(email="a@example.org", status="active", preferences={"topics": ["llm", "agents"]}),
            Subscriber(email="b@example.org", status="paused", preferences={"topics": ["agents"]}),
            Subscriber(email="c@example.org", status="active", preferences={"topics": ["computer-vision"]}),
            Subscriber(email="d@example.org", status="erased", preferences={"topics": ["agents"]}),
        ])
        session.flush()
        yield session


def topic(session: Session, slug: str) -> Topic:
    return session.scalars(select(Topic).where(Topic.slug == slug)).one()


def topics_of(session: Session) -> dict[str, list[str]]:
    return {s.email: s.preferences.get("topics", []) for s in session.scalars(select(Subscriber).order_by(Subscriber.id))}


def test_replaced_keeps_order_and_never_repeats() -> None:
    assert replaced(["llm", "agents", "nlp"], "agents", None) == ["llm", "nlp"]
    assert replaced(["agents", "llm"], "agents", "llm") == ["llm"]
    assert replaced(["llm", "agents"], "agents", "rl") == ["llm", "rl"]


def test_deleting_a_followed_topic_needs_a_choice(session: Session) -> None:
    assert follower_count(session, "agents") == 2  # the erased tombstone does not count
    with pytest.raises(TopicInUse) as refused:
        delete_topic(session, topic(session, "agents"), actor="root@example.org")
    assert refused.value.followers == 2 and "2 subscribers follow" in str(refused.value)
    with pytest.raises(TopicError) as no_target:
        delete_topic(session, topic(session, "agents"), actor="root@example.org", then="merge")
    assert no_target.value.problem == "into"
    assert session.scalars(select(AuditLog)).first() is None  # nothing written by a refusal
    assert follower_count(session, "agents") == 2


def test_remove_takes_it_out_of_every_followers_preferences(session: Session) -> None:
    assert delete_topic(session, topic(session, "agents"), actor="root@example.org", then="remove") == 2
    assert topics_of(session)["a@example.org"] == ["llm"] and topics_of(session)["b@example.org"] == []
    assert session.scalars(select(Topic).where(Topic.slug == "agents")).first() is None
    entries = {(e.action, e.target_type) for e in session.scalars(select(AuditLog))}
    assert entries == {("subscriber.topic_removed", "subscriber"), ("topic.delete", "topic")}
    deleted = session.scalars(select(AuditLog).where(AuditLog.action == "topic.delete")).one()
    assert deleted.after == {"subscribers": 2, "then": "remove", "into": None}


def test_merge_puts_the_other_topic_in_its_place(session: Session) -> None:
    moved = delete_topic(session, topic(session, "agents"), actor="api:crm", then="merge", into=topic(session, "llm"))
    assert moved == 2
    assert topics_of(session)["a@example.org"] == ["llm"] and topics_of(session)["b@example.org"] == ["llm"]
    assert topics_of(session)["d@example.org"] == ["agents"]  # a tombstone is left alone
    rows = session.scalars(select(AuditLog).where(AuditLog.action == "subscriber.topic_merged")).all()
    assert {r.after["preferences"]["topics"][0] for r in rows} == {"llm"}  # type: ignore[index]


def test_an_unfollowed_topic_is_deleted_at_once(session: Session) -> None:
    assert delete_topic(session, topic(session, "robotics"), actor="cli") == 0


def test_a_rename_moves_the_followers_along(session: Session) -> None:
    assert rename_topic(session, topic(session, "agents"), "ai-agents", actor="root@example.org") == 2
    assert topics_of(session)["a@example.org"] == ["llm", "ai-agents"]
    assert follower_count(session, "ai-agents") == 2 and follower_count(session, "agents") == 0
    with pytest.raises(TopicError) as taken:
        rename_topic(session, topic(session, "ai-agents"), "llm", actor="cli")
    assert taken.value.problem == "exists"
    with pytest.raises(TopicError):
        rename_topic(session, topic(session, "ai-agents"), "Not A Slug", actor="cli")
