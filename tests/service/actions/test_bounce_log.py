"""Every bounce and complaint leaves one row in the bounce log, whichever way it came (webhook,
the SMTP session of a digest) and whatever it changed; an erase scrubs the address from it."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from config.settings import Settings
from service.actions.bounces import apply_events, log_bounce, suppress_after_hard_bounce
from service.actions.subscribers import erase_subscriber
from service.admin.bounce_log import BounceQuery, bounce_page, counts_since, history_of
from service.storage import migrate
from service.storage.db import session_scope
from service.storage.models import Bounce, Delivery, Subscriber
from service.subscribers.bounces import BounceEvent

NOW = datetime(2026, 11, 27, 8, tzinfo=UTC)


def add(settings: Settings, email: str) -> int:
    with session_scope(settings) as session:
        row = Subscriber(email=email, status="active", confirmed_at=NOW)
        session.add(row)
        session.flush()
        return row.id


def rows(settings: Settings) -> list[tuple[str, str, str, str, str, int | None]]:
    with session_scope(settings) as session:
        return [(b.kind, b.address, b.source, b.detail, b.outcome, b.subscriber_id)
                for b in session.scalars(select(Bounce).order_by(Bounce.id))]


def test_every_webhook_event_is_logged_with_its_outcome(settings: Settings) -> None:
    migrate.upgrade(settings)
    alice = add(settings, "alice@example.org")
    events = [BounceEvent("Alice@Example.org", "hard", "550 5.1.1 unknown user", "ses"),
              BounceEvent("alice@example.org", "complaint", "abuse", "ses"),
              BounceEvent("nobody@example.org", "soft", "mailbox full", "postmark"),
              BounceEvent("not an address", "hard", "x", "generic")]
    with session_scope(settings) as session:
        apply_events(session, events, NOW)
    assert rows(settings) == [
        ("hard", "alice@example.org", "webhook", "ses", "suppressed", alice),
        ("complaint", "alice@example.org", "webhook", "ses", "already_suppressed", alice),
        ("soft", "nobody@example.org", "webhook", "postmark", "unknown_address", None),
        ("hard", "not an address", "webhook", "generic", "invalid_address", None),
    ]
    with session_scope(settings) as session:
        first = session.scalars(select(Bounce).order_by(Bounce.id)).first()
        assert first is not None and first.diagnostic == "550 5.1.1 unknown user" and first.at == NOW


def test_a_5xx_in_a_digest_send_is_logged_with_its_delivery(settings: Settings) -> None:
    migrate.upgrade(settings)
    bob = add(settings, "bob@example.org")
    with session_scope(settings) as session:
        delivery = Delivery(subscriber_id=bob, period="2026-11-27", status="failed")
        session.add(delivery)
        session.flush()
        delivery_id = delivery.id
        suppress_after_hard_bounce(session, bob, "hard bounce: 550 5.1.1 <bob@example.org> gone",
                                   delivery_id=delivery_id, now=NOW)
    assert rows(settings) == [("hard", "bob@example.org", "smtp", "digest", "suppressed", bob)]
    with session_scope(settings) as session:
        [row] = session.scalars(select(Bounce)).all()
        assert row.delivery_id == delivery_id and "550 5.1.1" in row.diagnostic


def test_queries_filter_page_and_count(settings: Settings) -> None:
    migrate.upgrade(settings)
    carol = add(settings, "carol@example.org")
    with session_scope(settings) as session:
        for i in range(7):
            log_bounce(session, kind=("hard", "soft", "complaint")[i % 3], address=f"r{i}@lab.example",
                       source=("smtp", "webhook", "inbound")[i % 3], outcome="unknown_address", at=NOW)
        # Before carol was known by id: matched by her address on her page.
        log_bounce(session, kind="soft", address="carol@example.org", source="inbound", detail="imap",
                   outcome="counted", at=NOW)
    with session_scope(settings) as session:
        page = bounce_page(session, BounceQuery(kind="hard"), size=2)
        assert page.total == 3 and len(page.rows) == 2 and page.next_before is not None
        rest = bounce_page(session, BounceQuery(kind="hard"), before=page.next_before, size=2)
        assert [b.address for b in rest.rows] == ["r0@lab.example"] and rest.next_before is None
        assert bounce_page(session, BounceQuery(source="inbound", address="LAB")).total == 2
        assert [b.address for b in history_of(session, carol, "carol@example.org")] == ["carol@example.org"]
        assert counts_since(session, NOW) == {"hard": 3, "soft": 3, "complaint": 2}


def test_an_erase_scrubs_the_address_from_the_bounce_log(settings: Settings) -> None:
    migrate.upgrade(settings)
    dave = add(settings, "dave@example.org")
    with session_scope(settings) as session:
        apply_events(session, [BounceEvent("dave@example.org", "soft", "452 4.2.2 dave@example.org is full",
                                           "generic")], NOW)
        log_bounce(session, kind="hard", address="dave@example.org", source="inbound", outcome="unknown_address")
        log_bounce(session, kind="hard", address="eve@example.org", source="inbound", outcome="unknown_address",
                   diagnostic="550 eve@example.org unknown")
        subscriber = session.get(Subscriber, dave)
        assert subscriber is not None
        report = erase_subscriber(session, subscriber, actor="root@example.org", now=NOW)
    assert report.bounces_scrubbed == 2
    with session_scope(settings) as session:
        kept = [(b.address, b.diagnostic, b.kind) for b in session.scalars(select(Bounce).order_by(Bounce.id))]
    assert kept == [("[erased]", "452 4.2.2 [erased] is full", "soft"), ("[erased]", "", "hard"),
                    ("eve@example.org", "550 eve@example.org unknown", "hard")]


def test_inbound_bounces_and_complaints_are_logged_too(settings: Settings) -> None:
    from service.actions.inbound import apply_inbound
    from service.inbound.outcome import About, InboundOutcome

    migrate.upgrade(settings)
    fay = add(settings, "fay@example.org")
    with session_scope(settings) as session:
        delivery = Delivery(subscriber_id=fay, period="2026-11-27", status="sent")
        session.add(delivery)
        session.flush()
        delivery_id = delivery.id
    outcomes = [InboundOutcome("soft", "dsn", "4.2.2 mailbox full", About("verp", delivery_id=delivery_id)),
                InboundOutcome("hard", "dsn", "5.1.1 no such user", About("final-recipient", address="gus@lab.example")),
                InboundOutcome("unsubscribe", "mailto", "mailto", About("mailto", subscriber_id=fay, token_version=9))]
    with session_scope(settings) as session:
        for outcome in outcomes:
            apply_inbound(session, outcome, channel="imap", now=NOW, soft_limit=5)
    assert rows(settings) == [("soft", "fay@example.org", "inbound", "imap", "counted", fay),
                              ("hard", "gus@lab.example", "inbound", "imap", "unknown_subscriber", None)]
    with session_scope(settings) as session:
        first = session.scalars(select(Bounce).order_by(Bounce.id)).first()
        assert first is not None and first.delivery_id == delivery_id and first.diagnostic == "4.2.2 mailbox full"
