"""The delivery state changes a worker writes while it sends, each its own small transaction.

Every write here is one statement that commits by itself: taking a group of deliveries
(claimed → sending, or renewing the lease on a worker's 'sending' rows), skipping, advancing
the subscribers' windows, and recording a send. On PostgreSQL the ledger's connection is in
autocommit mode, so each costs one round trip to the server (not BEGIN, the statement,
COMMIT), and a send is recorded with one statement that updates the delivery and inserts its
papers together. SQLite, in process, runs the same changes as ordinary short transactions,
committed in WAL mode with ``synchronous=NORMAL`` (``storage.db.ledger_connection``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import cast

from sqlalchemy import Connection, Engine, Table, bindparam, exists, text, update

from service.digests.compose import reasons_record
from service.digests.lease import Lease
from service.matching.records import Match
from service.storage.db import close_ledger_connection, ledger_connection
from service.storage.models import Delivery, DeliveryPaper, Subscriber

# Declarative stubs type __table__ as any FromClause; a mapped class's own table is a Table.
deliveries, subscribers, delivery_papers = (cast(Table, m.__table__) for m in (Delivery, Subscriber, DeliveryPaper))
d, s = deliveries.c, subscribers.c

_ACTIVE = exists().where(s.id == d.subscriber_id, s.status == "active")
# The rows here are named by id; their status is written ``status || ''`` so that no index can
# serve it and PostgreSQL finds them through the primary key. Without statistics that follow a
# planner tick's claims, it believed 'claimed' rare and scanned ix_deliveries_status_enqueued_at
# for every take: all the claimed rows (40,000 index entries, 1.3 ms, at 20,000 subscribers;
# linear in the rows claimed). plan.CLAIMED_BY_ID says the same for the planner's stamp.
_STATUS = d.status.concat("")
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
_SKIP_INACTIVE = (
    update(deliveries)
    .where(d.id.in_(bindparam("ids", expanding=True)), _STATUS.in_(("claimed", "sending")), ~_ACTIVE)
    .values(status="skipped", error="subscriber no longer active")
)
_SKIP_EMPTY = (
    update(deliveries)
    .where(d.id.in_(bindparam("ids", expanding=True)), _STATUS.in_(("claimed", "sending")))
    .values(status="skipped", error="nothing new matched", paper_count=0)
)
_ADVANCE = (
    update(subscribers)
    .where(s.id.in_(bindparam("ids", expanding=True)))
    .values(last_digest_at=bindparam("built_at"), soft_bounces=0)
)
# A send is recorded unless the row is recorded sent already: a worker that sent on a lease
# that lapsed meanwhile must not insert the papers a second time.
_MARK_SENT = (
    update(deliveries)
    .where(d.id == bindparam("delivery_id"), d.status != "sent")
    .values(status="sent", sent_at=bindparam("now"), message_id=bindparam("message_id"),
            paper_count=bindparam("paper_count"), error=None, attempts=d.attempts + 1)
)
# PostgreSQL: the delivery marked sent and its papers inserted by one statement. The papers go
# as one JSON document, [[paper id, reasons], ...] in rank order: one json.dumps, where arrays
# of JSON strings cost psycopg a regular expression per element.
_RECORD_SENT_PG = text("""
    WITH sent AS (
        UPDATE deliveries SET status = 'sent', sent_at = :now, message_id = :message_id,
               paper_count = :paper_count, error = NULL, attempts = attempts + 1
        WHERE id = :delivery_id AND status <> 'sent'
        RETURNING id, subscriber_id
    )
    INSERT INTO delivery_papers (delivery_id, paper_id, subscriber_id, rank, reasons)
    SELECT sent.id, (paper.doc ->> 0)::bigint, sent.subscriber_id, paper.rank, paper.doc -> 1
    FROM sent, json_array_elements(CAST(:papers AS json)) WITH ORDINALITY AS paper(doc, rank)
""")


# SQLite's paramstyle (qmark); PostgreSQL records a send with _RECORD_SENT_PG instead.
_INSERT_PAPERS_DBAPI = ("INSERT INTO delivery_papers (delivery_id, paper_id, subscriber_id, rank, reasons) "
                        "VALUES (?, ?, ?, ?, ?)")


class Ledger:
    """A worker's writes about deliveries, on a connection of its own (see the module doc)."""

    def __init__(self, engine: Engine, lease: Lease | None = None) -> None:
        self.postgres = engine.dialect.name == "postgresql"
        # PostgreSQL: under AUTOCOMMIT, ``begin()`` below begins nothing on the server, each
        # statement commits itself. SQLite: commits without fsync (db.ledger_connection says the cost).
        self.conn: Connection = ledger_connection(engine)
        # A worker's task sends under a lease; a foreground run (`digest run`) holds none.
        self.lease = lease

    def close(self) -> None:
        close_ledger_connection(self.conn)

    def holds(self, delivery_id: int) -> bool:
        """May this delivery still be sent by us? Asked right before each send."""
        return self.lease is None or self.lease.holds(delivery_id)

    def take(self, delivery_ids: Sequence[int], token: str | None) -> set[int]:
        """Rows of ours (see _MINE) → sending under TOKEN, only for an active subscriber; the
        stamp renews the lease. A task whose lease lapsed takes nothing. The ids taken.

        ``attempts`` counts SMTP transactions that got an answer: it grows when a send is
        recorded (here) or a failure is (deliver.record_failure), not at the take, so a worker
        killed mid-group costs the rows it never tried no attempt (nor a longer retry delay)."""
        ids = [i for i in delivery_ids if self.holds(i)]
        if not ids:
            return set()
        with self.conn.begin():
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
        papers already sent (delivery_papers) are never offered again either way."""
        if subscriber_ids:
            with self.conn.begin():
                self.conn.execute(_ADVANCE, {"ids": list(subscriber_ids), "built_at": built_at})

    def sent(self, delivery_id: int, subscriber_id: int, matches: Sequence[Match], message_id: str,
             now: datetime) -> None:
        """Recorded at once, one delivery per transaction: a crash after this loses nothing."""
        marks = {"delivery_id": delivery_id, "now": now, "message_id": message_id, "paper_count": len(matches)}
        records = [reasons_record(m) for m in matches]
        with self.conn.begin():
            if self.postgres and matches:
                papers = json.dumps([[m.paper_id, record] for m, record in zip(matches, records, strict=True)])
                self.conn.execute(_RECORD_SENT_PG, {**marks, "papers": papers})
                return
            if self.conn.execute(_MARK_SENT, marks).rowcount == 0:
                return  # recorded by the worker that took it over
            if matches:
                # Straight to the driver's executemany, the JSON encoded here as the JSON type
                # would: SQLAlchemy's per-row parameter processing was a fifth of recording a send.
                self.conn.exec_driver_sql(_INSERT_PAPERS_DBAPI, [
                    (delivery_id, m.paper_id, subscriber_id, rank, json.dumps(record))
                    for rank, (m, record) in enumerate(zip(matches, records, strict=True), start=1)
                ])
