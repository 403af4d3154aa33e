"""Leases on the deliveries a worker sends: taken once, renewed while it works, lost when it
stops renewing; and, on real services, a worker killed mid-send whose batch another worker
takes over once the lease ran out, without the planner and exactly once."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from config.settings import Settings
from service.digests.lease import Lease
from service.digests.plan import claim_due, mark_enqueued, requeue_expired
from service.storage import migrate
from service.storage.db import get_engine, session_scope
from service.storage.models import Delivery, Subscriber
from service.subscribers.preferences import Preferences
from service.subscribers.store import create_subscriber
from service.ingest.poll import ingest_document
from tests.conftest import make_settings
from tests.service.ingest.documents import hf_item, hf_json
from tests.support.processes import celery_worker, kill_process_group
from tests.support.smtp_sink import SmtpSink

pytestmark = pytest.mark.integration

LONG_AGO = datetime(2026, 1, 1, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def claimed(settings: Settings, count: int, token: str = "t1", enqueued_ago: timedelta = timedelta(0)) -> list[int]:
    """COUNT due readers claimed and enqueued under TOKEN, ENQUEUED_AGO before now."""
    with session_scope(settings) as session:
        for n in range(count):
            create_subscriber(session, f"reader{n}@example.org", Preferences(send_hour=0), confirmed=True, now=LONG_AGO)
    with session_scope(settings) as session:
        ids = [i for chunk in claim_due(session, datetime.now(UTC)) for i in chunk]
        mark_enqueued(session, ids, datetime.now(UTC) - enqueued_ago, token)
        return ids


def status_of(settings: Settings) -> dict[int, tuple[str, str | None]]:
    with session_scope(settings) as session:
        rows = session.execute(select(Delivery.id, Delivery.status, Delivery.batch_token))
        return {i: (status, token) for i, status, token in rows}


def test_a_lease_is_taken_once_and_only_by_the_current_token(db_settings: Settings) -> None:
    ids = claimed(db_settings, 3)
    engine = get_engine(db_settings)
    assert Lease.take(engine, ids, "stale-token", 60).ids == []
    lease = Lease.take(engine, ids, "t1", 60)
    assert lease.ids == ids
    assert set(status_of(db_settings).values()) == {("sending", "t1")}
    assert Lease.take(engine, ids, "t1", 60).ids == []  # a duplicate of the same task takes nothing


def test_holds_lapses_without_renewal_and_after_a_takeover(db_settings: Settings) -> None:
    ids = claimed(db_settings, 2)
    clock = Clock()
    lease = Lease.take(get_engine(db_settings), ids, "t1", 60, clock=clock)
    clock.now += 29
    assert lease.holds(ids[0])
    clock.now += 2  # more than half the lease unrenewed: the worker stops sending
    assert not lease.holds(ids[0])
    assert lease.renew() == set(ids)
    assert lease.holds(ids[0])

    # The sweep, believing the worker dead, takes the rows back: the next renewal finds them gone.
    later = datetime.now(UTC) + timedelta(seconds=61)
    with session_scope(db_settings) as session:
        [(taken, token)] = list(requeue_expired(session, later, timedelta(seconds=60), timedelta(minutes=30), 10))
    assert taken == ids
    assert lease.renew() == set()
    assert not lease.holds(ids[0]) and lease.ids == []


def test_the_heartbeat_renews_while_the_task_works(db_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    ids = claimed(db_settings, 1)
    renewed = threading.Event()
    real_renew = Lease.renew

    def renew_and_tell(self: Lease) -> set[int]:
        held = real_renew(self)
        renewed.set()
        return held

    monkeypatch.setattr(Lease, "renew", renew_and_tell)
    lease = Lease.take(get_engine(db_settings), ids, "t1", 0.4)  # a beat every 0.1 s
    with session_scope(db_settings) as session:
        first = session.scalars(select(Delivery.enqueued_at)).one()
    with lease:
        assert renewed.wait(5)
    with session_scope(db_settings) as session:
        assert session.scalars(select(Delivery.enqueued_at)).one() > first  # type: ignore[operator]
    assert lease._thread is not None and not lease._thread.is_alive()


# -- on real services ------------------------------------------------------------------------
LEASE_SECONDS = 8


@pytest.fixture
def world(tmp_path: Path, fresh_pg_database_url: str, redis_url: str, smtp_sink: SmtpSink) -> Settings:
    settings = make_settings(
        tmp_path / "var", database_url=fresh_pg_database_url, broker_url=redis_url, digest_batch_size=2,
        send_rate_per_second=500, delivery_lease_seconds=LEASE_SECONDS, **smtp_sink.settings_overrides(),
    )
    migrate.upgrade(settings)
    today = datetime.now(UTC).date().isoformat()
    ingest_document(settings, hf_json(hf_item("2611.80001", "Two-bit quantization of large language models", 40,
                                              day=today)), source_name="hf-daily")
    return settings


def test_a_killed_workers_batch_is_taken_over_once_its_lease_ran_out(world: Settings, smtp_sink: SmtpSink,
                                                                      tmp_path: Path) -> None:
    from service.digests.run import plan
    from workers.celery_app import create_app

    readers = [f"reader{n}@example.org" for n in range(6)]
    with session_scope(world) as session:
        for address in readers:
            create_subscriber(session, address, Preferences(send_hour=0), confirmed=True, now=LONG_AGO)
    hold = smtp_sink.hold("reader3@example.org")  # the second batch's second message
    app = create_app(world)
    with celery_worker(world, tmp_path, tmp_path / "worker1.log", concurrency=1) as first:
        plan(world, datetime.now(UTC), lambda ids, token: app.send_task("workers.tasks.send_digest_batch",
                                                                        args=[ids, token]))
        assert hold.arrived.wait(60), "the worker never reached reader3"
        kill_process_group(first)  # SIGKILL while it waits for the server's answer
        killed_at = time.monotonic()
    hold.released.set()
    with session_scope(world) as session:
        held = session.execute(select(Delivery.status, Delivery.enqueued_at).join(Subscriber)
                               .where(Subscriber.email == "reader3@example.org")).one()
    assert held.status == "sending"

    # No planner: the second worker's sweep finds the lapsed lease by itself.
    with celery_worker(world, tmp_path, tmp_path / "worker2.log", concurrency=1):
        smtp_sink.wait_for(6, timeout=60)
        took = time.monotonic() - killed_at
    received = sorted(r for m in smtp_sink.messages for r in m.rcpt_tos)
    assert received == readers  # exactly one each: none lost, none twice
    assert set(status for status, _ in status_of(world).values()) == {"sent"}
    # Not taken over while the lease could still be alive (renewed a quarter lease before the
    # kill at worst), and soon after it ran out (a sweep every quarter lease, plus start-up).
    assert LEASE_SECONDS * 0.75 - 1 <= took <= LEASE_SECONDS + 20, took
