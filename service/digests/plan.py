"""The planner: find the subscribers due now and claim one delivery row per (subscriber, period).

The claim is an insert-or-ignore under UNIQUE(subscriber_id, period), committed before any
batch is enqueued: two planners, a retried beat tick or a second `digest run` can never
claim the same period twice. Subscribers are streamed by id in chunks, so planning a million
of them holds one chunk in memory.

The send log, not the broker, says what is still to send, and who holds it. A claimed row is
queued (``batch_token`` names the enqueue, ``enqueued_at`` its time) or due for a retry at
``enqueued_at`` with no batch; a 'sending' row is held by a worker's lease, renewed in
``enqueued_at`` (``service/digests/lease.py``). ``requeue_expired`` enqueues what nobody holds.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, Table, or_, select, text, update
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Session

from service.storage.models import Delivery, Subscriber
from service.digests.schedule import Frequency, due_period

# Subscribers read per query while planning; one claim statement per chunk.
PLAN_CHUNK = 2000
# Bulk UPDATEs here name their rows by id: no need to evaluate them against the session's objects.
NO_SYNC = {"synchronize_session": False}

# "status = 'claimed'" written so that no index can serve it (``status || ''``, the idiom both
# SQLite and PostgreSQL document): rows named by id must be found through the primary key. A
# planning tick claims rows faster than statistics follow, so PostgreSQL, believing 'claimed'
# rare, scanned ix_deliveries_status_enqueued_at (every claimed row) for each batch stamped:
# quadratic in the rows claimed, 65 ms a batch at 20,000 subscribers. The worker's take and the
# lease renewals write their status conditions with it too (record.py, lease.py).
STATUS_BY_ID = cast(Table, Delivery.__table__).c.status.concat("")
CLAIMED_BY_ID = STATUS_BY_ID == "claimed"
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
    # The chunk is a range of subscriber ids and a handful of periods: one range scan of the
    # unique index, where a list of 2,000 (id, period) pairs cost PostgreSQL 2,000 index probes
    # (and their planning) per chunk.
    ids = [c.subscriber_id for c in claims]
    query = select(Delivery.subscriber_id, Delivery.period).where(
        Delivery.subscriber_id.between(min(ids), max(ids)), Delivery.period.in_({c.period for c in claims})
    )
    taken = {(subscriber_id, period) for subscriber_id, period in session.execute(query)}
    return [c for c in claims if (c.subscriber_id, c.period) not in taken]


def _claim_statement() -> Any:
    """SQLite's claim: one INSERT, given the chunk's rows as parameter sets."""
    return (
        sqlite.insert(cast(Table, Delivery.__table__))
        .on_conflict_do_nothing(index_elements=["subscriber_id", "period"])
        .returning(Delivery.id)
    )


# PostgreSQL: the chunk's claims as three arrays, unnested into rows by one small statement. The
# multi-row INSERT SQLAlchemy builds from parameter sets is a query of thousands of placeholders,
# which psycopg parses anew each time (too long for its query cache): half of the planner's CPU
# (bench/plan.py, 20,000 subscribers: 1.3 s of CPU).
_CLAIM_PG = text(
    "INSERT INTO deliveries (subscriber_id, period, due_at, status, claimed_at, attempts) "
    "SELECT c.subscriber_id, c.period, c.due_at, 'claimed', :now, 0 "
    "FROM unnest(CAST(:ids AS bigint[]), CAST(:periods AS varchar[]), CAST(:dues AS timestamptz[])) "
    "AS c(subscriber_id, period, due_at) "
    "ON CONFLICT (subscriber_id, period) DO NOTHING RETURNING id"
)


def insert_claims(session: Session, claims: list[Claim], now: datetime) -> list[int]:
    """INSERT ... ON CONFLICT DO NOTHING RETURNING id: the ids this call really claimed, in order.

    One statement with parameter sets on SQLite (SQLAlchemy batches them into multi-row INSERTs
    itself), not a VALUES list built per chunk: that was compiled afresh for every chunk, 80 % of
    planning time; on PostgreSQL one statement over arrays (``_CLAIM_PG``)."""
    if not claims:
        return []
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        result = connection.execute(_CLAIM_PG, {
            "now": now, "ids": [c.subscriber_id for c in claims], "periods": [c.period for c in claims],
            "dues": [c.due_at for c in claims],
        })
        return sorted(row[0] for row in result)
    rows = [
        {"subscriber_id": c.subscriber_id, "period": c.period, "due_at": c.due_at, "status": "claimed",
         "claimed_at": now, "attempts": 0}
        for c in claims
    ]
    return [row[0] for row in connection.execute(_claim_statement(), rows)]


def claim_due(session: Session, now: datetime, chunk: int = PLAN_CHUNK) -> Iterator[list[int]]:
    """Claim every due delivery, committing after each chunk; yields the claimed ids per chunk
    only after their commit, so the caller may enqueue them at once."""
    for rows in active_subscriber_chunks(session, chunk):
        ids = insert_claims(session, unclaimed(session, due_claims(rows, now)), now)
        session.commit()
        if ids:
            yield ids


def release_lapsed(session: Session, before: datetime) -> int:
    """Rows left 'sending' whose lease was last renewed before BEFORE go back to 'claimed': the
    worker that held them is gone (a live one renews every quarter of the lease)."""
    lapsed = update(Delivery).where(Delivery.status == "sending", Delivery.enqueued_at < before)
    result = session.execute(lapsed.values(status="claimed"), execution_options=NO_SYNC)
    return cast(CursorResult[Any], result).rowcount


def stale_deliveries(session: Session, now: datetime, stale_after: timedelta) -> list[int]:
    """Claimed rows whose batch was enqueued too long ago (or never), and rows whose lease ran
    out that long ago (released to 'claimed' here, in the caller's transaction): a worker died
    or a broker lost the message. The slow fallback; ``requeue_expired`` acts within a lease."""
    cutoff = now - stale_after
    release_lapsed(session, cutoff)
    query = select(Delivery.id).where(
        Delivery.status == "claimed",
        (Delivery.enqueued_at.is_(None)) | (Delivery.enqueued_at < cutoff),
        Delivery.claimed_at < cutoff,
    ).order_by(Delivery.id)
    return list(session.scalars(query))


def mark_enqueued(session: Session, ids: Sequence[int], now: datetime, token: str) -> None:
    """Stamp a batch before it goes on the queue; TOKEN names this enqueue (see Delivery.batch_token).
    Only claimed rows: one being sent belongs to its worker's lease until that runs out."""
    for start in range(0, len(ids), PLAN_CHUNK):
        chunk = ids[start : start + PLAN_CHUNK]
        stamp = update(Delivery).where(Delivery.id.in_(chunk), CLAIMED_BY_ID)
        session.execute(stamp.values(enqueued_at=now, batch_token=token), execution_options=NO_SYNC)


def retry_at(when: datetime) -> dict[str, object]:
    """The columns of a claimed row due to be sent again at WHEN: no batch holds it until the
    sweep (``requeue_expired``) enqueues it then, so no countdown waits in a broker that may die."""
    return {"batch_token": None, "enqueued_at": when}


def unheld(now: datetime, lease: timedelta, stale: timedelta, lost_before: datetime | None = None) -> ColumnElement[bool]:
    """Deliveries to send that no live worker holds and no queue is known to hold:

    - 'sending' rows whose lease was last renewed more than LEASE ago (their worker died);
    - claimed rows with no batch whose retry time has come (``retry_at``);
    - claimed rows never enqueued, or enqueued more than STALE ago (a lost message);
    - claimed rows enqueued before LOST_BEFORE, when the broker lost its queues then.
    """
    claimed, queued = Delivery.status == "claimed", Delivery.batch_token.is_not(None)
    conditions = [
        (Delivery.status == "sending") & (Delivery.enqueued_at < now - lease),
        claimed & Delivery.batch_token.is_(None) & (Delivery.enqueued_at <= now),
        claimed & Delivery.enqueued_at.is_(None) & (Delivery.claimed_at < now - stale),
        claimed & queued & (Delivery.enqueued_at < now - stale),
    ]
    if lost_before is not None:
        conditions.append(claimed & queued & (Delivery.enqueued_at < lost_before))
    return or_(*conditions)


def requeue_expired(
    session: Session, now: datetime, lease: timedelta, stale: timedelta, size: int,
    lost_before: datetime | None = None, limit: int = 50_000,
) -> Iterator[tuple[list[int], str]]:
    """Take back every delivery ``unheld`` describes, a batch of SIZE at a time under a fresh token
    (committed), and yield (ids, token) for the caller to enqueue. Each batch is one conditional
    UPDATE that re-checks the condition, so two sweepers never enqueue the same row twice, and a
    late original task finds its rows stamped for another and leaves them."""
    condition = unheld(now, lease, stale, lost_before)
    candidates = list(session.scalars(select(Delivery.id).where(condition).order_by(Delivery.id).limit(limit)))
    session.commit()
    for batch in batches(candidates, size):
        token = secrets.token_hex(8)
        take = (
            update(Delivery)
            .where(Delivery.id.in_(batch), condition)
            .values(status="claimed", batch_token=token, enqueued_at=now)
            .returning(Delivery.id)
        )
        taken = sorted(session.scalars(take, execution_options=NO_SYNC))
        session.commit()
        if taken:
            yield taken, token


def unstamp(session: Session, ids: Sequence[int], token: str, now: datetime) -> None:
    """A batch that could not be enqueued (broker down): due again at once, for the next sweep."""
    undo = update(Delivery).where(Delivery.id.in_(ids), Delivery.status == "claimed", Delivery.batch_token == token)
    session.execute(undo.values(**retry_at(now)), execution_options=NO_SYNC)
    session.commit()


def batches(ids: Sequence[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(ids), size):
        yield list(ids[start : start + size])
