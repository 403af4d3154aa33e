"""Thin Celery tasks: JSON ids and strings in, a call into service code, a small result out."""

from __future__ import annotations

import logging
import os
import socket
from datetime import UTC, datetime
from functools import lru_cache

from celery import Task
from celery.signals import worker_process_init, worker_process_shutdown, worker_ready, worker_shutdown

from config.settings import get_settings
from service.digests.deliver import deliver_batch, freeze_between_batches
from service.digests.lease import Lease
from service.digests.run import plan
from service.ingest.poll import claim_due_sources
from service.ingest.poll import poll_source as poll
from service.mail import close_shared_backends
from service.mail.toolkit import DeliveryTools
from service.storage.db import get_engine
from workers.celery_app import app, declare_queues
from workers.sweep import Sweeper

log = logging.getLogger(__name__)


@lru_cache(maxsize=1)
def delivery_tools() -> DeliveryTools:
    """Renderer (compiled MJML), composer (DKIM key), SMTP connection: once per worker process."""
    return DeliveryTools.from_settings(get_settings())


@worker_process_init.connect
def _build_delivery_tools(**_: object) -> None:
    """Built as the pool process starts, not inside its first batch: loading and checking the
    DKIM key alone is ~40 ms of CPU (OpenSSL checks the RSA key's primes). A failure here is
    left for that first task to raise and report, instead of failing the process in a loop.
    Its work is delivering batches: what outlives each is frozen for the GC (deliver.py says why)."""
    freeze_between_batches()
    try:
        delivery_tools()
    except Exception:  # raised again by the first task that needs the tools
        log.warning("could not build the delivery tools at process start", exc_info=True)


@worker_process_shutdown.connect
def _close_mail_connection(**_: object) -> None:
    close_shared_backends()


_sweepers: list[Sweeper] = []


@worker_ready.connect
def _start_sweep(**_: object) -> None:
    """The worker's main process re-enqueues what nobody holds, now and every quarter lease."""
    sweeper = Sweeper(get_settings(), enqueue_batch, lambda: declare_queues(app))
    sweeper.start()
    _sweepers.append(sweeper)


@worker_shutdown.connect
def _stop_sweep(**_: object) -> None:
    while _sweepers:
        _sweepers.pop().stop()


@app.task(name="workers.tasks.ping")
def ping(payload: str = "ping") -> dict[str, str | int]:
    """Round-trip check for health probes and tests: proves a worker consumed and answered."""
    return {"payload": payload, "host": socket.gethostname(), "pid": os.getpid()}


@app.task(name="workers.tasks.poll_due_sources")
def poll_due_sources() -> dict[str, str]:
    """Beat's tick: enqueue one poll per due source, so one slow or failing source blocks none.
    Returns {source name: poll task id}."""
    return {name: poll_source.delay(name).id for name in claim_due_sources(get_settings())}


@app.task(name="workers.tasks.poll_source")
def poll_source(name: str) -> str:
    return poll(get_settings(), name).line()


def enqueue_batch(ids: list[int], token: str, countdown: float = 0) -> None:
    send_digest_batch.apply_async(args=[ids, token], countdown=countdown)


@app.task(name="workers.tasks.plan_digests")
def plan_digests(at: str | None = None) -> dict[str, int]:
    """Beat's planner tick: claim due digests, enqueue their batches, re-enqueue stale ones and
    those whose lease ran out."""
    now = datetime.fromisoformat(at) if at else datetime.now(UTC)
    settings = get_settings()
    summary = plan(settings, now, enqueue_batch)
    swept = Sweeper(settings, enqueue_batch, lambda: declare_queues(app), engine=get_engine(settings)).run_once()
    return {"claimed": summary.claimed, "requeued": summary.requeued + swept, "batches": summary.batches}


@app.task(name="workers.tasks.send_digest_batch")
def send_digest_batch(delivery_ids: list[int], token: str) -> dict[str, int]:
    """Send one batch under a lease on its rows; a duplicated or superseded task (whose token is
    no longer the rows' own) leases nothing and does nothing. Transient failures wait in the
    send log for their retry time, when the sweep enqueues them again."""
    settings = get_settings()
    lease = Lease.take(get_engine(settings), delivery_ids, token, settings.delivery_lease_seconds)
    if not lease.ids:
        return {"sent": 0, "skipped": 0, "failed": 0, "retried": 0, "ignored": len(delivery_ids)}
    held = lease.ids
    with lease:
        outcome = deliver_batch(settings, held, token, delivery_tools(), lease=lease)
    return {"sent": outcome.sent, "skipped": outcome.skipped, "failed": outcome.failed,
            "retried": len(outcome.retry), "ignored": outcome.ignored + len(delivery_ids) - len(held)}


@app.task(name="workers.tasks.send_transactional", bind=True, max_retries=5)
def send_transactional(self: Task, kind: str, subscriber_id: int) -> str:
    """Confirmation, welcome, "already subscribed", new links: rendered and sent at once (the
    `transactional` queue keeps them out from behind digest batches)."""
    from service.mail import DeliveryError
    from service.subscribers.transactional import send_mail

    try:
        return send_mail(get_settings(), kind, subscriber_id, delivery_tools())
    except DeliveryError as exc:
        if exc.permanent:
            raise
        raise self.retry(exc=exc, countdown=30 * 2**self.request.retries) from exc
