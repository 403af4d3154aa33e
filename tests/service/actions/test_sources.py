"""Source actions: a stored source obeys a configured one's rules; each change is one audit row."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from config.settings import Settings
from service.actions.sources import (
    InvalidSource,
    SourceExists,
    add_source,
    note_ingest_now,
    set_source_enabled,
    update_source,
)
from service.storage import migrate
from service.storage.db import session_factory
from service.storage.models import AuditLog, Source

NOW = datetime(2026, 11, 27, 9, tzinfo=UTC)
FEED = {"name": "lab-blog", "kind": "feed", "url": "https://lab.example.org/feed.xml", "poll_interval_minutes": 60,
        "enabled": True}


@pytest.fixture
def session(settings: Settings) -> Iterator[Session]:
    migrate.upgrade(settings)
    with session_factory(settings)() as session:
        yield session


def log(session: Session) -> list[AuditLog]:
    return list(session.scalars(select(AuditLog).order_by(AuditLog.id)))


def test_add_logs_the_values(session: Session) -> None:
    source = add_source(session, FEED, actor="api:crm", now=NOW)
    assert (source.name, source.created_at) == ("lab-blog", NOW)
    [entry] = log(session)
    assert (entry.action, entry.actor, entry.target_id, entry.before, entry.after) == (
        "source.create", "api:crm", "lab-blog", None, FEED)


@pytest.mark.parametrize(("change", "field"), [
    ({"url": "ftp://lab.example.org/feed"}, "url"),
    ({"kind": "gopher"}, "kind"),
    ({"poll_interval_minutes": 0}, "poll_interval_minutes"),
    ({"name": "Not A Name"}, "name"),
])
def test_a_source_that_could_not_be_polled_is_refused(session: Session, change: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidSource) as refused:
        add_source(session, {**FEED, **change}, actor="api:crm", now=NOW)
    assert refused.value.field == field and str(refused.value).startswith(f"{field}: ")
    assert session.scalars(select(Source)).all() == [] and log(session) == []


def test_a_name_is_taken_once(session: Session) -> None:
    add_source(session, FEED, actor="cli", now=NOW)
    with pytest.raises(SourceExists):
        add_source(session, {**FEED, "url": "https://other.example.org/"}, actor="cli", now=NOW)
    assert len(log(session)) == 1


def test_update_and_enable_log_what_changed_and_make_the_source_due(session: Session) -> None:
    source = add_source(session, FEED, actor="cli", now=NOW)
    source.next_poll_at = NOW
    update_source(session, source, {"poll_interval_minutes": 30, "url": FEED["url"]}, actor="root@example.org")
    assert source.next_poll_at is None  # due at the next tick, not after the old interval
    set_source_enabled(session, source, False, actor="api:crm")
    source.next_poll_at = NOW
    set_source_enabled(session, source, True, actor="api:crm")
    assert source.next_poll_at is None
    note_ingest_now(session, source, actor="root@example.org")
    entries = log(session)[1:]
    assert [(e.action, e.before, e.after) for e in entries] == [
        ("source.update", {"poll_interval_minutes": 60}, {"poll_interval_minutes": 30}),
        ("source.disable", {"enabled": True}, {"enabled": False}),
        ("source.enable", {"enabled": False}, {"enabled": True}),
        ("source.ingest_now", None, None),
    ]


def test_a_refused_update_changes_nothing(session: Session) -> None:
    source = add_source(session, FEED, actor="cli", now=NOW)
    with pytest.raises(InvalidSource):
        update_source(session, source, {"url": "file:///etc/passwd"}, actor="api:crm")
    with pytest.raises(InvalidSource):
        update_source(session, source, {"name": "renamed"}, actor="api:crm")  # not an editable field
    assert (source.url, source.name) == (FEED["url"], "lab-blog") and len(log(session)) == 1
