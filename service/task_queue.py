"""Putting work on the Celery queues from outside a worker (web process, CLI), by task name.

The Celery app is built from the caller's Settings (not the process-wide ones), so work goes
to the broker the caller was configured with; tasks are sent by name, so the caller never
imports the workers' code. Task arguments are JSON ids and strings.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property

from celery import Celery

from config.settings import Settings


class TaskQueue:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._confirmations = 0

    @cached_property
    def celery(self) -> Celery:
        from workers.celery_app import create_app

        return create_app(self.settings)

    def poll_source(self, name: str) -> str:
        return str(self.celery.send_task("workers.tasks.poll_source", args=[name]).id)

    def send_digest_batch(self, delivery_ids: list[int], token: str) -> str:
        return str(self.celery.send_task("workers.tasks.send_digest_batch", args=[delivery_ids, token]).id)

    def send_transactional(self, kind: str, subscriber_id: int) -> str:
        """Confirmation, welcome and link mails: routed to the `transactional` queue, so they go
        out within seconds even while a digest run fills the `digests` queue."""
        return str(self.celery.send_task("workers.tasks.send_transactional", args=[kind, subscriber_id]).id)

    def send_confirmations(self, subscriber_ids: Sequence[int]) -> int:
        """One confirmation mail per id, spaced at SEND_RATE_PER_SECOND (a 10,000-row import must
        not hit the relay at once); returns how many were queued."""
        for subscriber_id in subscriber_ids:
            countdown = self._confirmations / self.settings.send_rate_per_second
            self.celery.send_task("workers.tasks.send_transactional", args=["confirm", subscriber_id],
                                  countdown=countdown)
            self._confirmations += 1
        return len(subscriber_ids)
