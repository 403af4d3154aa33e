"""Thin Celery tasks: JSON ids and strings in, a call into service code, a small result out."""

from __future__ import annotations

import os
import socket
from datetime import UTC, datetime
from functools import lru_cache

from celery import Task
from celery.signals import worker_process_shutdown

from config.settings import get_settings
from service.digests.deliver import deliver_batch
from service.digests.run import plan, stamped_batches
from service.ingest.poll import claim_due_sources
from service.ingest.poll import poll_source as poll
from service.mail import close_shared_backends
from service.mail.toolkit import DeliveryTools
from workers.celery_app import app


@lru_cache(maxsize=1)
def delivery_tools() -> DeliveryTools:
    """Renderer (compiled MJML), composer (DKIM key), SMTP connection: once per worker process."""
    return DeliveryTools.from_settings(get_settings())


@worker_process_shutdown.connect
def _close_mail_connection(**_: object) -> None:
    close_shared_backends()


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
    """Beat's planner tick: claim due digests, enqueue their batches, re-enqueue stale ones."""
    now = datetime.fromisoformat(at) if at else datetime.now(UTC)
    summary = plan(get_settings(), now, enqueue_batch)
    return {"claimed": summary.claimed, "requeued": summary.requeued, "batches": summary.batches}


@app.task(name="workers.tasks.send_digest_batch")
def send_digest_batch(delivery_ids: list[int], token: str) -> dict[str, int]:
    """Send one batch; a duplicated or retried task finds its deliveries sent and does nothing."""
    settings = get_settings()
    outcome = deliver_batch(settings, delivery_ids, token, delivery_tools())
    # Each transient failure goes back on the queue alone, after its own backoff.
    for delivery_id, delay in outcome.retry:
        for ids, retry_token in stamped_batches(settings, [delivery_id], datetime.now(UTC)):
            enqueue_batch(ids, retry_token, countdown=delay)
    return {"sent": outcome.sent, "skipped": outcome.skipped, "failed": outcome.failed,
            "retried": len(outcome.retry), "ignored": outcome.ignored}


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
