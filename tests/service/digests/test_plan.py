"""The planner claims one delivery per due subscriber and period, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from config.settings import Settings
from service.storage.db import session_scope
from service.digests.plan import claim_due, mark_enqueued, requeue_expired, retry_at, stale_deliveries, unstamp
from service.storage.models import Delivery, Subscriber
from service.subscribers.preferences import Preferences
from service.subscribers.store import create_subscriber

pytestmark = pytest.mark.integration

FRIDAY_0700 = datetime(2026, 11, 27, 7, tzinfo=UTC)
LONG_AGO = datetime(2026, 1, 1, tzinfo=UTC)


def add(settings: Settings, email: str, status: str = "active", **prefs: object) -> int:
    with session_scope(settings) as session:
        subscriber = create_subscriber(session, email, Preferences(**prefs), confirmed=True, now=LONG_AGO)  # type: ignore[arg-type]
        subscriber.status = status
        session.flush()
        return subscriber.id


def claim(settings: Settings, now: datetime, chunk: int = 2000) -> list[int]:
    with session_scope(settings) as session:
        return [i for ids in claim_due(session, now, chunk) for i in ids]


def periods(settings: Settings) -> dict[str, str]:
    with session_scope(settings) as session:
        query = select(Subscriber.email, Delivery.period).join(Delivery, Delivery.subscriber_id == Subscriber.id)
        return {email: period for email, period in session.execute(query)}


def test_due_subscribers_are_claimed_once(db_settings: Settings) -> None:
    add(db_settings, "alice@example.org", timezone="Europe/Paris", send_hour=8)  # 07:00 UTC: due
    add(db_settings, "bob@example.org", timezone="America/New_York", send_hour=8)  # 13:00 UTC: not yet
    add(db_settings, "carol@example.org", timezone="UTC", send_hour=6, frequency="weekly", weekly_day="mon")
    add(db_settings, "dave@example.org", status="paused", send_hour=0)
    add(db_settings, "erin@example.org", status="pending", send_hour=0)

    first = claim(db_settings, FRIDAY_0700)
    assert len(first) == 2
    assert periods(db_settings) == {"alice@example.org": "2026-11-27", "carol@example.org": "2026-W48"}
    assert claim(db_settings, FRIDAY_0700) == []  # the planner run twice claims nothing new
    assert claim(db_settings, FRIDAY_0700 + timedelta(hours=6)) != []  # bob's hour came
    assert periods(db_settings)["bob@example.org"] == "2026-11-27"


def test_claims_stream_in_chunks(db_settings: Settings) -> None:
    for n in range(25):
        add(db_settings, f"reader{n}@example.org", send_hour=0)
    with session_scope(db_settings) as session:
        chunks = list(claim_due(session, FRIDAY_0700, chunk=10))
    assert [len(c) for c in chunks] == [10, 10, 5]
    with session_scope(db_settings) as session:
        assert session.scalar(select(func.count()).select_from(Delivery)) == 25


def test_concurrent_claim_of_the_same_period_keeps_one(db_settings: Settings) -> None:
    """Two planners that both saw the subscriber unclaimed: the INSERT ... ON CONFLICT keeps one."""
    from service.digests.plan import Claim, insert_claims

    sid = add(db_settings, "alice@example.org", send_hour=0)
    claim_ = Claim(sid, "2026-11-27", FRIDAY_0700)
    with session_scope(db_settings) as one, session_scope(db_settings) as other:
        assert len(insert_claims(one, [claim_], FRIDAY_0700)) == 1
        one.commit()
        assert insert_claims(other, [claim_], FRIDAY_0700) == []


def test_stale_sweep_finds_claimed_but_unsent(db_settings: Settings) -> None:
    add(db_settings, "alice@example.org", send_hour=0)
    add(db_settings, "bob@example.org", send_hour=0)
    ids = claim(db_settings, FRIDAY_0700)
    stale = timedelta(minutes=30)
    with session_scope(db_settings) as session:
        assert stale_deliveries(session, FRIDAY_0700 + timedelta(minutes=5), stale) == []
        mark_enqueued(session, ids, FRIDAY_0700, "t1")
        session.execute(update(Delivery).where(Delivery.id == ids[1]).values(status="sent"))
    with session_scope(db_settings) as session:
        assert stale_deliveries(session, FRIDAY_0700 + timedelta(minutes=29), stale) == []
        assert stale_deliveries(session, FRIDAY_0700 + timedelta(minutes=31), stale) == [ids[0]]


def test_stale_sweep_takes_back_rows_whose_lease_ran_out_that_long_ago(db_settings: Settings) -> None:
    add(db_settings, "alice@example.org", send_hour=0)
    add(db_settings, "bob@example.org", send_hour=0)
    ids = claim(db_settings, FRIDAY_0700)
    stale = timedelta(minutes=30)
    with session_scope(db_settings) as session:
        mark_enqueued(session, ids, FRIDAY_0700, "t1")
        session.execute(update(Delivery).values(status="sending"))  # both leased, renewed at 07:00...
        later = FRIDAY_0700 + timedelta(minutes=20)
        session.execute(update(Delivery).where(Delivery.id == ids[1]).values(enqueued_at=later))  # ...bob's since
    with session_scope(db_settings) as session:
        assert stale_deliveries(session, FRIDAY_0700 + timedelta(minutes=31), stale) == [ids[0]]
    assert rows(db_settings) == {ids[0]: ("claimed", "t1"), ids[1]: ("sending", "t1")}


def test_mark_enqueued_stamps_claimed_rows_only(db_settings: Settings) -> None:
    add(db_settings, "alice@example.org", send_hour=0)
    add(db_settings, "bob@example.org", send_hour=0)
    ids = claim(db_settings, FRIDAY_0700)
    with session_scope(db_settings) as session:
        mark_enqueued(session, ids, FRIDAY_0700, "t1")
        session.execute(update(Delivery).where(Delivery.id == ids[1]).values(status="sending"))
        mark_enqueued(session, ids, FRIDAY_0700, "t2")
    assert rows(db_settings) == {ids[0]: ("claimed", "t2"), ids[1]: ("sending", "t1")}


def rows(settings: Settings) -> dict[int, tuple[str, str | None]]:
    with session_scope(settings) as session:
        return {i: (status, token) for i, status, token in
                session.execute(select(Delivery.id, Delivery.status, Delivery.batch_token))}


LEASE, STALE = timedelta(seconds=60), timedelta(minutes=30)


def sweep(settings: Settings, now: datetime, lost_before: datetime | None = None, size: int = 10) -> list[tuple[list[int], str]]:
    with session_scope(settings) as session:
        return list(requeue_expired(session, now, LEASE, STALE, size, lost_before))


def test_requeue_expired_takes_what_no_worker_or_queue_holds(db_settings: Settings) -> None:
    names = ["leased", "lapsed", "retry_later", "retry_due", "queued", "queued_long_ago", "unstamped", "sent"]
    for name in names:
        add(db_settings, f"{name}@example.org", send_hour=0)
    ids = dict(zip(names, claim(db_settings, FRIDAY_0700), strict=True))
    now = FRIDAY_0700 + timedelta(minutes=40)
    rows_of = {
        "leased": ("sending", "t1", now - timedelta(seconds=20)),
        "lapsed": ("sending", "t1", now - timedelta(seconds=61)),
        "retry_later": ("claimed", None, now + timedelta(seconds=30)),
        "retry_due": ("claimed", None, now - timedelta(seconds=1)),
        "queued": ("claimed", "t2", now - timedelta(minutes=5)),
        "queued_long_ago": ("claimed", "t3", now - timedelta(minutes=31)),
        "unstamped": ("claimed", None, None),  # claimed at 07:00, never enqueued: the planner died
        "sent": ("sent", "t1", now - timedelta(hours=1)),
    }
    with session_scope(db_settings) as session:
        for name, (status, token, enqueued_at) in rows_of.items():
            session.execute(update(Delivery).where(Delivery.id == ids[name])
                            .values(status=status, batch_token=token, enqueued_at=enqueued_at))
    batches = sweep(db_settings, now, size=2)
    taken = sorted(i for batch, _ in batches for i in batch)
    assert taken == sorted(ids[n] for n in ("lapsed", "retry_due", "queued_long_ago", "unstamped"))
    assert [len(batch) for batch, _ in batches] == [2, 2]
    assert len({token for _, token in batches}) == 2
    after = rows(db_settings)
    for batch, token in batches:
        assert all(after[i] == ("claimed", token) for i in batch)
    assert sweep(db_settings, now) == []  # taken once: a second sweeper finds nothing

    # A second later the broker is found to have lost its queues: what was queued is enqueued again.
    lost = sweep(db_settings, now + timedelta(seconds=1), lost_before=now + timedelta(seconds=1))
    assert sorted(i for batch, _ in lost for i in batch) == sorted(taken + [ids["queued"]])


def test_a_retry_is_due_at_its_time(db_settings: Settings) -> None:
    add(db_settings, "alice@example.org", send_hour=0)
    [delivery_id] = claim(db_settings, FRIDAY_0700)
    with session_scope(db_settings) as session:
        session.execute(update(Delivery).values(**retry_at(FRIDAY_0700 + timedelta(minutes=2))))
    assert sweep(db_settings, FRIDAY_0700 + timedelta(minutes=1)) == []
    [(batch, token)] = sweep(db_settings, FRIDAY_0700 + timedelta(minutes=2))
    assert batch == [delivery_id]
    with session_scope(db_settings) as session:
        unstamp(session, batch, token, FRIDAY_0700 + timedelta(minutes=2))  # the broker refused it
    assert rows(db_settings)[delivery_id] == ("claimed", None)
    assert [b for b, _ in sweep(db_settings, FRIDAY_0700 + timedelta(minutes=2))] == [[delivery_id]]
