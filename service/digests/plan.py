"""The planner: find the subscribers due now and claim one delivery row per (subscriber, period).

The claim is an insert-or-ignore under UNIQUE(subscriber_id, period), committed before any
batch is enqueued: two planners, a retried beat tick or a second `digest run` can never
claim the same period twice. Subscribers are streamed by id in chunks, so planning a million
of them holds one chunk in memory.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from service.storage.models import Delivery, Subscriber
from service.digests.schedule import Frequency, due_period

# Subscribers read per query while planning; one claim statement per chunk.
PLAN_CHUNK = 2000

# (id, timezone, frequency, send_hour, weekly_day, confirmed_at) of one active subscriber.
PlanRow = tuple[int, str, str, int, int, datetime | None]


@dataclass(frozen=True, slots=True)
class Claim:
    subscriber_id: int
    period: str
    due_at: datetime


def due_claims(rows: Sequence[PlanRow], now: datetime) -> list[Claim]:
    """Pure: which of these (id, timezone, frequency, send_hour, weekly_day, confirmed_at) are due."""
    claims = []
    for subscriber_id, tz, frequency, send_hour, weekly_day, confirmed_at in rows:
        due = due_period(
            # The column holds only Preferences.frequency values (apply_preferences writes it).
            now, timezone=tz, frequency=cast(Frequency, frequency), send_hour=send_hour,
            weekly_day=weekly_day, confirmed_at=confirmed_at,
        )
        if due is not None:
            claims.append(Claim(subscriber_id, due.period, due.send_at))
    return claims


def active_subscriber_chunks(session: Session, chunk: int = PLAN_CHUNK) -> Iterator[list[PlanRow]]:
    """Keyset pagination over active subscribers (ix_subscribers_status_id keeps it a range scan)."""
    last_id = 0
    while True:
        query = (
            select(
                Subscriber.id, Subscriber.timezone, Subscriber.frequency, Subscriber.send_hour,
                Subscriber.weekly_day, Subscriber.confirmed_at,
            )
            .where(Subscriber.status == "active", Subscriber.id > last_id)
            .order_by(Subscriber.id)
            .limit(chunk)
        )
        rows: list[PlanRow] = [(*row,) for row in session.execute(query)]
        if not rows:
            return
        yield rows
        last_id = rows[-1][0]


def unclaimed(session: Session, claims: list[Claim]) -> list[Claim]:
    """Drop claims whose row exists already: most of a planner tick's candidates were claimed
    by an earlier tick, and one SELECT is cheaper than thousands of ignored INSERTs."""
    if not claims:
        return []
    pairs = [(c.subscriber_id, c.period) for c in claims]
    query = select(Delivery.subscriber_id, Delivery.period).where(
        tuple_(Delivery.subscriber_id, Delivery.period).in_(pairs)
    )
    taken = {(subscriber_id, period) for subscriber_id, period in session.execute(query)}
    return [c for c in claims if (c.subscriber_id, c.period) not in taken]


def insert_claims(session: Session, claims: list[Claim], now: datetime) -> list[int]:
    """INSERT ... ON CONFLICT DO NOTHING RETURNING id: the ids this call really claimed."""
    if not claims:
        return []
    dialect = sqlite if session.get_bind().dialect.name == "sqlite" else postgresql
    statement = (
        dialect.insert(Delivery)
        .values([
            {"subscriber_id": c.subscriber_id, "period": c.period, "due_at": c.due_at, "status": "claimed",
             "claimed_at": now, "attempts": 0}
            for c in claims
        ])
        .on_conflict_do_nothing(index_elements=["subscriber_id", "period"])
        .returning(Delivery.id)
    )
    return [row[0] for row in session.execute(statement)]


def claim_due(session: Session, now: datetime, chunk: int = PLAN_CHUNK) -> Iterator[list[int]]:
    """Claim every due delivery, committing after each chunk; yields the claimed ids per chunk
    only after their commit, so the caller may enqueue them at once."""
    for rows in active_subscriber_chunks(session, chunk):
        ids = insert_claims(session, unclaimed(session, due_claims(rows, now)), now)
        session.commit()
        if ids:
            yield ids


def stale_deliveries(session: Session, now: datetime, stale_after: timedelta) -> list[int]:
    """Claimed or sending rows whose batch was enqueued too long ago (or never): a worker died
    or the embedded broker lost the message."""
    cutoff = now - stale_after
    query = select(Delivery.id).where(
        Delivery.status.in_(("claimed", "sending")),
        (Delivery.enqueued_at.is_(None)) | (Delivery.enqueued_at < cutoff),
        Delivery.claimed_at < cutoff,
    ).order_by(Delivery.id)
    return list(session.scalars(query))


def mark_enqueued(session: Session, ids: Sequence[int], now: datetime, token: str | None = None) -> None:
    """Stamp a batch before it goes on the queue; TOKEN names this enqueue (see Delivery.batch_token)."""
    for start in range(0, len(ids), PLAN_CHUNK):
        chunk = ids[start : start + PLAN_CHUNK]
        session.execute(update(Delivery).where(Delivery.id.in_(chunk)).values(enqueued_at=now, batch_token=token))


def batches(ids: Sequence[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(ids), size):
        yield list(ids[start : start + size])
