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
from service.digests.pool import deliver_queued
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
    """Split IDS into batches, each with a fresh token, all stamped in one transaction that is
    committed before the first is yielded: one commit (an fsync on SQLite) per planner chunk,
    not per batch, which had the planner waiting on the disk 80 % of the time."""
    stamped = [(batch, secrets.token_hex(8)) for batch in batches(ids, settings.digest_batch_size)]
    if stamped:
        with session_scope(settings) as session:
            for batch, token in stamped:
                mark_enqueued(session, batch, now, token)
    yield from stamped


def plan(settings: Settings, now: datetime, enqueue: Enqueue) -> PlanSummary:
    """Claim what is due and hand each committed batch to ENQUEUE as soon as its chunk is
    claimed (streamed: a million subscribers hold one chunk and one batch in memory); then
    re-enqueue stale rows (a dead worker's, or those the filesystem broker lost). A row just
    claimed is never stale: its claimed_at is NOW, the stale cut-off lies before it."""
    summary = PlanSummary()
    size = settings.digest_batch_size
    pending: list[int] = []  # claimed ids not yet a full batch: batches keep their size across chunks

    def hand_over(ids: Sequence[int]) -> None:
        for batch, token in stamped_batches(settings, ids, now):
            enqueue(batch, token)
            summary.batches += 1

    with session_scope(settings) as session:
        for chunk in claim_due(session, now):  # each chunk committed before it is yielded
            summary.claimed += len(chunk)
            pending.extend(chunk)
            full = len(pending) - len(pending) % size
            hand_over(pending[:full])
            del pending[:full]
        hand_over(pending)
        stale = stale_deliveries(session, now, timedelta(minutes=settings.delivery_stale_minutes))
    summary.requeued = len(stale)
    hand_over(stale)
    return summary


def run_foreground(
    settings: Settings, now: datetime, tools: DeliveryTools,
    on_batch: Callable[[BatchOutcome], None] = lambda outcome: None,
    sleep: Callable[[float], None] = time.sleep,
    processes: int = 1,
) -> tuple[PlanSummary, BatchOutcome]:
    """Plan and send everything due; returns once each was sent or failed (transient failures
    still failing after a few quick retries are left to the planner). PROCESSES > 1 sends the
    batches over that many processes (``pool.deliver_queued``); the retries go here, with TOOLS."""
    queued: list[tuple[list[int], str]] = []
    summary = plan(settings, now, lambda ids, token: queued.append((ids, token)))
    total = deliver_queued(settings, queued, now, tools, on_batch, processes)
    for delay in FOREGROUND_RETRY_DELAYS:
        if not total.retry:
            break
        sleep(delay)
        retry_ids = [delivery_id for delivery_id, _ in total.retry]
        total.retry = []
        for ids, token in stamped_batches(settings, retry_ids, datetime.now(UTC)):
            total.add(deliver_batch(settings, ids, token, tools, now=now))
    return summary, total
