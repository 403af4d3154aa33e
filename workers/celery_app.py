"""The Celery app, configured from Settings. Only configuration here; tasks live in workers.tasks."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from celery import Celery
from kombu import Exchange, Queue

from config.settings import Settings, get_settings
from workers.broker import TRANSPORT

QUEUES = ("transactional", "digests", "ingest")

# Longer than any countdown or retry delay the project uses: Redis redelivers an unacked
# message after this, so a shorter value would duplicate delayed tasks.
REDIS_VISIBILITY_TIMEOUT_SECONDS = 6 * 60 * 60


def broker_transport_options(settings: Settings) -> dict[str, Any]:
    if settings.broker_is_embedded:
        queue_dir = settings.broker_dir / "queue"
        control_dir = settings.broker_dir / "control"
        for folder in (queue_dir, control_dir):
            folder.mkdir(parents=True, exist_ok=True)
        return {
            # One folder both ways: producers and consumers on this machine share it.
            "data_folder_in": str(queue_dir),
            "data_folder_out": str(queue_dir),
            "control_folder": str(control_dir),
            "store_processed": False,
            "polling_interval": 0.2,
        }
    return {"visibility_timeout": REDIS_VISIBILITY_TIMEOUT_SECONDS}


class _NotCancellingIsOurChoice(logging.Filter):
    """Celery warns, in seven lines, at every lost broker connection that running tasks are not
    cancelled: our choice (see configure). The worker routes warnings to the py.warnings logger
    (after re-enabling this one), so it is dropped there."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "worker_cancel_long_running_tasks_on_connection_loss" not in record.getMessage()


logging.getLogger("py.warnings").addFilter(_NotCancellingIsOurChoice())


def beat_schedule(settings: Settings) -> dict[str, dict[str, Any]]:
    """What beat runs: each job's interval comes from Settings."""
    return {
        "poll-due-sources": {
            "task": "workers.tasks.poll_due_sources",
            # Each source has its own interval (stored on its row); this tick asks which are due.
            "schedule": timedelta(minutes=1),
            "options": {"queue": "ingest", "expires": 60},
        },
        "plan-digests": {
            "task": "workers.tasks.plan_digests",
            "schedule": timedelta(minutes=settings.planner_interval_minutes),
            "options": {"queue": "digests", "expires": settings.planner_interval_minutes * 60},
        },
    }


def configure(app: Celery, settings: Settings) -> Celery:
    if settings.broker_is_embedded:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        (settings.data_dir / "results").mkdir(parents=True, exist_ok=True)
    app.conf.update(
        broker_url=settings.effective_broker_url,
        # Redis through kombu's transport with the repair in workers/broker.py (not for rediss://,
        # sentinel or the filesystem broker, which keep kombu's own).
        broker_transport=TRANSPORT if urlsplit(settings.effective_broker_url).scheme == "redis" else None,
        result_backend=settings.effective_result_backend,
        broker_transport_options=broker_transport_options(settings),
        result_backend_transport_options=(
            {} if settings.broker_is_embedded else {"visibility_timeout": REDIS_VISIBILITY_TIMEOUT_SECONDS}
        ),
        # A broker that goes away is waited for, at start and later, for as long as it takes: the
        # deliveries' leases, not the broker, say what is still to send (workers/sweep.py).
        broker_connection_retry=True,
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None,
        # A task still running when the connection drops goes on: its lease holds its rows, and
        # cancelling it would only delay them by a lease.
        worker_cancel_long_running_tasks_on_connection_loss=False,
        # Results wait for a Redis that restarts instead of failing the task that produced them.
        result_backend_always_retry=True,
        result_backend_max_retries=30,
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        result_expires=timedelta(days=1),
        # A task is acknowledged after it ran, and re-queued if the worker process dies:
        # delivery safety rests on the claim rows, so running twice is harmless.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_default_queue="digests",
        task_queues=[Queue(name, Exchange(name), routing_key=name) for name in QUEUES],
        task_routes={
            "workers.tasks.send_transactional": {"queue": "transactional"},
            "workers.tasks.send_digest_batch": {"queue": "digests"},
            "workers.tasks.plan_digests": {"queue": "digests"},
            "workers.tasks.poll_source": {"queue": "ingest"},
            "workers.tasks.poll_due_sources": {"queue": "ingest"},
            "workers.tasks.ping": {"queue": "transactional"},
        },
        beat_schedule=beat_schedule(settings),
        timezone="UTC",
        enable_utc=True,
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
    )
    return app


def declare_queues(app: Celery) -> None:
    """Declare every queue and its binding on the broker again: a Redis that lost its data lost
    the bindings too, and until a consumer restarts, messages published meanwhile would be
    routed nowhere."""
    with app.connection_for_write() as connection:
        channel = connection.default_channel
        for queue in app.conf.task_queues:
            queue.bind(channel).declare()


def create_app(settings: Settings | None = None) -> Celery:
    app = Celery("papermail", include=["workers.tasks"])
    return configure(app, settings or get_settings())


app = create_app()
