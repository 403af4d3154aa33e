"""Where a worker's CPU goes per digest: ``python bench/worker_phases.py [--subscribers 3000]
[--db postgresql|sqlite] [--batch 200] [--no-dkim]``.

The real ``deliver_batch`` in this process, as a worker's task runs it (bench/e2e.py's data: one
day of 300 papers, N due subscribers, claimed and stamped as the planner does), sending DKIM-signed
mail over SMTP to the lean sink (bench/_smtp_sink_process.py) in its own process. Each phase is a
module function that ``deliver_batch`` calls, wrapped here to add up this process's CPU time
(``time.process_time``: user + kernel) spent inside it. Unlike a sampling profiler on a busy
host, a thread waiting for a core is not counted as running. Printed: CPU ms per digest per phase,
the rest of ``deliver_batch`` (the loop itself, lookups, objects), and the whole; what the
database server and the sink spend is bench/e2e.py's and bench/ledger.py's to show.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections import Counter
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

# (owner, attribute, label): the functions deliver_batch reaches, by the name it calls them by
PHASES = [
    (deliver_module, "batch_index", "batch: paper index"),
    (deliver_module, "already_sent", "batch: already sent"),
    (deliver_module, "load_profiles", "batch: votes and seeds"),
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
]


@contextmanager
def counted(spent: Counter[str]) -> Iterator[None]:
    """Wrap every phase so that the CPU seconds inside it add up under its label."""
    originals = [(owner, name, getattr(owner, name)) for owner, name, _ in PHASES]

    def wrap(function: Callable[..., Any], label: str) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.process_time()
            try:
                return function(*args, **kwargs)
            finally:
                spent[label] += time.process_time() - started
        return timed

    for (owner, name, label), (_, _, function) in zip(PHASES, originals, strict=True):
        setattr(owner, name, wrap(function, label))
    try:
        yield
    finally:
        for owner, name, function in originals:
            setattr(owner, name, function)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=3000)
    parser.add_argument("--db", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--no-dkim", action="store_true")
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
    warm, rest = queued[:1], queued[1:]  # the first batch compiles templates and fills caches
    for batch, token in warm:
        deliver_module.deliver_batch(settings, batch, token, tools, now=now)
    sink.ask("reset")
    spent: Counter[str] = Counter()
    sent = 0
    with counted(spent):
        started, wall = time.process_time(), time.perf_counter()
        for batch, token in rest:
            sent += deliver_module.deliver_batch(settings, batch, token, tools, now=now).sent
        total, wall = time.process_time() - started, time.perf_counter() - wall
    messages, _, _ = sink.ask(f"wait {sent} 60")
    per = 1000 / max(sent, 1)
    print(f"{args.db}, {'no DKIM' if args.no_dkim else 'DKIM RSA-2048'}: {sent} digests after a warm-up batch "
          f"(sink holds {messages}), {sent / wall:,.0f}/s on one core; CPU ms per digest:")
    for label, seconds in sorted(spent.items(), key=lambda item: -item[1]):
        print(f"  {label:<28} {seconds * per:6.3f}")
    print(f"  {'rest of deliver_batch':<28} {(total - sum(spent.values())) * per:6.3f}")
    print(f"  {'whole':<28} {total * per:6.3f}  (the worker's share of the 2.5 ms target across every process)")


if __name__ == "__main__":
    main()
