"""The workers' delivery sweep: what it enqueues again, how it notices a broker that lost its
data, and that a worker lives through its Redis restarting empty (real worker, real Redis)."""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis
from sqlalchemy import select, update

from config.settings import Settings
from service.ingest.poll import ingest_document
from service.storage import migrate
from service.storage.db import session_scope
from service.storage.models import Delivery
from service.subscribers.preferences import Preferences
from service.subscribers.store import create_subscriber
from tests.conftest import make_settings
from tests.service.digests.test_leases import claimed as claimed_for_lease
from tests.service.ingest.documents import hf_item, hf_json
from tests.support.processes import celery_worker
from tests.support.smtp_sink import SmtpSink
from workers.celery_app import create_app, declare_queues
from workers.sweep import EPOCH_KEY, BrokerEpoch, Sweeper

pytestmark = pytest.mark.integration

LONG_AGO = datetime(2026, 1, 1, tzinfo=UTC)


def claimed(settings: Settings, count: int, token: str = "t1") -> list[int]:
    return claimed_for_lease(settings, count, token, enqueued_ago=timedelta(seconds=5))


@pytest.fixture
def world(db_settings: Settings, redis_url: str) -> Settings:
    return db_settings.model_copy(update={"broker_url": redis_url})


def test_the_epoch_marker_tells_when_redis_lost_its_data(redis_url: str) -> None:
    epoch, now = BrokerEpoch(redis_url), datetime.now(UTC)
    assert epoch.lost(now)  # never marked: lost, or the first start
    assert not epoch.lost(now)
    redis.Redis.from_url(redis_url).flushdb()
    assert epoch.lost(now)
    assert redis.Redis.from_url(redis_url).exists(EPOCH_KEY)


def test_what_the_broker_lost_is_enqueued_again_once(world: Settings, redis_url: str) -> None:
    ids = claimed(world, 3)
    redis.Redis.from_url(redis_url).set(EPOCH_KEY, "marked")
    enqueued: list[tuple[list[int], str]] = []
    declared: list[bool] = []
    sweeper = Sweeper(world, lambda batch, token: enqueued.append((batch, token)), lambda: declared.append(True))
    assert sweeper.run_once() == 0  # queued a moment ago, the broker intact: nothing to do

    redis.Redis.from_url(redis_url).flushdb()  # Redis restarted without persistence
    assert sweeper.run_once() == 3
    assert declared == [True]  # the queues declared again before anything is published
    [(batch, token)] = enqueued
    assert batch == ids
    with session_scope(world) as session:
        assert set(session.scalars(select(Delivery.batch_token))) == {token}
    assert sweeper.run_once() == 0  # marked again: once


def test_a_batch_the_broker_refused_is_tried_at_the_next_sweep(world: Settings, redis_url: str) -> None:
    ids = claimed(world, 2)
    with session_scope(world) as session:  # their lease lapsed: the worker died
        session.execute(update(Delivery).values(status="sending", enqueued_at=datetime.now(UTC) - timedelta(minutes=2)))

    def broker_down(batch: list[int], token: str) -> None:
        raise ConnectionError("broker down")

    assert Sweeper(world, broker_down).run_once() == 0
    with session_scope(world) as session:
        assert set(session.execute(select(Delivery.status, Delivery.batch_token))) == {("claimed", None)}
    enqueued: list[list[int]] = []
    assert Sweeper(world, lambda batch, token: enqueued.append(batch)).run_once() == 2
    assert enqueued == [ids]


def test_declare_queues_restores_the_bindings_a_flush_removed(tmp_path: Path, redis_url: str) -> None:
    app = create_app(make_settings(tmp_path, broker_url=redis_url))
    client = redis.Redis.from_url(redis_url)
    declare_queues(app)
    assert client.exists("_kombu.binding.digests")
    client.flushdb()
    declare_queues(app)
    assert {m.split(b"\x06\x16")[0] for m in client.smembers("_kombu.binding.digests")} == {b"digests"}


# -- a real worker, a Redis of its own that restarts empty ----------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class OwnRedis:
    def __init__(self, folder: Path) -> None:
        self.port, self.folder = free_port(), folder
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                      "--appendonly", "no", "--dir", str(self.folder)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis(port=self.port, socket_connect_timeout=0.5, retry_on_error=None)
        deadline = time.monotonic() + 10
        while True:  # a server that is starting: poll its port until it answers
            try:
                client.ping()
                return
            except redis.RedisError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[OwnRedis]:
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    server = OwnRedis(tmp_path)
    server.start()
    yield server
    server.kill()


def test_a_worker_lives_through_its_redis_restarting_empty(tmp_path: Path, fresh_pg_database_url: str,
                                                           own_redis: OwnRedis, smtp_sink: SmtpSink) -> None:
    from service.digests.run import plan

    settings = make_settings(
        tmp_path / "var", database_url=fresh_pg_database_url, broker_url=f"redis://127.0.0.1:{own_redis.port}/0",
        digest_batch_size=2, send_rate_per_second=500, delivery_lease_seconds=8, delivery_retry_seconds=1,
        **smtp_sink.settings_overrides(),
    )
    migrate.upgrade(settings)
    today = datetime.now(UTC).date().isoformat()
    ingest_document(settings, hf_json(hf_item("2612.00001", "Two-bit quantization", 40, day=today)),
                    source_name="hf-daily")
    readers = [f"reader{n}@example.org" for n in range(6)]
    with session_scope(settings) as session:
        for address in readers:
            create_subscriber(session, address, Preferences(send_hour=0), confirmed=True, now=LONG_AGO)
    hold = smtp_sink.hold("reader1@example.org")  # keeps the first batch's task running, unacked
    log = tmp_path / "worker.log"
    with celery_worker(settings, tmp_path, log, concurrency=1) as worker:
        app = create_app(settings)
        plan(settings, datetime.now(UTC), lambda ids, token: app.send_task("workers.tasks.send_digest_batch",
                                                                           args=[ids, token]).forget())
        assert hold.arrived.wait(60)
        own_redis.kill()  # the two queued batches go with it
        own_redis.start()
        hold.released.set()
        smtp_sink.wait_for(6, timeout=60)
        assert worker.poll() is None, log.read_text()[-3000:]
    text = log.read_text()
    assert "Traceback" not in text, text[-3000:]
    assert "Connection to broker lost" in text
    assert sorted(r for m in smtp_sink.messages for r in m.rcpt_tos) == readers  # once each
