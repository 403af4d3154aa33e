"""Where a worker's CPU goes per digest: ``python bench/worker_phases.py [--subscribers 3000]
[--db postgresql|sqlite] [--batch 200] [--no-dkim] [--no-freeze]``.

The real ``deliver_batch`` in this process, as a worker's task runs it (bench/e2e.py's data: one
day of 300 papers, N due subscribers, claimed and stamped as the planner does), sending DKIM-signed
mail over SMTP to the lean sink (bench/_smtp_sink_process.py) in its own process. Each phase is a
module function that ``deliver_batch`` calls, wrapped here to add up this process's CPU time
(``time.process_time``: user + kernel) spent inside it. Unlike a sampling profiler on a busy
host, a thread waiting for a core is not counted as running. Printed: CPU ms per digest per phase,
the rest of ``deliver_batch`` (the loop itself, lookups, objects), and the whole; what the
database server and the sink spend is bench/e2e.py's and bench/ledger.py's to show.

The wrappers' own cost (two ``process_time`` calls each, ~0.5 µs apiece here, and a call level;
6 wrapped calls a digest) is measured on a wrapped no-op before the run and taken out: the part
inside a phase's clock from that phase, the part outside it from the rest and the whole. (Checked
once by alternating wrapped and plain batches: the difference, 0.03 ± 0.06 ms a digest, is within
the noise between batches.) The cyclic GC's time is printed too (``gc.callbacks``); it is already
inside whichever phase a collection happened to start in. The process freezes the heap between
batches as a worker does (``deliver.freeze_between_batches``; ``--no-freeze``: not); the full
collection that comes every 100 batches falls outside so short a run, so it is timed once at the
end and printed amortised, not added to the whole.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import statistics
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.e2e import Sink, bench_settings, ingest_day, insert_subscribers, make_dkim_key
from service.digests import deliver as deliver_module
from service.digests import record as record_module
from service.digests.plan import batches, claim_due, mark_enqueued
from service.mail import close_shared_backends
from service.mail.outgoing import Composer
from service.mail.toolkit import DeliveryTools
from service.storage.db import dispose_engines, session_scope
from service.storage.migrate import upgrade
from tests.support.services import create_pg_database, drop_pg_database

FULL_EVERY = 100  # batches between full collections under freeze_between_batches

# (owner, attribute, label): the functions deliver_batch reaches, by the name it calls them by
PHASES = [
    (deliver_module, "claimed_rows", "batch: load rows"),
    (deliver_module, "batch_index", "batch: paper index"),
    (deliver_module, "already_sent", "batch: already sent"),
    (deliver_module, "load_profiles", "batch: votes and seeds"),
    (deliver_module, "match_requests", "batch: match requests"),
    (deliver_module, "match_many", "batch: match"),
    (deliver_module, "load_day_status", "batch: day status"),
    (deliver_module, "marks_among", "digest: marks"),
    (deliver_module, "digest_context", "digest: context"),
    (deliver_module, "render_digest", "digest: render"),
    (Composer, "compose", "digest: compose + DKIM"),
    (deliver_module, "send_through_breaker", "digest: SMTP send"),
    (record_module.Ledger, "take", "ledger: take"),
    (record_module.Ledger, "sent", "ledger: record the send"),
    (record_module.Ledger, "advance_windows", "ledger: advance windows"),
    (deliver_module, "Ledger", "ledger: open"),
    (record_module.Ledger, "close", "ledger: close"),
]


def wrap(function: Callable[..., Any], label: str, spent: defaultdict[str, float], calls: Counter[str]) -> Callable[..., Any]:
    """FUNCTION, adding the CPU seconds inside each call under LABEL in SPENT, one in CALLS."""
    def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.process_time()
        try:
            return function(*args, **kwargs)
        finally:
            spent[label] += time.process_time() - started
            calls[label] += 1
    return timed


@contextmanager
def counted(spent: defaultdict[str, float], calls: Counter[str]) -> Iterator[None]:
    """Wrap every phase so that the CPU seconds inside it add up under its label."""
    originals = [(owner, name, getattr(owner, name)) for owner, name, _ in PHASES]
    for (owner, name, label), (_, _, function) in zip(PHASES, originals, strict=True):
        setattr(owner, name, wrap(function, label, spent, calls))
    try:
        yield
    finally:
        for owner, name, function in originals:
            setattr(owner, name, function)


def wrapper_cost(calls: int = 20_000, rounds: int = 7) -> tuple[float, float]:
    """CPU seconds a wrapper adds to one call: (inside the phase's clock, outside it), the median
    of ROUNDS rounds of CALLS calls of a wrapped no-op against the bare no-op."""
    def noop() -> None:
        return None

    inside, outside = [], []
    for _ in range(rounds):
        spent: defaultdict[str, float] = defaultdict(float)
        timed = wrap(noop, "noop", spent, Counter())
        started = time.process_time()
        for _ in range(calls):
            noop()
        bare = time.process_time() - started
        started = time.process_time()
        for _ in range(calls):
            timed()
        extra = time.process_time() - started - bare
        inside.append(spent["noop"] / calls)
        outside.append((extra - spent["noop"]) / calls)
    return statistics.median(inside), statistics.median(outside)


@contextmanager
def gc_clock(spent: defaultdict[int, float], runs: Counter[int]) -> Iterator[None]:
    """Add up the CPU seconds the cyclic GC runs, per generation collected, and count the runs."""
    started = [0.0]

    def clock(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started[0] = time.process_time()
        else:
            spent[info["generation"]] += time.process_time() - started[0]
            runs[info["generation"]] += 1

    gc.callbacks.append(clock)
    try:
        yield
    finally:
        gc.callbacks.remove(clock)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=3000)
    parser.add_argument("--db", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--no-dkim", action="store_true")
    parser.add_argument("--no-freeze", action="store_true",
                        help="leave the GC as a process that does not call deliver.freeze_between_batches")
    args = parser.parse_args(argv)
    name = f"papermail_bench_phases_{os.getpid()}"
    sink = Sink("lean")
    url = create_pg_database(name) if args.db == "postgresql" else None
    try:
        with tempfile.TemporaryDirectory(prefix="papermail-bench-phases-") as tmp:
            data = Path(tmp)
            key = None if args.no_dkim else make_dkim_key(data)
            settings = bench_settings(data, url or f"sqlite:///{data / 'papermail.db'}", sink.port, args.batch, key)
            run(settings, args, sink)
    finally:
        close_shared_backends()
        dispose_engines()
        sink.close()
        if url:
            drop_pg_database(name)


def run(settings: Any, args: argparse.Namespace, sink: Sink) -> None:
    now = datetime.now(UTC)
    upgrade(settings)
    ingest_day(settings, now - timedelta(hours=1), args.seed)
    insert_subscribers(settings, args.subscribers, args.seed)
    with session_scope(settings) as session:
        ids = [i for chunk in claim_due(session, now) for i in chunk]
    queued = []
    for batch in batches(ids, settings.digest_batch_size):
        token = os.urandom(8).hex()
        with session_scope(settings) as session:
            mark_enqueued(session, batch, now, token)
        queued.append((batch, token))
    tools = DeliveryTools.from_settings(settings)
    if not args.no_freeze:  # as a worker process does at its start
        deliver_module.freeze_between_batches(FULL_EVERY)
    warm, rest = queued[:1], queued[1:]  # the first batch compiles templates and fills caches
    for batch, token in warm:
        deliver_module.deliver_batch(settings, batch, token, tools, now=now)
    sink.ask("reset")
    inside, outside = wrapper_cost()
    spent: defaultdict[str, float] = defaultdict(float)
    calls: Counter[str] = Counter()
    collecting: defaultdict[int, float] = defaultdict(float)
    collections: Counter[int] = Counter()
    sent = 0
    with counted(spent, calls), gc_clock(collecting, collections):
        started, wall = time.process_time(), time.perf_counter()
        for batch, token in rest:
            sent += deliver_module.deliver_batch(settings, batch, token, tools, now=now).sent
        total, wall = time.process_time() - started, time.perf_counter() - wall
    messages, _, _ = sink.ask(f"wait {sent} 60")
    per = 1000 / max(sent, 1)
    wrapped = sum(calls.values())
    # what the wrappers added: taken out of the phases (inside) and of the rest and the whole
    phases = {label: seconds - calls[label] * inside for label, seconds in spent.items()}
    whole = total - wrapped * (inside + outside)
    print(f"{args.db}, {'no DKIM' if args.no_dkim else 'DKIM RSA-2048'}: {sent} digests after a warm-up batch "
          f"(sink holds {messages}), {sent / wall:,.0f}/s on one core; CPU ms per digest:")
    for label, seconds in sorted(phases.items(), key=lambda item: -item[1]):
        print(f"  {label:<28} {seconds * per:6.3f}")
    print(f"  {'rest of deliver_batch':<28} {(whole - sum(phases.values())) * per:6.3f}")
    print(f"  {'whole':<28} {whole * per:6.3f}  (the worker's share of the 2.5 ms target across every process)")
    print(f"  (taken out: the wrappers' {wrapped / max(sent, 1):.1f} calls a digest at {(inside + outside) * 1e6:.2f} µs, "
          f"{wrapped * (inside + outside) * per:.3f} ms a digest. The cyclic GC ran "
          f"{sum(collecting.values()) * per:.3f} ms a digest, inside the figures above; generation 0/1/2: "
          + ", ".join(f"{collections[g]} runs {collecting[g] * per:.3f} ms" for g in range(3)) + ")")
    if not args.no_freeze:
        # the full collection comes every FULL_EVERY batches, after this run's end: timed here once
        started = time.process_time()
        gc.unfreeze()
        gc.collect()
        gc.freeze()
        full = time.process_time() - started
        print(f"  (frozen between batches: a full collection, every {FULL_EVERY} batches, took {full * 1000:.0f} ms "
              f"here, {full * 1000 / (FULL_EVERY * settings.digest_batch_size):.3f} ms a digest amortised, not in the whole)")


if __name__ == "__main__":
    main()
