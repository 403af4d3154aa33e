"""Planning and running digests: what beat's planner tick and `papermail digest plan|run` do."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from config.settings import Settings
from service.storage.db import session_scope
from service.digests.deliver import BatchOutcome, deliver_batch
from service.mail.toolkit import DeliveryTools
from service.digests.plan import batches, claim_due, mark_enqueued, stale_deliveries

# Foreground runs retry transient failures a few times before leaving them to the planner.
FOREGROUND_RETRY_DELAYS = (1.0, 2.0, 4.0)

Enqueue = Callable[[list[int], str], None]


@dataclass
class PlanSummary:
    claimed: int = 0
    requeued: int = 0
    batches: int = 0

    def line(self) -> str:
        return f"claimed {self.claimed}, re-enqueued {self.requeued} stale, enqueued {self.batches} batches"


def stamped_batches(settings: Settings, ids: Sequence[int], now: datetime) -> Iterator[tuple[list[int], str]]:
    """Split IDS into batches, stamping each with a fresh token (committed) before yielding it."""
    for batch in batches(ids, settings.digest_batch_size):
        token = secrets.token_hex(8)
        with session_scope(settings) as session:
            mark_enqueued(session, batch, now, token)
        yield batch, token


def plan(settings: Settings, now: datetime, enqueue: Enqueue) -> PlanSummary:
    """Claim what is due and hand each committed batch to ENQUEUE; then re-enqueue stale rows
    (a dead worker's, or those the filesystem broker lost)."""
    summary = PlanSummary()
    with session_scope(settings) as session:
        claimed_chunks = list(claim_due(session, now))
        stale = stale_deliveries(session, now, timedelta(minutes=settings.delivery_stale_minutes))
    claimed_ids = [i for chunk in claimed_chunks for i in chunk]
    summary.claimed = len(claimed_ids)
    just_claimed = set(claimed_ids)
    stale = [i for i in stale if i not in just_claimed]
    summary.requeued = len(stale)
    for ids in (claimed_ids, stale):
        for batch, token in stamped_batches(settings, ids, now):
            enqueue(batch, token)
            summary.batches += 1
    return summary


def run_foreground(
    settings: Settings, now: datetime, tools: DeliveryTools,
    on_batch: Callable[[BatchOutcome], None] = lambda outcome: None,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[PlanSummary, BatchOutcome]:
    """Plan and send everything due, in this process; returns once each was sent or failed
    (transient failures still failing after a few quick retries are left to the planner)."""
    queued: list[tuple[list[int], str]] = []
    summary = plan(settings, now, lambda ids, token: queued.append((ids, token)))
    total = BatchOutcome()
    for ids, token in queued:
        outcome = deliver_batch(settings, ids, token, tools, now=now)
        on_batch(outcome)
        total.add(outcome)
    for delay in FOREGROUND_RETRY_DELAYS:
        if not total.retry:
            break
        sleep(delay)
        retry_ids = [delivery_id for delivery_id, _ in total.retry]
        total.retry = []
        for ids, token in stamped_batches(settings, retry_ids, datetime.now(UTC)):
            total.add(deliver_batch(settings, ids, token, tools, now=now))
    return summary, total
