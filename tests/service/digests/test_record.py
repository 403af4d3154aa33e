"""The ledger's writes, on SQLite and on PostgreSQL (where a send is one statement)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import select, update

from config.settings import Settings
from service.storage.db import get_engine, session_scope
from service.digests.lease import Lease
from service.digests.plan import claim_due, mark_enqueued, retry_at
from service.digests.record import Ledger
from service.ingest.poll import ingest_document
from service.matching.records import Match, Reasons, TermHit
from service.storage.models import Delivery, Paper, Subscriber
from service.web.public.content import stored_match
from service.subscribers.preferences import Preferences
from service.subscribers.store import change_status, create_subscriber
from tests.service.ingest.documents import hf_item, hf_json

pytestmark = pytest.mark.integration

THURSDAY = datetime(2026, 11, 26, 12, tzinfo=UTC)
FRIDAY_0800 = datetime(2026, 11, 27, 8, tzinfo=UTC)
LONG_AGO = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def ledger(db_settings: Settings) -> Iterator[Ledger]:
    ledger = Ledger(get_engine(db_settings))
    yield ledger
    ledger.close()


def claimed(settings: Settings, *emails: str) -> dict[str, int]:
    """Subscribers due now, their deliveries claimed: {email: delivery id}."""
    with session_scope(settings) as session:
        for email in emails:
            create_subscriber(session, email, Preferences(send_hour=8), confirmed=True, now=LONG_AGO)
    with session_scope(settings) as session:
        ids = [i for chunk in claim_due(session, FRIDAY_0800) for i in chunk]
        mark_enqueued(session, ids, FRIDAY_0800, "token-1")
        rows = session.execute(select(Subscriber.email, Delivery.id).join(Delivery, Delivery.subscriber_id == Subscriber.id))
        return dict(rows.all())  # type: ignore[arg-type]


def status(settings: Settings, delivery_id: int) -> str:
    with session_scope(settings) as session:
        delivery = session.get(Delivery, delivery_id)
        assert delivery is not None
        return delivery.status


def test_take_returns_what_it_took_and_only_for_active_subscribers(db_settings: Settings, ledger: Ledger) -> None:
    ids = claimed(db_settings, "ann@example.org", "ben@example.org")
    with session_scope(db_settings) as session:
        ben = session.scalars(select(Subscriber).where(Subscriber.email == "ben@example.org")).one()
        change_status(ben, "unsubscribed", None, FRIDAY_0800)
    assert ledger.take(list(ids.values()), "token-1") == {ids["ann@example.org"]}
    assert status(db_settings, ids["ann@example.org"]) == "sending"
    assert ledger.skip_inactive([ids["ben@example.org"]]) == 1
    assert status(db_settings, ids["ben@example.org"]) == "skipped"


def test_a_sending_row_is_taken_over_only_with_its_batch_token(db_settings: Settings, ledger: Ledger) -> None:
    delivery_id = claimed(db_settings, "ann@example.org")["ann@example.org"]
    assert ledger.take([delivery_id], "token-1") == {delivery_id}
    assert ledger.take([delivery_id], "some-other-token") == set()
    assert ledger.take([delivery_id], "token-1") == {delivery_id}  # the redelivered task takes it over
    with session_scope(db_settings) as session:
        assert session.get(Delivery, delivery_id).attempts == 0  # type: ignore[union-attr]  # none answered yet


def test_sent_records_the_message_and_each_paper_with_its_rank_and_reasons(db_settings: Settings, ledger: Ledger) -> None:
    ingest_document(db_settings, hf_json(hf_item("2611.70001", "Two-bit quantization", 40),
                                         hf_item("2611.70002", "Robot hands", 12)),
                    source_name="hf-daily", now=THURSDAY)
    delivery_id = claimed(db_settings, "ann@example.org")["ann@example.org"]
    with session_scope(db_settings) as session:
        second, first = session.scalars(select(Paper.id).order_by(Paper.id)).all()  # ranked in reverse id order
        subscriber_id = session.scalars(select(Subscriber.id)).one()
    matches = [
        Match(first, 9.5, Reasons(terms=(TermHit("robot", "title", ((0, 5),)),), topics=("robotics",))),
        Match(second, 3.0, Reasons(trending=True)),
    ]
    ledger.take([delivery_id], "token-1")
    ledger.sent(delivery_id, subscriber_id, matches, "<1@papermail.example>", FRIDAY_0800)

    with session_scope(db_settings) as session:
        delivery = session.get(Delivery, delivery_id)
        assert delivery is not None
        assert (delivery.status, delivery.message_id, delivery.paper_count) == ("sent", "<1@papermail.example>", 2)
        assert delivery.sent_at == FRIDAY_0800
        assert delivery.attempts == 1  # one SMTP transaction, answered
        assert (delivery.paper_ids, delivery.last_paper_id) == ([first, second], max(first, second))  # in rank order
        # What the archive reads back, and nothing empty (nor the score's parts, never read back)
        assert delivery.reasons == [
            {"score": 9.5, "terms": [{"term": "robot", "field": "title", "spans": [[0, 5]]}], "topics": ["robotics"]},
            {"score": 3.0, "trending": True},
        ]
        assert [stored_match(p, rank, r) for rank, (p, r) in enumerate(zip(delivery.paper_ids, delivery.reasons),
                                                                       start=1)] == matches


def test_an_empty_digest_is_recorded_sent_with_no_papers(db_settings: Settings, ledger: Ledger) -> None:
    delivery_id = claimed(db_settings, "ann@example.org")["ann@example.org"]
    ledger.take([delivery_id], "token-1")
    ledger.sent(delivery_id, 0, [], "<2@papermail.example>", FRIDAY_0800)
    assert status(db_settings, delivery_id) == "sent"
    with session_scope(db_settings) as session:
        delivery = session.get(Delivery, delivery_id)
        assert delivery is not None
        assert (delivery.paper_ids, delivery.reasons, delivery.last_paper_id, delivery.paper_count) == ([], [], None, 0)


def test_skip_empty_and_advance_windows(db_settings: Settings, ledger: Ledger) -> None:
    ids = claimed(db_settings, "ann@example.org", "ben@example.org")
    assert ledger.skip_empty([ids["ann@example.org"]]) == 1
    assert ledger.skip_empty([ids["ann@example.org"]]) == 0  # already skipped: nothing changes
    with session_scope(db_settings) as session:
        ben = session.scalars(select(Subscriber).where(Subscriber.email == "ben@example.org")).one()
        ben.soft_bounces = 2
    ledger.advance_windows([ben.id], FRIDAY_0800)
    with session_scope(db_settings) as session:
        ben = session.get(Subscriber, ben.id)  # type: ignore[assignment]
        assert (ben.last_digest_at, ben.soft_bounces) == (FRIDAY_0800, 0)


def test_a_claimed_row_stamped_for_a_newer_batch_is_not_taken_by_the_older(db_settings: Settings, ledger: Ledger) -> None:
    delivery_id = claimed(db_settings, "ann@example.org")["ann@example.org"]
    with session_scope(db_settings) as session:
        mark_enqueued(session, [delivery_id], FRIDAY_0800, "token-2")  # the sweep re-enqueued it
    assert ledger.take([delivery_id], "token-1") == set()  # the late original does nothing
    assert ledger.take([delivery_id], "token-2") == {delivery_id}


def test_a_row_due_for_a_retry_is_taken_by_any_batch(db_settings: Settings, ledger: Ledger) -> None:
    delivery_id = claimed(db_settings, "ann@example.org")["ann@example.org"]
    with session_scope(db_settings) as session:
        session.execute(update(Delivery).values(**retry_at(FRIDAY_0800)))
    assert ledger.take([delivery_id], "foreground-retry") == {delivery_id}
    with session_scope(db_settings) as session:
        assert session.get(Delivery, delivery_id).batch_token == "foreground-retry"  # type: ignore[union-attr]


def test_under_a_lease_only_held_rows_are_taken(db_settings: Settings) -> None:
    ids = claimed(db_settings, "ann@example.org", "ben@example.org")
    engine = get_engine(db_settings)
    lease = Lease.take(engine, [ids["ann@example.org"]], "token-1", 60)
    leased = Ledger(engine, lease)
    try:
        assert leased.holds(ids["ann@example.org"]) and not leased.holds(ids["ben@example.org"])
        assert leased.take(list(ids.values()), "token-1") == {ids["ann@example.org"]}
    finally:
        leased.close()


def test_a_send_recorded_twice_is_recorded_once(db_settings: Settings, ledger: Ledger) -> None:
    """A worker that sent on a lease that lapsed meanwhile, after the one that took over."""
    ingest_document(db_settings, hf_json(hf_item("2611.70001", "Two-bit quantization", 40)), source_name="hf-daily",
                    now=THURSDAY)
    delivery_id = claimed(db_settings, "ann@example.org")["ann@example.org"]
    with session_scope(db_settings) as session:
        paper_id = session.scalars(select(Paper.id)).one()
        subscriber_id = session.scalars(select(Subscriber.id)).one()
    matches = [Match(paper_id, 1.0, Reasons(trending=True))]
    ledger.take([delivery_id], "token-1")
    ledger.sent(delivery_id, subscriber_id, matches, "<new@papermail.example>", FRIDAY_0800)
    ledger.sent(delivery_id, subscriber_id, matches, "<old@papermail.example>", FRIDAY_0800)
    with session_scope(db_settings) as session:
        delivery = session.get(Delivery, delivery_id)
        assert delivery is not None
        assert (delivery.message_id, delivery.attempts) == ("<new@papermail.example>", 1)
        assert delivery.paper_ids == [paper_id]


def test_under_a_lease_taking_reads_and_writes_nothing(db_settings: Settings) -> None:
    """The lease made the rows 'sending' and renews them: the group's take only checks them."""
    ids = claimed(db_settings, "ann@example.org", "ben@example.org", "cyd@example.org")
    engine = get_engine(db_settings)
    lease = Lease.take(engine, list(ids.values()), "token-1", 60)
    with session_scope(db_settings) as session:
        stamps = dict(session.execute(select(Delivery.id, Delivery.enqueued_at)).all())
        ben = session.scalars(select(Subscriber).where(Subscriber.email == "ben@example.org")).one()
        change_status(ben, "unsubscribed", None, FRIDAY_0800)
        # cyd's row was taken back and re-enqueued for another task meanwhile
        session.execute(update(Delivery).where(Delivery.id == ids["cyd@example.org"]).values(batch_token="token-2"))
    leased = Ledger(engine, lease)
    try:
        assert leased.take(list(ids.values()), "token-1") == {ids["ann@example.org"]}
    finally:
        leased.close()
    with session_scope(db_settings) as session:
        assert dict(session.execute(select(Delivery.id, Delivery.enqueued_at)).all()) == stamps
        assert {d.status for d in session.scalars(select(Delivery))} == {"sending"}


def test_a_send_is_stamped_as_the_models_stamp(db_settings: Settings, ledger: Ledger) -> None:
    """The send goes to the driver itself; its sent_at compares equal to the ORM's own value (on
    SQLite datetimes are text: another format would break every comparison between them)."""
    delivery_id = claimed(db_settings, "ann@example.org")["ann@example.org"]
    ledger.take([delivery_id], "token-1")
    ledger.sent(delivery_id, 0, [], "<3@papermail.example>", FRIDAY_0800.astimezone(timezone(timedelta(hours=-5))))
    with session_scope(db_settings) as session:
        assert session.scalars(select(Delivery.id).where(Delivery.sent_at == FRIDAY_0800)).all() == [delivery_id]
        assert session.scalars(select(Delivery.id).where(Delivery.sent_at > FRIDAY_0800 - timedelta(microseconds=1))).all() \
            == [delivery_id]


def test_a_failed_record_leaves_the_ledger_usable(db_settings: Settings, ledger: Ledger) -> None:
    delivery_id = claimed(db_settings, "ann@example.org")["ann@example.org"]
    ledger.take([delivery_id], "token-1")
    with pytest.raises(ValueError, match="naive"):
        ledger.sent(delivery_id, 0, [], "<4@papermail.example>", datetime(2026, 11, 27, 8))
    ledger.sent(delivery_id, 0, [], "<4@papermail.example>", FRIDAY_0800)
    assert status(db_settings, delivery_id) == "sent"
