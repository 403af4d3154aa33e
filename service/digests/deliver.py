"""Deliver one batch of claimed digests: match, render, send, record — each delivery once.

Per batch the paper index, the already-sent sets, the readers' votes and seeds and the topic
names are loaded once. Then, group by group (``TAKE_GROUP``), one statement takes the group's
deliveries (claimed → sending, only while the subscriber is still active; under a worker's
lease, which made them 'sending' already, a read of which are still its own), and each is
rendered, sent and recorded as sent in its own transaction before the next is rendered
(``service/digests/record.py``).

The irrevocable step (the SMTP send) comes after the guarding state is committed and before
the success is recorded. A crash between the server's "250 OK" and that record leaves the row
``sending``: once the worker's lease on it runs out the sweep re-enqueues it (``plan.requeue_expired``),
and it is sent again with the same
deterministic Message-ID, which receivers use to drop the copy. That window is the only way a
reader can see a digest twice; a crash anywhere else re-sends nothing that was accepted.
"""

from __future__ import annotations

import gc
import logging
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from config.settings import Settings
from service.actions.bounces import suppress_after_hard_bounce
from service.storage.db import get_engine, session_scope
from service.digests.compose import digest_context
from service.digests.lease import Lease
from service.digests.plan import retry_at
from service.digests.record import Ledger
from service.digests.window import already_sent, batch_index, marks_among, match_requests
from service.ingest.day_status import DayStatus, load_day_status
from service.mail import DeliveryError, MessageError, OutgoingMail, Unsubscribe
from service.mail.protocol import NeedsSevenBit
from service.matching.match import match_many
from service.matching.profiles import load_profiles
from service.matching.records import Match, MatchRequest
from service.storage.models import Delivery, Paper, Subscriber, Topic
from service.mail.breaker import SendAbandoned, send_through_breaker
from service.mail.toolkit import DeliveryTools
from service.rendering import render_digest
from service.digests.schedule import zone

log = logging.getLogger(__name__)

# After this many transient failures a delivery is given up as failed.
MAX_ATTEMPTS = 6
# The batch's rows are loaded in the session; without this every UPDATE would be evaluated
# against all of them in Python (7 % of a worker's time at 200 digests a batch).
NO_SYNC = {"synchronize_session": False}


@dataclass
class BatchOutcome:
    sent: int = 0
    skipped: int = 0
    failed: int = 0
    # Transient failures to try again: (delivery id, seconds to wait).
    retry: list[tuple[int, float]] = field(default_factory=list)
    # Not taken: already sent, or in flight in another worker.
    ignored: int = 0

    def add(self, other: BatchOutcome) -> None:
        self.sent += other.sent
        self.skipped += other.skipped
        self.failed += other.failed
        self.ignored += other.ignored
        self.retry.extend(other.retry)


def retry_delay(attempts: int, base: float) -> float:
    """BASE, then doubling (1 min, 2, 4, 8... by default): greylisting relays accept within minutes."""
    return float(min(base * 2 ** max(attempts - 1, 0), 3600))


# Deliveries are taken (claimed → sending, subscriber re-checked) this many at a time, just
# before they are rendered and sent: one statement for the group instead of one each.
TAKE_GROUP = 20


def record_failure(session: Session, delivery_id: int, subscriber_id: int, attempts: int, error: Exception,
                   outcome: BatchOutcome, retry_base: float) -> None:
    reason = f"{type(error).__name__}: {error}"[:2000]
    transient = isinstance(error, DeliveryError) and not error.permanent
    if transient and attempts < MAX_ATTEMPTS:
        delay = retry_delay(attempts, retry_base)
        # Due again after DELAY with no batch holding it: the sweep enqueues it then (plan.retry_at).
        again = retry_at(datetime.now(UTC) + timedelta(seconds=delay))
        session.execute(update(Delivery).where(Delivery.id == delivery_id).values(status="claimed", error=reason,
                                                                                  attempts=attempts, **again),
                        execution_options=NO_SYNC)
        outcome.retry.append((delivery_id, delay))
    else:
        session.execute(update(Delivery).where(Delivery.id == delivery_id).values(status="failed", error=reason,
                                                                                  attempts=attempts),
                        execution_options=NO_SYNC)
        outcome.failed += 1
    if isinstance(error, DeliveryError) and error.hard_bounce:
        suppress_after_hard_bounce(session, subscriber_id, f"hard bounce: {error}"[:2000], delivery_id=delivery_id)
    session.commit()


@dataclass
class Digest:
    delivery: Delivery
    subscriber: Subscriber
    request: MatchRequest  # the reader's preferences and window, read once for matching
    matches: Sequence[Match]

    @property
    def empty_digest(self) -> str:
        return self.request.preferences.empty_digest


@dataclass
class Batch:
    """What every digest of one batch shares."""

    settings: Settings
    session: Session
    ledger: Ledger
    tools: DeliveryTools
    papers: dict[int, Paper]
    topic_names: dict[str, str]
    token: str | None
    now: datetime
    built_at: datetime
    outcome: BatchOutcome
    status: DayStatus | None = None  # the day's sources, told in the digest when something is off


# While a batch is delivered: a new reader's digest allocates thousands of small, mostly acyclic
# objects, and at the default gen-0 threshold (700) the cyclic GC took a quarter to a third of
# the render's CPU (bench/render_batches.py --gc). Its cyclic garbage waits for the batch's end.
# Loading the batch (the rows, windows and profiles of 200 readers) is covered too: at 700 it ran
# ~12 collections a batch, some of them full ones over the whole heap, 0.2 ms a digest in all
# (bench/worker_phases.py prints the GC's time).
BATCH_GC_THRESHOLD = (100_000, 50, 100)
# The thresholds are the process's: batches overlapping in threads (Celery's threads pool) raise
# them once, and the last one out puts back what the first one in found.
_gc_lock = threading.Lock()
_gc_running = 0  # batches running in this process
_gc_before: tuple[int, ...] = gc.get_threshold()  # what the first of them found
# In a worker process (``freeze_between_batches``): after how many batches the frozen heap is
# collected in full (0 while not enabled), the batches since the last full collection, how many
# objects were frozen right after it, and how many were frozen since.
_full_every = 0
_since_full = 0
_frozen_after_full = 0
_frozen_since = 0
# A full collection comes sooner once the objects frozen since the last one reach the number
# frozen by it: whatever cyclic garbage batches leave (an error path's tracebacks, say) stays
# bounded by that. Not a quarter, CPython's own rule for full collections: frozen, the tuples and
# dicts a collection would untrack count too, and a worker's heap grows by 5 % a batch while its
# caches fill. Counted with gc.get_count() (new tracked objects less those freed) as each batch
# ends: gc.get_freeze_count() walks the whole frozen list, 50 ms at 500,000 objects.


def freeze_between_batches(full_every: int = 100) -> None:
    """For a process whose work is delivering batches (a worker): what is alive when a batch ends
    is frozen (``gc.freeze``); all of it is collected in full at the first batch's end, then every
    FULL_EVERY batches or once the frozen objects doubled, whichever comes first.

    A batch leaves ~30,000 objects behind it that outlive it (caches of rendered pieces and
    reasons), and ~100 of cyclic garbage. Left to the GC, the survivors were traversed again by
    the collection each batch's end set off, and the next ones: 0.07 ms a digest. Frozen, they
    are never traversed; what dies among them is freed by its reference count as ever. The cyclic
    garbage waits for the full collection (0.2-0.5 s over a worker's ~300,000 objects, ~0.02 ms a
    digest at every 100 batches of 200). Not the default: a process that does other work too
    (tests, the web app) keeps the usual GC."""
    global _full_every, _since_full
    if full_every < 1:
        raise ValueError("full_every must be at least 1")
    _full_every, _since_full = full_every, full_every  # the first batch's end collects in full


def _batches_done() -> None:
    """The last batch running in this process ended (under _gc_lock)."""
    global _since_full, _frozen_after_full, _frozen_since
    if not _full_every:
        return
    _since_full += 1
    _frozen_since += gc.get_count()[0]
    if _since_full >= _full_every or _frozen_since > _frozen_after_full:
        gc.unfreeze()
        gc.collect()
        gc.freeze()
        _since_full, _frozen_after_full, _frozen_since = 0, gc.get_freeze_count(), 0
    else:
        gc.freeze()


@contextmanager
def batch_gc_threshold() -> Iterator[None]:
    global _gc_running, _gc_before
    with _gc_lock:
        if not _gc_running:
            _gc_before = gc.get_threshold()
            gc.set_threshold(*BATCH_GC_THRESHOLD)
        _gc_running += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_running -= 1
            if not _gc_running:
                _batches_done()
                gc.set_threshold(*_gc_before)


def claimed_rows(session: Session, delivery_ids: Sequence[int]) -> Sequence[tuple[Delivery, Subscriber]]:
    """The deliveries of DELIVERY_IDS still to send, in id order, each with its subscriber."""
    return session.execute(
        select(Delivery, Subscriber)
        .join(Subscriber, Subscriber.id == Delivery.subscriber_id)
        .where(Delivery.id.in_(delivery_ids), Delivery.status.in_(("claimed", "sending")))
        .order_by(Delivery.id)
    ).all()


def deliver_batch(
    settings: Settings, delivery_ids: Sequence[int], token: str | None, tools: DeliveryTools,
    now: datetime | None = None, lease: Lease | None = None,
) -> BatchOutcome:
    """Send the digests of DELIVERY_IDS that are still to send. Safe to run twice. A worker's
    task passes the LEASE it holds on them; nothing is sent once it lapsed."""
    with batch_gc_threshold():  # from the first row loaded (see BATCH_GC_THRESHOLD)
        return _deliver_batch(settings, delivery_ids, token, tools, now or datetime.now(UTC), lease)


def _deliver_batch(settings: Settings, delivery_ids: Sequence[int], token: str | None, tools: DeliveryTools,
                   now: datetime, lease: Lease | None) -> BatchOutcome:
    lookback = timedelta(days=settings.lookback_days)
    outcome = BatchOutcome()
    with session_scope(settings) as session:
        rows = claimed_rows(session, delivery_ids)
        outcome.ignored = len(delivery_ids) - len(rows)
        if not rows:
            return outcome
        index, papers = batch_index(session, now, lookback)
        members = [subscriber for _, subscriber in rows]
        sent = already_sent(session, [s.id for s in members], papers)
        # votes and seeds, read afresh every batch: a vote changes the very next digest
        profiles = load_profiles(session, [s.id for s in members])
        index.add_profile_papers(profiles.papers.values())
        requests = profiles.attach(match_requests(members, sent, now, lookback, papers), [s.id for s in members])
        results = match_many(requests, index)
        topic_names = {slug: name for slug, name in session.execute(select(Topic.slug, Topic.name))}
        work = [
            Digest(delivery, subscriber, request, matches)
            for (delivery, subscriber), request, matches in zip(rows, requests, results, strict=True)
        ]
        status = load_day_status(session, now.date(), now)
        session.commit()  # the reads are done: no transaction stays open while the batch sends
        ledger = Ledger(get_engine(settings), lease, settings.ledger_async_commit)
        try:
            batch = Batch(settings, session, ledger, tools, papers, topic_names, token, now, index.now, outcome, status)
            for start in range(0, len(work), TAKE_GROUP):
                deliver_group(batch, work[start:start + TAKE_GROUP])
        finally:
            ledger.close()
    return outcome


def deliver_group(batch: Batch, group: Sequence[Digest]) -> None:
    """Take the group's deliveries in one statement, then render, send and record each in turn."""
    ledger, outcome = batch.ledger, batch.outcome
    empty = [d.delivery.id for d in group if not d.matches and d.empty_digest == "skip"]
    if empty:
        skipped = ledger.skip_empty(empty)
        outcome.skipped += skipped
        outcome.ignored += len(empty) - skipped
    wanted = [d for d in group if d.matches or d.empty_digest != "skip"]
    if not wanted:
        return
    taken = ledger.take([d.delivery.id for d in wanted], batch.token)
    left = [d.delivery.id for d in wanted if d.delivery.id not in taken]
    if left:
        skipped = ledger.skip_inactive(left)
        outcome.skipped += skipped
        outcome.ignored += len(left) - skipped
    delivered = [d.subscriber.id for d in wanted if d.delivery.id in taken and deliver_one(batch, d)]
    ledger.advance_windows(delivered, batch.built_at)


def deliver_one(batch: Batch, digest: Digest) -> bool:
    """Render, send and record one taken delivery; True once it is recorded as sent."""
    settings, tools, outcome = batch.settings, batch.tools, batch.outcome
    delivery, subscriber, matches = digest.delivery, digest.subscriber, digest.matches
    attempts = delivery.attempts + 1  # this one; recorded with its outcome (record.Ledger.take says why)
    try:
        day = (delivery.due_at or batch.now).astimezone(zone(subscriber.timezone)).date()
        request = digest.request
        marks = marks_among((m.paper_id for m in matches), batch.papers, request.since.astimezone(UTC).date(),
                            request.preferences.min_upvotes)
        context = digest_context(settings, subscriber, matches, batch.papers, batch.topic_names, day, tools.sender,
                                 delivery.id, marks, batch.status.line(day) if batch.status else None)
        rendered = render_digest(context, tools.renderer)

        def composed() -> OutgoingMail:
            return tools.composer.compose(
                to_address=subscriber.email, subject=rendered.subject, text=rendered.text, html=rendered.html,
                message_key=f"{delivery.id}", delivery_id=delivery.id,
                unsubscribe=Unsubscribe(context.links.unsubscribe_url, context.links.unsubscribe_token),
            )

        def send(mail: OutgoingMail) -> None:
            # waits out an open relay breaker and the send rate; gives up if our lease lapsed meanwhile
            send_through_breaker(tools.backend, tools.limiter, mail.envelope_from, mail.to, mail.data,
                                 still_wanted=lambda: batch.ledger.holds(delivery.id))

        mail = composed()
        try:
            send(mail)
        except NeedsSevenBit:  # the relay stopped announcing 8BITMIME: composed again for it, 7bit
            mail = composed()
            send(mail)
    except SendAbandoned:
        outcome.ignored += 1
        return False
    except (DeliveryError, MessageError) as error:
        log.info("delivery %s to subscriber %s failed: %s", delivery.id, subscriber.id, error)
        record_failure(batch.session, delivery.id, subscriber.id, attempts, error, outcome,
                       settings.delivery_retry_seconds)
        return False
    batch.ledger.sent(delivery.id, subscriber.id, matches, mail.message_id, datetime.now(UTC))
    outcome.sent += 1
    return True
