"""The delivery state changes a worker writes while it sends, each its own small transaction.

Every write here is one statement that commits by itself: taking a group of deliveries
(claimed → sending), skipping, advancing the subscribers' windows, and recording a send. A send
is recorded at once, right after the relay's 250, with one statement that updates the delivery's
row, its papers and their reasons included (migration 0009); nothing waits to be recorded with
the next one.

On PostgreSQL the ledger's connection is in autocommit mode, so each write costs one round trip
(not BEGIN, the statement, COMMIT), and with ``synchronous_commit=off`` (``storage.db.ledger_connection``
says what that costs: a crash of the server, never of a worker, can lose the last 0.6 s of
records). The send's statements go straight to the driver (psycopg, a statement prepared once
per connection; sqlite3), its JSON is encoded by orjson: recording a send cost the worker
0.63 ms through SQLAlchemy and the json module, 0.18 ms so (bench/ledger.py). Since the
papers are on the delivery's row (not ten rows of their own) a send costs PostgreSQL 0.09 ms of
CPU instead of 0.20 and the worker 0.075 ms instead of 0.09. SQLite, in
process, runs the same changes as ordinary short transactions, committed in WAL mode with
``synchronous=NORMAL``.

Under a worker's lease the rows are already 'sending' under the task's token (``lease.Lease.take``)
and the heartbeat renews them, so taking a group only reads: are they still ours, is the
subscriber still active. Writing them again cost PostgreSQL a new version of each row and of
its four index entries.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, cast

import orjson
from sqlalchemy import Connection, Engine, Table, bindparam, select, update

from service.digests.lease import Lease
from service.digests.plan import STATUS_BY_ID
from service.matching.records import Match
from service.storage.db import close_ledger_connection, ledger_connection
from service.storage.models import Delivery, Subscriber

# Declarative stubs type __table__ as any FromClause; a mapped class's own table is a Table.
deliveries, subscribers = (cast(Table, m.__table__) for m in (Delivery, Subscriber))
d, s = deliveries.c, subscribers.c

# The subscriber is looked up by the delivery's subscriber_id, one primary-key probe per row: as
# a scalar subquery, which PostgreSQL never turns into a join. As EXISTS it became a semi-join
# that the planner, short of statistics on fresh claims, drove from ix_subscribers_status_id:
# every active subscriber probed against deliveries, 4 ms a take at 1,400 subscribers (0.2 ms of
# the server's CPU per digest, growing with the list).
_SUBSCRIBER_STATUS = select(s.status).where(s.id == d.subscriber_id).scalar_subquery()
_ACTIVE = _SUBSCRIBER_STATUS == "active"
# The rows here are named by id; their status is written ``status || ''`` so that no index can
# serve it and PostgreSQL finds them through the primary key. Without statistics that follow a
# planner tick's claims, it believed 'claimed' rare and scanned ix_deliveries_status_enqueued_at
# for every take: all the claimed rows (40,000 index entries, 1.3 ms, at 20,000 subscribers;
# linear in the rows claimed). plan.STATUS_BY_ID is the one expression, shared with the planner.
_STATUS = STATUS_BY_ID
# Whose a row is: a 'sending' row belongs to the task carrying its token (a lease, see
# service/digests/lease.py); a claimed row to the task carrying its token, or to any task when
# no batch holds it (a retry run in the foreground). A task stamped out by a newer enqueue
# takes nothing.
_MINE = ((_STATUS == "claimed") & ((d.batch_token == bindparam("token")) | d.batch_token.is_(None))) | (
    (_STATUS == "sending") & (d.batch_token == bindparam("token"))
)
_TAKE = (
    update(deliveries)
    .where(d.id.in_(bindparam("ids", expanding=True)), _MINE, _ACTIVE)
    .values(status="sending", batch_token=bindparam("token"), enqueued_at=bindparam("now"))
    .returning(d.id)
)
# Under a lease: the rows the lease made 'sending' that are still the task's, for an active
# subscriber. Read at the same moment the UPDATE would have checked them; the lease's own
# margin (holds() stops at half its length) is what keeps a lapsed lease from sending.
_HELD = select(d.id).where(d.id.in_(bindparam("ids", expanding=True)), _STATUS == "sending",
                           d.batch_token == bindparam("token"), _ACTIVE)
_SKIP_INACTIVE = (
    update(deliveries)
    .where(d.id.in_(bindparam("ids", expanding=True)), _STATUS.in_(("claimed", "sending")),
           _SUBSCRIBER_STATUS.is_distinct_from("active"))
    .values(status="skipped", error="subscriber no longer active")
)
_SKIP_EMPTY = (
    update(deliveries)
    .where(d.id.in_(bindparam("ids", expanding=True)), _STATUS.in_(("claimed", "sending")))
    .values(status="skipped", error="nothing new matched", paper_count=0)
)
# Its own statement per group, not a third part of the send's: erasing a subscriber locks their
# row, then their deliveries; a send that locked its delivery, then the subscriber, could deadlock
# with it and lose the record of a message already accepted.
_ADVANCE = (
    update(subscribers)
    .where(s.id.in_(bindparam("ids", expanding=True)))
    .values(last_digest_at=bindparam("built_at"), soft_bounces=0)
)

# A send is recorded unless the row is recorded sent already: a worker that sent on a lease that
# lapsed meanwhile must not overwrite the record of the one that took over.
# One UPDATE of the delivery's row holds the whole record (migration 0009): the papers' ids in rank
# order and their reasons as two JSON texts, and their highest id (window.already_sent reads by it).
# PostgreSQL: the statement goes prepared, in autocommit.
_RECORD_SENT_PG = ("UPDATE deliveries SET status = 'sent', sent_at = %s, message_id = %s, paper_count = %s, "
                   "error = NULL, attempts = attempts + 1, paper_ids = %s::json, reasons = %s::json, "
                   "last_paper_id = %s WHERE id = %s AND status <> 'sent'")
# SQLite (qmark): the same, committed at once.
_RECORD_SENT_SQLITE = ("UPDATE deliveries SET status = 'sent', sent_at = ?, message_id = ?, paper_count = ?, "
                       "error = NULL, attempts = attempts + 1, paper_ids = ?, reasons = ?, last_paper_id = ? "
                       "WHERE id = ? AND status <> 'sent'")


def reasons_record(match: Match) -> dict[str, object]:
    """What a delivery keeps of a match (``Delivery.reasons``): enough to show 'why' again in the archive
    (``web.public.content.stored_match`` reads it back). Empty parts are left out, and so are the
    score's parts, which nothing reads back (working them out took the worker 70 µs a digest)."""
    reasons = match.reasons
    record: dict[str, object] = {"score": match.score}
    if reasons.terms:
        record["terms"] = [{"term": h.term, "field": h.field, "spans": h.spans} for h in reasons.terms]
    if reasons.topics:
        record["topics"] = reasons.topics
    if reasons.authors:
        record["authors"] = reasons.authors
    if reasons.trending:
        record["trending"] = True
    if reasons.evidence:
        record["evidence"] = [{"slug": e.slug, "terms": e.terms, "category": e.category} for e in reasons.evidence]
    if (like := reasons.like) is not None:
        record["like"] = {"paper_id": like.paper_id, "title": like.title, "kind": like.kind}
    return record


def papers_record(matches: Sequence[Match]) -> tuple[str, str, int | None]:
    """A digest's papers as the send records them: their ids in rank order and their reasons
    records, each list one JSON text (orjson: the json module took 75 µs for a digest's 3 KB of
    reasons, orjson 11), and the highest id (None for an empty digest)."""
    ids = [m.paper_id for m in matches]
    reasons = orjson.dumps([reasons_record(m) for m in matches]).decode()
    return orjson.dumps(ids).decode(), reasons, max(ids) if ids else None


class Ledger:
    """A worker's writes about deliveries, on a connection of its own (see the module doc)."""

    def __init__(self, engine: Engine, lease: Lease | None = None, asynchronous: bool = True) -> None:
        self.postgres = engine.dialect.name == "postgresql"
        # PostgreSQL: under AUTOCOMMIT, ``begin()`` below begins nothing on the server, each
        # statement commits itself. SQLite: commits without fsync (db.ledger_connection says the cost).
        self.conn: Connection = ledger_connection(engine, asynchronous)
        # The send's statement goes to the driver itself (psycopg or sqlite3) on the same connection,
        # through a cursor made again whenever SQLAlchemy has reconnected meanwhile (``_raw``).
        driver = self.conn.connection.driver_connection
        assert driver is not None  # a checked-out connection holds its driver's
        self._driver: Any = driver
        self._cursor: Any = driver.cursor()
        # The column type's own conversion (UTC, refused when naive): SQLite keeps datetimes as
        # text, written exactly as SQLAlchemy writes them or comparisons between them go wrong.
        stamp = d.sent_at.type.dialect_impl(engine.dialect).bind_processor(engine.dialect)
        self._stamp: Callable[[datetime], Any] = stamp or (lambda value: value)
        # A worker's task sends under a lease; a foreground run (`digest run`) holds none.
        self.lease = lease
        self.asynchronous = asynchronous

    def close(self) -> None:
        self._cursor.close()
        close_ledger_connection(self.conn)

    def _raw(self) -> Any:
        """A driver cursor on the connection's current driver connection. After a lost connection
        (``_lost``) SQLAlchemy connects anew on the next use: a cursor kept from the first would
        write to a closed connection forever."""
        driver = self.conn.connection.driver_connection
        if driver is not self._driver:  # connected anew: the session's settings are the defaults
            assert driver is not None  # a checked-out connection holds its driver's
            self._configure(driver)
            self._driver, self._cursor = driver, driver.cursor()
        return self._cursor

    def _configure(self, driver: Any) -> None:
        """What ``db.ledger_connection`` set on the first connection, set on a new one."""
        if self.postgres:
            # sends must not wait for a COMMIT; set through SQLAlchemy, which puts the connection
            # back out of autocommit when it returns to the pool (set on the driver, it stayed so)
            self.conn.execution_options(isolation_level="AUTOCOMMIT")
            if self.asynchronous:
                driver.execute("SET synchronous_commit = off")
        elif self.asynchronous:
            driver.execute("PRAGMA synchronous=NORMAL")

    def _lost(self) -> None:
        """After a failed send: if the driver's connection is gone, tell SQLAlchemy (it only
        learns of failures in its own statements), so that the next use connects anew."""
        if getattr(self._driver, "closed", False):  # psycopg's; sqlite3 connections are not lost
            self.conn.invalidate()
            self.conn.rollback()  # ends the invalidated transaction, if any, so it may reconnect

    def holds(self, delivery_id: int) -> bool:
        """May this delivery still be sent by us? Asked right before each send."""
        return self.lease is None or self.lease.holds(delivery_id)

    def take(self, delivery_ids: Sequence[int], token: str | None) -> set[int]:
        """Rows of ours (see _MINE) → sending under TOKEN, only for an active subscriber; under a
        lease, the held rows still ours (see _HELD). A task whose lease lapsed takes nothing.
        The ids taken.

        ``attempts`` counts SMTP transactions that got an answer: it grows when a send is
        recorded (here) or a failure is (deliver.record_failure), not at the take, so a worker
        killed mid-group costs the rows it never tried no attempt (nor a longer retry delay)."""
        ids = [i for i in delivery_ids if self.holds(i)]
        if not ids:
            return set()
        with self.conn.begin():
            if self.lease is not None:
                return set(self.conn.execute(_HELD, {"ids": ids, "token": token}).scalars())
            params = {"ids": ids, "token": token, "now": datetime.now(UTC)}
            return set(self.conn.execute(_TAKE, params).scalars())

    def skip_inactive(self, delivery_ids: Sequence[int]) -> int:
        """Deliveries whose subscriber left (unsubscribed, paused, suppressed) since the claim."""
        with self.conn.begin():
            return self.conn.execute(_SKIP_INACTIVE, {"ids": list(delivery_ids)}).rowcount

    def skip_empty(self, delivery_ids: Sequence[int]) -> int:
        """Digests with nothing new, for subscribers who asked to skip empty ones."""
        with self.conn.begin():
            return self.conn.execute(_SKIP_EMPTY, {"ids": list(delivery_ids)}).rowcount

    def advance_windows(self, subscriber_ids: Sequence[int], built_at: datetime) -> None:
        """The next window starts where these digests' index was built; an accepted message ends
        a run of soft bounces. Should a crash lose this, the window merely starts earlier: the
        papers already sent (``Delivery.paper_ids``) are never offered again either way."""
        if subscriber_ids:
            with self.conn.begin():
                self.conn.execute(_ADVANCE, {"ids": list(subscriber_ids), "built_at": built_at})

    def sent(self, delivery_id: int, subscriber_id: int, matches: Sequence[Match], message_id: str,
             now: datetime) -> None:
        """Recorded at once, one delivery per transaction: a crash after this loses nothing.
        SUBSCRIBER_ID is the delivery's own (the row has it since migration 0009)."""
        ids, reasons, last = papers_record(matches)
        cursor = self._raw()
        params = (self._stamp(now), message_id, len(matches), ids, reasons, last, delivery_id)
        try:
            if self.postgres:
                cursor.execute(_RECORD_SENT_PG, params, prepare=True)
                return
            cursor.execute(_RECORD_SENT_SQLITE, params)
            self._driver.commit()
        except BaseException:
            if self.postgres:
                self._lost()
            else:
                self._driver.rollback()
            raise
