"""The delivery sweep: every worker re-enqueues, every quarter of DELIVERY_LEASE_SECONDS (and
as it starts), the deliveries no live worker and no queue holds — a dead worker's once its
lease ran out, transient failures whose retry time came, and everything queued before the
broker lost its queues (``service.digests.plan.unheld``).

A broker that restarted without persistence has lost every queued batch and every binding.
It is noticed by a marker key this sweep keeps in it: when the key is gone, so is everything
queued before, which is enqueued again after the queues are declared anew. Sweeps of several
workers may overlap; each row is taken by one conditional UPDATE, so it is enqueued once.

The sweep runs on a thread of the worker's main process with a connection of its own that is
never pooled (a pool child forked later must not inherit an open one).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import redis
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from config.settings import Settings
from service.digests.plan import requeue_expired, unstamp
from service.storage.db import make_engine

log = logging.getLogger(__name__)

Enqueue = Callable[[list[int], str], None]
EPOCH_KEY = "papermail:broker-epoch"


class BrokerEpoch:
    """Tells when the broker's Redis lost its data (restart without persistence, flush)."""

    def __init__(self, url: str) -> None:
        self._client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)

    def lost(self, now: datetime) -> bool:
        """True once after the marker went missing (and the first time ever); sets it again."""
        return bool(self._client.set(EPOCH_KEY, now.isoformat(), nx=True))


@dataclass
class Sweeper:
    settings: Settings
    enqueue: Enqueue
    # Declares the queues and their bindings on the broker again (after it lost them).
    redeclare: Callable[[], None] = lambda: None
    engine: Engine | None = None
    epoch: BrokerEpoch | None = None
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    @property
    def interval(self) -> float:
        return self.settings.delivery_lease_seconds / 4

    def run_once(self, now: datetime | None = None) -> int:
        """One sweep; returns how many deliveries it enqueued."""
        now = now or datetime.now(UTC)
        lost_before = None
        if self.epoch is None and not self.settings.broker_is_embedded:
            self.epoch = BrokerEpoch(self.settings.effective_broker_url)
        if self.epoch is not None and self.epoch.lost(now):
            lost_before = now
            self.redeclare()
        if self.engine is None:
            self.engine = make_engine(self.settings.effective_database_url, poolclass=NullPool)
        lease = timedelta(seconds=self.settings.delivery_lease_seconds)
        stale = timedelta(minutes=self.settings.delivery_stale_minutes)
        enqueued = 0
        with Session(self.engine) as session:
            for ids, token in requeue_expired(session, now, lease, stale, self.settings.digest_batch_size, lost_before):
                try:
                    self.enqueue(ids, token)
                except Exception as exc:  # kombu, redis, socket: the broker is away; the next sweep tries again
                    unstamp(session, ids, token, now)
                    log.warning("sweep: could not enqueue %d deliveries: %s", len(ids), _line(exc))
                    break
                enqueued += len(ids)
        if lost_before:
            log.info("sweep: the broker had no marker (first start, or it lost its data): re-enqueued %d deliveries",
                     enqueued)
        elif enqueued:
            log.info("sweep: re-enqueued %d deliveries no worker held", enqueued)
        return enqueued

    def _loop(self) -> None:
        while True:
            try:
                self.run_once()
            except (SQLAlchemyError, redis.RedisError, OSError) as exc:
                log.warning("sweep skipped: %s", _line(exc))
            if self._stop.wait(self.interval):
                return

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="delivery-sweep", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self.engine is not None:
            self.engine.dispose()


def _line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:300]
