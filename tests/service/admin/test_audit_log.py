"""Reading the audit log: each filter narrows, pages are newest first and never overlap."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from config.settings import Settings
from service.admin.audit_log import AuditQuery, audit_page, object_link, target_types
from service.storage import migrate
from service.storage.db import session_scope
from service.storage.models import AuditLog

START = datetime(2026, 11, 1, 9, tzinfo=UTC)


def seed(settings: Settings) -> None:
    migrate.upgrade(settings)
    with session_scope(settings) as session:
        for i in range(30):
            session.add(AuditLog(at=START + timedelta(days=i), actor=("root@example.org", "api:crm", "cli")[i % 3],
                                 action=("subscriber.update", "topic.delete", "subscriber.status.paused")[i % 3],
                                 target_type="topic" if i % 3 == 1 else "subscriber", target_id=str(i % 5),
                                 before={"n": i}, after={"n": i + 1}))


def ids(settings: Settings, query: AuditQuery, **kwargs: object) -> list[int]:
    with session_scope(settings) as session:
        return [e.id for e in audit_page(session, query, **kwargs).rows]  # type: ignore[arg-type]


def test_filters(settings: Settings) -> None:
    seed(settings)
    with session_scope(settings) as session:
        assert audit_page(session, AuditQuery()).total == 30
        assert audit_page(session, AuditQuery(actor="ROOT@")).total == 10
        assert audit_page(session, AuditQuery(action="subscriber.")).total == 20
        assert audit_page(session, AuditQuery(action="topic.delete", target_type="topic")).total == 10
        assert audit_page(session, AuditQuery(target_type="subscriber", target_id="0")).total == 4
        since, until = START + timedelta(days=10), START + timedelta(days=12)
        window = audit_page(session, AuditQuery(since=since, until=until))
        assert window.total == 2 and all(since <= e.at < until for e in window.rows)
        assert audit_page(session, AuditQuery(actor="%")).total == 0  # a wildcard is a character
        assert {"subscriber", "topic", "source", "admin_user"} <= set(target_types(session))


def test_pages_are_newest_first_and_cover_everything_once(settings: Settings) -> None:
    seed(settings)
    seen: list[int] = []
    before = None
    while True:
        with session_scope(settings) as session:
            page = audit_page(session, AuditQuery(), before=before, size=7)
            seen += [e.id for e in page.rows]
        if page.next_before is None:
            break
        before = page.next_before
    assert seen == sorted(seen, reverse=True) and len(seen) == len(set(seen)) == 30
    assert ids(settings, AuditQuery(), size=5, offset=5) == seen[5:10]


def test_object_links() -> None:
    assert object_link("subscriber", "12") == "/admin/subscribers/12"
    assert object_link("api_token", "3") == "/admin/tokens#token-3"
    assert object_link("subscriber", None) is None and object_link("nothing", "1") is None
