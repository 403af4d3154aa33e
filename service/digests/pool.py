"""`digest run` over one process per core: the planned batches shared out to forked children.

Where the pool's extra CPU went (bench/embedded.py, 4,000 digests, CPU per process): each spawned
child paid ~0.75 s importing the service and ~0.45 s warming what the first batch builds (the
paper index, compiled templates, per-paper facts and snippets), both again in every child: 0.5 ms
a digest of a 4,000-digest run, half of it at 8,000. Steady batches cost the same in either mode.
So the parent sends the first batch itself, which warms all of that, and then forks the children
(Linux), which start with its imports and caches instead of building their own. Two processes
writing one SQLite file were not the cost: recording a send took 0.02 ms more a digest, no more.

Exactly once across the pool: a child that dies (killed, out of memory) breaks the pool, which
then stops the others; once every child has exited, the batches not reported back are delivered
again here, under their own tokens. What a dead child recorded as sent stays sent; what it took
and never sent is sent now; a digest it had accepted and not yet recorded is sent again with the
same Message-ID (the window ``deliver.py`` describes: at most one per child of the broken pool).
"""

from __future__ import annotations

import gc
import logging
import multiprocessing
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import replace
from datetime import datetime

from sqlalchemy import func, select

from config.settings import Settings
from service.digests.deliver import BatchOutcome, deliver_batch
from service.mail.toolkit import DeliveryTools
from service.rendering import EmailRenderer
from service.storage.db import get_engine, session_scope
from service.storage.models import Delivery

log = logging.getLogger(__name__)

# Batches per process below which `digest run` sends in its own process.
POOL_MIN_BATCHES = 2

Queued = tuple[list[int], str]

# A child builds its own relay connection, composer and share of the send rate once, in the
# pool's initializer, and reuses them for every batch it is given.
_child_tools: DeliveryTools | None = None


def forking() -> bool:
    """Fork where it is safe to (Linux). Elsewhere spawn: macOS's system libraries do not
    survive a fork, and Windows has none."""
    return sys.platform.startswith("linux")


def _start_child(settings: Settings, renderer: EmailRenderer | None) -> None:
    global _child_tools
    own = DeliveryTools.from_settings(settings)
    # A forked child keeps the parent's renderer: compiled templates and its caches, warm.
    _child_tools = own if renderer is None else replace(own, renderer=renderer)


def _deliver_in_child(settings: Settings, ids: list[int], token: str, now: datetime) -> BatchOutcome:
    assert _child_tools is not None, "the pool's initializer builds the tools"
    return deliver_batch(settings, ids, token, _child_tools, now=now)


def settled(settings: Settings, ids: Sequence[int]) -> BatchOutcome:
    """How many of IDS are sent, skipped or failed already."""
    with session_scope(settings) as session:
        rows = session.execute(select(Delivery.status, func.count()).where(Delivery.id.in_(ids))
                               .group_by(Delivery.status))
        counts: dict[str, int] = {status: count for status, count in rows}
    return BatchOutcome(sent=counts.get("sent", 0), skipped=counts.get("skipped", 0), failed=counts.get("failed", 0))


def _in_pool(settings: Settings, queued: Sequence[Queued], now: datetime, tools: DeliveryTools,
             on_batch: Callable[[BatchOutcome], None], processes: int, total: BatchOutcome) -> list[Queued]:
    """QUEUED over PROCESSES children; the batches none reported back (the pool broke)."""
    fork = forking()
    share = settings.model_copy(update={"send_rate_per_second": settings.send_rate_per_second / processes})
    context = multiprocessing.get_context("fork" if fork else "spawn")
    # Nothing of the parent's may be used in two processes: SQLite forbids a connection crossing
    # a fork, and the relay connection would carry two conversations. Both are reopened on use;
    # the engine stays, and with it the statements it compiled (a child would compile them anew).
    tools.backend.close()
    get_engine(settings).dispose()
    unfinished: dict[Future[BatchOutcome], Queued] = {}
    unsubmitted: list[Queued] = []
    with ProcessPoolExecutor(max_workers=processes, mp_context=context, initializer=_start_child,
                             initargs=(share, tools.renderer if fork else None)) as pool:
        for ids, token in queued:
            try:
                unfinished[pool.submit(_deliver_in_child, share, ids, token, now)] = (ids, token)
            except BrokenProcessPool:  # a child died already
                unsubmitted.append((ids, token))
        for future in as_completed(list(unfinished)):
            try:
                outcome = future.result()
            except BrokenProcessPool:
                continue  # left in unfinished; the pool is stopping its other children
            del unfinished[future]
            on_batch(outcome)
            total.add(outcome)
    # Leaving the with-block joined every child: none can still be sending what comes back.
    return [*unfinished.values(), *unsubmitted]


def deliver_queued(
    settings: Settings, queued: Sequence[Queued], now: datetime, tools: DeliveryTools,
    on_batch: Callable[[BatchOutcome], None], processes: int = 1,
) -> BatchOutcome:
    """Send the planned batches: in this process with TOOLS, or over PROCESSES processes, each
    with a relay connection of its own and its share of SEND_RATE_PER_SECOND (the embedded
    limiter is per process). The memory backend, being per process, stays here."""
    total = BatchOutcome()

    def here(batches: Sequence[Queued]) -> None:
        for ids, token in batches:
            outcome = deliver_batch(settings, ids, token, tools, now=now)
            on_batch(outcome)
            total.add(outcome)

    here(queued[:1])  # builds the paper index, compiled templates and caches the rest reuse
    rest = queued[1:]
    if not rest:
        return total
    # What the first batch built lives as long as the run: frozen, the full collections that its
    # size made costly (0.14 ms a digest, bench/embedded.py) skip it, and so do forked children,
    # whose collections would otherwise touch, and copy, every page of it.
    gc.freeze()
    try:
        # Worth a pool from two batches a process (400 digests by default), not for a run of a few.
        processes = min(processes, len(queued) // POOL_MIN_BATCHES, len(rest))
        if processes <= 1 or settings.mail_backend == "memory":
            here(rest)
            return total
        left = _in_pool(settings, rest, now, tools, on_batch, processes, total)
        if left:
            log.warning("a digest process died; sending its %d unfinished batches here", len(left))
        for ids, token in left:
            # What a dead child finished is in the database; its report died with it.
            done = settled(settings, ids)
            again = deliver_batch(settings, ids, token, tools, now=now)
            again.ignored -= done.sent + done.skipped + done.failed  # not ignored: counted just above
            done.add(again)
            on_batch(done)
            total.add(done)
    finally:
        gc.unfreeze()
    return total
