"""Inbound messages applied through the actions, on SQLite and PostgreSQL: a hard bounce suppresses,
soft ones count to SOFT_BOUNCE_LIMIT, a complaint unsubscribes and suppresses, a mailto unsubscribes,
a forgery changes nothing; each message leaves one audit row."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from config.settings import Settings
from service.actions.inbound import InboundResult
from service.inbound.process import InboundProcessor
from service.inbound.verp import BounceAddresses, BounceRef
from service.storage.db import session_scope
from service.storage.models import AuditLog, Subscriber
from service.subscribers.tokens import make_token
from tests.service.actions.factories import reader, sent
from tests.service.inbound import messages as m

pytestmark = pytest.mark.integration
NOW = datetime(2026, 11, 27, 9, tzinfo=UTC)


@pytest.fixture
def world(db_settings: Settings) -> Settings:
    return db_settings.model_copy(update={"mail_from": "Papermail <digest@papermail.test>", "soft_bounce_limit": 3})


def alice_with_a_digest(settings: Settings, email: str = "alice@example.org") -> tuple[int, int]:
    with session_scope(settings) as session:
        subscriber = reader(session, email)
        return subscriber.id, sent(session, subscriber).id


def state(settings: Settings, subscriber_id: int) -> tuple[str, int, str | None, datetime | None]:
    with session_scope(settings) as session:
        row = session.get(Subscriber, subscriber_id)
        assert row is not None
        return row.status, row.soft_bounces, row.suppressed_reason, row.unsubscribed_at


def audit_rows(settings: Settings) -> list[tuple[str, str, str | None, dict[str, object] | None]]:
    with session_scope(settings) as session:
        rows = session.execute(select(AuditLog.actor, AuditLog.action, AuditLog.target_id, AuditLog.after)
                               .order_by(AuditLog.id)).all()
        return [tuple(row) for row in rows]


def process(settings: Settings, data: bytes, to: str, channel: str = "smtp") -> InboundResult:
    return InboundProcessor(settings).process(data, [to], channel=channel, now=NOW)


def verp(settings: Settings, delivery_id: int) -> str:
    return BounceAddresses.from_settings(settings).address(BounceRef("delivery", delivery_id))


def test_a_hard_bounce_to_a_verp_address_suppresses_at_once(world: Settings) -> None:
    alice, delivery = alice_with_a_digest(world)
    address = verp(world, delivery)
    result = process(world, m.dsn(address), address)
    assert (result.kind, result.result, result.subscriber_id) == ("hard", "suppressed", alice)
    status, soft, reason, _ = state(world, alice)
    assert status == "suppressed" and soft == 0 and reason is not None and reason.startswith("hard bounce: 5.1.1")
    [(actor, action, target, after)] = audit_rows(world)
    assert (actor, action, target) == ("inbound:smtp", "bounce.hard", str(alice))
    assert after is not None and after["status"] == "suppressed" and after["via"] == "verp"

    again = process(world, m.dsn(address), address)
    assert again.result == "already_suppressed"
    assert [row[1] for row in audit_rows(world)] == ["bounce.hard", "inbound.hard"]


def test_soft_bounces_count_toward_the_limit(world: Settings) -> None:
    alice, delivery = alice_with_a_digest(world)
    address = verp(world, delivery)
    soft = m.dsn(address, status="4.2.1", diagnostic="smtp; 450 4.2.1 mailbox busy")
    assert [process(world, soft, address).result for _ in range(3)] == ["counted", "counted", "suppressed"]
    status, count, reason, _ = state(world, alice)
    assert (status, count) == ("suppressed", 3) and reason is not None and "3 soft bounces" in reason
    assert [row[1] for row in audit_rows(world)] == ["bounce.soft"] * 3


def test_an_arf_complaint_unsubscribes_and_suppresses(world: Settings) -> None:
    alice, delivery = alice_with_a_digest(world)
    result = process(world, m.arf("fbl@papermail.test", original_mail_from=verp(world, delivery)),
                     "bounces@papermail.test")
    assert (result.kind, result.result) == ("complaint", "suppressed")
    status, _, reason, unsubscribed_at = state(world, alice)
    assert status == "suppressed" and reason is not None and reason.startswith("complaint")
    assert unsubscribed_at == NOW
    assert [row[1] for row in audit_rows(world)] == ["bounce.complaint"]


def test_a_mail_to_the_unsubscribe_address_unsubscribes_the_token_s_subscriber(world: Settings) -> None:
    alice, _ = alice_with_a_digest(world)
    token = make_token(world, "unsubscribe", alice, 1)
    result = process(world, m.unsubscribe_mail(token), "unsubscribe@papermail.test")
    assert (result.kind, result.result) == ("unsubscribe", "unsubscribed")
    assert state(world, alice)[0] == "unsubscribed"
    again = process(world, m.unsubscribe_mail(token), "unsubscribe@papermail.test")
    assert again.result == "already_unsubscribed"
    assert [(r[0], r[1]) for r in audit_rows(world)] == [(f"subscriber:{alice}", "subscriber.status.unsubscribed"),
                                                       ("inbound:smtp", "inbound.unsubscribe")]


def test_a_revoked_unsubscribe_token_changes_nothing(world: Settings) -> None:
    alice, _ = alice_with_a_digest(world)
    token = make_token(world, "unsubscribe", alice, 1)
    with session_scope(world) as session:
        session.get(Subscriber, alice).token_version = 2  # type: ignore[union-attr]
    assert process(world, m.unsubscribe_mail(token), "unsubscribe@papermail.test").result == "revoked_link"
    assert state(world, alice)[0] == "active"


def test_forgeries_and_strangers_change_nothing_and_name_no_address(world: Settings) -> None:
    alice, _ = alice_with_a_digest(world)
    forged = "bounces+aaaaaaaaaaaaaaaaaaaaaaa@papermail.test"
    assert process(world, m.dsn(forged), forged).result == "ignored"
    # A report naming Alice by address, but to a forged token: the forgery wins.
    assert process(world, m.dsn("x@papermail.test"), forged).result == "ignored"
    stranger = process(world, m.dsn("bounces@papermail.test", final_recipient="zed@example.org"),
                       "bounces@papermail.test")
    assert (stranger.kind, stranger.result, stranger.subscriber_id) == ("hard", "unknown_subscriber", None)
    assert process(world, m.plain_mail("bounces@papermail.test"), "bounces@papermail.test").result == "ignored"
    assert state(world, alice)[0] == "active"
    rows = audit_rows(world)
    assert [(r[1], r[2]) for r in rows] == [("inbound.unknown", None)] * 2 + [("inbound.hard", None),
                                                                            ("inbound.unknown", None)]
    assert all("example.org" not in str(r[3]) for r in rows)


def test_an_unsigned_report_falls_back_to_the_address_it_names(world: Settings) -> None:
    alice, _ = alice_with_a_digest(world)
    result = process(world, m.qmail_bounce("digest@papermail.test", "ALICE@example.org"), "bounces@papermail.test",
                     channel="imap")
    assert (result.kind, result.result, result.subscriber_id) == ("hard", "suppressed", alice)
    [(actor, action, _, after)] = audit_rows(world)
    assert (actor, action) == ("inbound:imap", "bounce.hard") and after is not None and after["via"] == "bounce-text"


def test_an_erased_subscriber_stays_erased(world: Settings) -> None:
    alice, delivery = alice_with_a_digest(world)
    with session_scope(world) as session:
        session.get(Subscriber, alice).status = "erased"  # type: ignore[union-attr]
    address = verp(world, delivery)
    assert process(world, m.dsn(address), address).result == "erased"
    assert state(world, alice)[0] == "erased"
