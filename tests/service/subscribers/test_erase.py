"""Erase: afterwards the address is in no text or JSON column of any table and in no outbox
file; the anonymous counts (deliveries, papers sent, subscribers) are what they were."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from email.message import EmailMessage

import pytest
from sqlalchemy import JSON, String, Text, func, select
from sqlalchemy.orm import Session

from config.settings import Settings
from service.actions.subscribers import SubscriberErased, erase_subscriber
from service.admin import audit
from service.mail.outbox import OutboxBackend
from service.storage.db import session_scope
from service.storage.models import AuditLog, Base, Delivery, Paper, Subscriber
from service.subscribers.erase import ERASED, EraseReport

pytestmark = pytest.mark.integration  # both databases
NOW = datetime(2026, 11, 27, 9, tzinfo=UTC)


def mentions(session: Session, needle: str) -> list[str]:
    """Every table.column holding NEEDLE in any row, compared case-insensitively in Python (not
    trusting SQL's lower(), which SQLite applies to ASCII only), JSON read back as values."""
    found = []
    for table in Base.metadata.sorted_tables:
        columns = [c for c in table.columns if isinstance(c.type, String | Text | JSON)]
        if not columns:  # paper_topics: ids only
            continue
        for row in session.execute(select(*columns)):
            for column, value in zip(columns, row, strict=True):
                text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
                if needle.casefold() in text.casefold():
                    found.append(f"{table.name}.{column.name}")
    return sorted(set(found))


def outbox_mail(settings: Settings, to: str, body: str) -> None:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "digest@papermail.test", to, "Your digest"
    message["Message-ID"] = f"<{abs(hash((to, body)))}@papermail.test>"
    message.set_content(body)
    OutboxBackend(settings.outbox_dir).send("digest@papermail.test", to, message.as_bytes())


def erase(settings: Settings, subscriber_id: int, actor: str, now: datetime) -> EraseReport:
    """As the admin and the API erase: the action, the commit, then the outbox files."""
    with session_scope(settings) as session:
        subscriber = session.get(Subscriber, subscriber_id)
        assert subscriber is not None
        report = erase_subscriber(session, subscriber, actor=actor, now=now, outbox_dir=settings.outbox_dir)
    report.after_commit(settings)
    return report


def seed(settings: Settings, address: str) -> int:
    with session_scope(settings) as session:
        paper = Paper(uid="arxiv:2611.00001", title="Mixture of experts at scale", abstract="", authors=[],
                      categories=[])
        person = Subscriber(email=address, status="active", confirmed_at=NOW, pending_email=f"new.{address}",
                            preferences={"topics": ["llm"], "keywords": ["my rare hobby"], "authors": ["Ada Lovelace"]})
        bob = Subscriber(email="bob@example.org", status="active", pending_email=address)
        session.add_all([paper, person, bob])
        session.flush()
        sent = Delivery(subscriber_id=person.id, period="2026-11-26", status="sent", sent_at=NOW, paper_count=1,
                        paper_ids=[paper.id], reasons=[{"keywords": ["my rare hobby"], "authors": ["Ada Lovelace"]}])
        failed = Delivery(subscriber_id=person.id, period="2026-11-25", status="failed",
                          error=f"DeliveryError: 550 5.1.1 <{address.upper()}>: mailbox unavailable")
        claimed = Delivery(subscriber_id=person.id, period="2026-11-27", status="claimed")
        bobs = Delivery(subscriber_id=bob.id, period="2026-11-26", status="failed", error=f"relay said {address} loops")
        session.add_all([sent, failed, claimed, bobs])
        session.flush()
        audit.record(session, "api:crm", "subscriber.create", "subscriber", person.id, None, audit.snapshot(person))
        audit.record(session, address, "admin.login", "admin_user", 1, None, None)
        audit.record(session, "cli", "subscribers.import", "subscriber", None, None, {"note": f"row for {address}"})
        audit.record(session, "api:crm", "source.create", "source", "hf", None, {"url": "https://example.org/feed"})
        person_id = person.id
    outbox_mail(settings, address, f"Hello {address}, here are your papers")
    outbox_mail(settings, "bob@example.org", "Hello Bob")
    return person_id


@pytest.mark.parametrize("address", ["alice@example.org", "zoë_100%@example.org"])
def test_erase_removes_the_address_everywhere_and_keeps_counts(db_settings: Settings, address: str) -> None:
    person_id = seed(db_settings, address)
    with session_scope(db_settings) as session:
        # The search sees every place seed stored the address (so an empty result means something).
        assert mentions(session, address) == ["audit_log.actor", "audit_log.after", "deliveries.error",
                                              "subscribers.email", "subscribers.pending_email"]
        assert "deliveries.reasons" in mentions(session, "my rare hobby")
        before = {model.__tablename__: session.scalar(select(func.count()).select_from(model))
                  for model in (Subscriber, Delivery, AuditLog)}

    report = erase(db_settings, person_id, "admin@example.org", NOW)

    with session_scope(db_settings) as session:
        assert mentions(session, address) == []
        assert mentions(session, "my rare hobby") == [] and mentions(session, "Ada Lovelace") == []
        after = {model.__tablename__: session.scalar(select(func.count()).select_from(model))
                 for model in (Subscriber, Delivery, AuditLog)}
        assert after == {**before, "audit_log": before["audit_log"] + 1}  # + the erase itself
        tombstone = session.get(Subscriber, person_id)
        assert tombstone is not None and tombstone.status == ERASED and tombstone.token_version == 2
        statuses = sorted(session.scalars(select(Delivery.status).where(Delivery.subscriber_id == person_id)))
        assert statuses == ["failed", "sent", "skipped"]  # the claimed digest will not go out
        sent = session.scalars(select(Delivery).where(Delivery.subscriber_id == person_id,
                                                      Delivery.status == "sent")).one()
        assert (len(sent.paper_ids or []), sent.reasons) == (1, None)  # which papers went stays, not why
        assert session.scalars(select(AuditLog.actor).where(AuditLog.action == "source.create")).one() == "api:crm"
        bob = session.scalars(select(Subscriber).where(Subscriber.email == "bob@example.org")).one()
        assert bob.pending_email is None
    remaining = [p.read_bytes() for p in db_settings.outbox_dir.glob("*.eml")]
    assert len(remaining) == 1 and b"Hello Bob" in remaining[0]
    assert (report.deliveries_scrubbed, report.reasons_cleared, len(report.outbox_files)) == (2, 1, 1)


def test_a_tombstone_is_not_erased_twice(db_settings: Settings) -> None:
    person_id = seed(db_settings, "alice@example.org")
    erase(db_settings, person_id, "admin@example.org", NOW)
    with pytest.raises(SubscriberErased):
        erase(db_settings, person_id, "admin@example.org", NOW)
    with session_scope(db_settings) as session:
        assert session.query(AuditLog).filter_by(action="subscriber.erase").count() == 1


def test_the_address_is_free_again(db_settings: Settings) -> None:
    person_id = seed(db_settings, "alice@example.org")
    erase(db_settings, person_id, "admin@example.org", NOW)
    with session_scope(db_settings) as session:
        session.add(Subscriber(email="alice@example.org"))  # a new subscription, nothing linking back


def test_erase_leaves_no_trace_in_the_sqlite_files(settings: Settings) -> None:
    """Not only the rows: free pages of the database file and the WAL hold no old copy either."""
    from service.storage import migrate

    migrate.upgrade(settings)
    address = "trace.me@example.org"
    subscriber_id = seed(settings, address)
    # Many small transactions put several versions of the row's pages into the WAL.
    for round_ in range(20):
        with session_scope(settings) as session:
            person = session.get(Subscriber, subscriber_id)
            assert person is not None
            person.soft_bounces = round_
    erase(settings, subscriber_id, "admin@example.org", NOW)
    database = settings.data_dir / "papermail.sqlite3"
    files = [path for path in database.parent.glob("papermail.sqlite3*") if path.is_file()]
    assert database in files
    for path in files:
        content = path.read_bytes()
        assert address.encode() not in content, path.name
        assert b"my rare hobby" not in content, path.name
        assert b"Ada Lovelace" not in content, path.name
