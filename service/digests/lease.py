"""A worker's lease on the deliveries of the batch it is sending.

When a task starts, one conditional UPDATE turns the batch's claimed rows that carry the task's
token into 'sending' under its lease (``enqueued_at`` is the lease's last renewal): a late or
duplicated task, whose token is no longer the rows' current one, takes nothing. A heartbeat
thread renews the lease every quarter of DELIVERY_LEASE_SECONDS on the rows still held. When
the worker dies the renewals stop, and once the lease has run out the sweep
(``service.digests.plan.requeue_expired``) re-enqueues the rows under a new token.

Before each send the worker asks ``holds(id)``: false once the row was taken back, or once the
lease went unrenewed for half its length, so a process that was paused (or cut off from the
database) never sends on a lease that may have lapsed meanwhile.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from types import TracebackType
from typing import cast

from sqlalchemy import Engine, Table, Update, bindparam, update
from sqlalchemy.exc import SQLAlchemyError

from service.digests.plan import STATUS_BY_ID
from service.storage.models import Delivery

log = logging.getLogger(__name__)

deliveries = cast(Table, Delivery.__table__)
d = deliveries.c
# Rows named by id: their status written so that no index serves it (plan.STATUS_BY_ID says why).
_STATUS = STATUS_BY_ID
_TAKE = (
    update(deliveries)
    .where(d.id.in_(bindparam("ids", expanding=True)), _STATUS == "claimed", d.batch_token == bindparam("token"))
    .values(status="sending", enqueued_at=bindparam("now"))
    .returning(d.id)
)
_RENEW = (
    update(deliveries)
    .where(d.id.in_(bindparam("ids", expanding=True)), _STATUS == "sending", d.batch_token == bindparam("token"))
    .values(enqueued_at=bindparam("now"))
    .returning(d.id)
)


class LeaseLost(Exception):
    """The rows this task was sending are no longer its own: it must stop without sending."""


class Lease:
    """The rows one task holds; use as a context manager to keep it renewed while it works."""

    def __init__(self, engine: Engine, token: str, seconds: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.engine = engine
        self.token = token
        self.seconds = seconds
        self._clock = clock
        self._held: set[int] = set()
        self._renewed = clock()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @classmethod
    def take(cls, engine: Engine, delivery_ids: Sequence[int], token: str, seconds: float,
             clock: Callable[[], float] = time.monotonic) -> Lease:
        """Lease the claimed rows among DELIVERY_IDS whose current token is TOKEN."""
        lease = cls(engine, token, seconds, clock)
        lease._held = lease._write(_TAKE, delivery_ids)
        lease._renewed = clock()
        return lease

    @property
    def ids(self) -> list[int]:
        with self._lock:
            return sorted(self._held)

    def holds(self, delivery_id: int) -> bool:
        with self._lock:
            return delivery_id in self._held and self._clock() - self._renewed < self.seconds / 2

    def renew(self) -> set[int]:
        """Stamp the rows still held (those sent or failed since drop out); returns them."""
        started = self._clock()
        held = self._write(_RENEW, self.ids)
        with self._lock:
            self._held &= held
            self._renewed = started
        return held

    def _write(self, statement: Update, ids: Sequence[int]) -> set[int]:
        if not ids:
            return set()
        with self.engine.begin() as conn:
            params = {"ids": list(ids), "token": self.token, "now": datetime.now(UTC)}
            return set(conn.execute(statement, params).scalars())

    # -- the heartbeat ---------------------------------------------------------------------
    def _beat(self) -> None:
        while not self._stop.wait(self.seconds / 4):
            try:
                if not self.renew():
                    return  # nothing left to hold
            except SQLAlchemyError as exc:  # the database away for a moment: holds() runs out
                log.warning("could not renew the lease of batch %s: %s", self.token, str(exc).splitlines()[0])

    def __enter__(self) -> Lease:
        self._thread = threading.Thread(target=self._beat, name=f"lease-{self.token}", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        # Rows still held after an error stay 'sending' and lapse: the sweep re-enqueues them
        # one lease later, not at once, so a digest that crashes its task cannot spin.
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
