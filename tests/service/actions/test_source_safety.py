"""Source URLs on private, loopback or link-local addresses are refused unless allowed; every
problem of a source is said, in words; a source is deleted with its papers kept, unless it comes
from the settings."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from config.settings import Settings
from service.actions.sources import (
    InvalidSource,
    SourceConfigured,
    add_source,
    delete_source,
    non_public,
    update_source,
    url_problem,
)
from service.storage import migrate
from service.storage.db import session_factory
from service.storage.models import AuditLog, Paper, Source

NOW = datetime(2026, 11, 27, 9, tzinfo=UTC)
FEED = {"name": "lab-blog", "kind": "feed", "url": "https://lab.example.org/feed.xml", "poll_interval_minutes": 60,
        "enabled": True}


def resolver(table: dict[str, list[str]]):  # type: ignore[no-untyped-def]
    return lambda host, port: table.get(host, [])


@pytest.fixture
def session(settings: Settings) -> Iterator[Session]:
    migrate.upgrade(settings)
    with session_factory(settings)() as session:
        yield session


@pytest.mark.parametrize("address", ["127.0.0.1", "10.1.2.3", "192.168.0.10", "169.254.169.254", "::1",
                                     "fe80::1", "::ffff:127.0.0.1", "100.64.0.1", "0.0.0.0", "224.0.0.1"])
def test_non_public_addresses_are_found(address: str) -> None:
    assert non_public(["93.184.215.14", address]) == address


def test_public_addresses_pass() -> None:
    assert non_public(["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"]) is None


@pytest.mark.parametrize(("url", "words"), [
    ("http://169.254.169.254/latest/meta-data/", "169.254.169.254, a private, loopback or link-local address"),
    ("http://127.0.0.1:8080/feed", "127.0.0.1"),
    ("http://[::1]/feed", "::1"),
    ("https://intranet.example/feed", "intranet.example (10.0.0.7)"),
    ("http://[bad/feed", "is not a valid address"),
    ("ftp://lab.example.org/feed", "must start with http:// or https://"),
    ("https:///feed", "has no host name"),
    ("https://lab.example.org/a feed", "must not contain spaces"),
])
def test_url_problems_in_words(url: str, words: str) -> None:
    problem = url_problem(url, allow_private=False, resolve=resolver({"intranet.example": ["10.0.0.7"]}))
    assert problem is not None and words in problem


def test_allowed_by_the_setting_and_unresolvable_hosts_pass() -> None:
    assert url_problem("http://127.0.0.1:8080/feed", allow_private=True) is None
    assert url_problem("https://nowhere.invalid/feed", allow_private=False, resolve=resolver({})) is None


def test_every_problem_is_given_in_words(session: Session) -> None:
    bad = {"name": "Not A Name", "kind": "gopher", "url": "http://169.254.169.254/", "poll_interval_minutes": 0,
           "enabled": True}
    with pytest.raises(InvalidSource) as refused:
        add_source(session, bad, actor="cli", now=NOW)
    problems = refused.value.problems
    assert list(problems) == ["name", "kind", "url", "poll_interval_minutes"]
    assert "lowercase letters" in problems["name"] and "^[" not in str(refused.value)
    assert "from 1 to 10080" in problems["poll_interval_minutes"] and "169.254.169.254" in problems["url"]
    assert refused.value.field == "name"


def test_a_private_url_is_stored_only_when_allowed(session: Session) -> None:
    local = {**FEED, "url": "http://127.0.0.1:9/feed.xml"}
    with pytest.raises(InvalidSource):
        add_source(session, local, actor="cli", now=NOW)
    source = add_source(session, local, actor="cli", now=NOW, allow_private=True)
    update_source(session, source, {"poll_interval_minutes": 30}, actor="cli")  # its own URL, unchanged: fine
    with pytest.raises(InvalidSource):
        update_source(session, source, {"url": "http://10.0.0.1/x"}, actor="cli")
    assert source.url == "http://127.0.0.1:9/feed.xml"


def test_delete_keeps_the_papers_and_refuses_configured_sources(session: Session) -> None:
    source = add_source(session, FEED, actor="cli", now=NOW, resolve=resolver({}))
    session.add(Paper(uid="feed:x", title="Kept", source_names=["lab-blog"]))
    session.flush()
    with pytest.raises(SourceConfigured):
        delete_source(session, source, actor="cli", configured={"lab-blog"})
    delete_source(session, source, actor="root@example.org", configured={"hf-daily"})
    session.flush()
    assert session.scalars(select(Source)).all() == []
    assert session.scalars(select(Paper.title)).all() == ["Kept"]
    entry = session.scalars(select(AuditLog).where(AuditLog.action == "source.delete")).one()
    assert entry.before is not None and entry.before["url"] == FEED["url"] and entry.after is None
