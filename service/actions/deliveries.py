"""Retrying a failed digest, from the admin and the API.

A retry is a fresh claim: the row goes back to ``claimed`` with no attempts, and a worker takes it
like any other, under the same exactly-once rules. The caller enqueues it after the commit
(``service.digests.run.stamped_batches``): a worker never sees a row it cannot take.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.admin import audit
from service.storage.models import Delivery, Subscriber

AUDITED = ("status", "attempts", "error")


class RetryRefused(Exception):
    """Only a failed digest to an active subscriber is retried; ``what`` says which is not so,
    ``status`` what it is instead."""

    def __init__(self, what: Literal["delivery", "subscriber"], status: str | None) -> None:
        super().__init__(f"the {what} is {status}")
        self.what = what
        self.status = status


def retry_delivery(session: Session, delivery: Delivery, *, actor: str, now: datetime) -> None:
    """Claim DELIVERY again. Raises RetryRefused, having changed nothing."""
    if delivery.status != "failed":
        raise RetryRefused("delivery", delivery.status)
    status = session.scalar(select(Subscriber.status).where(Subscriber.id == delivery.subscriber_id))
    if status != "active":
        raise RetryRefused("subscriber", status)
    before = audit.snapshot(delivery, AUDITED)
    delivery.status, delivery.attempts, delivery.claimed_at = "claimed", 0, now
    audit.record(session, actor, "delivery.retry", "delivery", delivery.id, before, audit.snapshot(delivery, AUDITED))
