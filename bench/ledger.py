"""Benchmark what a worker writes per digest: ``python bench/ledger.py [--deliveries 2000]
[--db postgresql,sqlite] [--seed 5]``.

The ledger alone (service/digests/record.py), as a worker's task drives it: per batch
(DIGEST_BATCH_SIZE) a lease on its rows (service/digests/lease.py) and a ledger under it; per
group of TAKE_GROUP the take (a read, under the lease), each delivery recorded sent with its ~10
papers and their reasons, the group's windows advanced. No rendering, no SMTP. The data is bench/e2e.py's (one
day of papers through ingest, N due subscribers, their deliveries claimed and stamped as the
planner does, their matches from the worker's own matching code, reasons worked out beforehand
as rendering would). On PostgreSQL a fresh database (``papermail_bench_ledger_<pid>``, dropped
at the end); on SQLite a temporary DATA_DIR.

Printed per database, in ms per digest: this process's CPU (time.process_time) for the whole
loop and for ``sent`` alone; on PostgreSQL the CPU of the database's backends for the whole loop
(bench/e2e.py's /proc accounting: clock ticks of 10 ms, so use a thousand deliveries or more),
of the ledger connection's backend for ``sent`` alone (/proc/<pid>/schedstat, to the
nanosecond), and of the server's shared processes (WAL writer, checkpointer...).
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sqlalchemy import func, select

from bench.e2e import cpu_seconds, ingest_day, insert_subscribers
from config.settings import Settings
from service.digests.deliver import TAKE_GROUP
from service.digests.lease import Lease
from service.digests.plan import claim_due, mark_enqueued
from service.digests.record import Ledger
from service.digests.window import already_sent, build_index, match_requests
from service.matching.match import match_many
from service.matching.records import Match
from service.storage.db import dispose_engines, get_engine, session_scope
from service.storage.migrate import upgrade
from service.storage.models import Delivery, Subscriber
from tests.support.services import create_pg_database, drop_pg_database

TOKEN = "bench-ledger"


@dataclass
class Work:
    delivery_id: int
    subscriber_id: int
    matches: list[Match]


def settings_for(data_dir: Path, database_url: str | None) -> Settings:
    extra: dict[str, Any] = {"database_url": database_url} if database_url else {}
    return Settings(
        _env_file=None, environment="test", secret_key=secrets.token_hex(32), data_dir=data_dir,
        base_url="https://papermail.example", **extra,
    )


def prepare(settings: Settings, n: int, seed: int, now: datetime) -> list[Work]:
    """Papers, N subscribers, their deliveries claimed and stamped; each one's matches."""
    upgrade(settings)
    ingest_day(settings, now - timedelta(hours=1), seed)
    insert_subscribers(settings, n, seed)
    lookback = timedelta(days=settings.lookback_days)
    with session_scope(settings) as session:
        ids = [i for chunk in claim_due(session, now) for i in chunk]
        mark_enqueued(session, ids, now, TOKEN)
    with session_scope(settings) as session:
        rows = session.execute(select(Delivery.id, Subscriber).join(Subscriber, Subscriber.id == Delivery.subscriber_id)
                               .order_by(Delivery.id)).all()
        subscribers = [s for _, s in rows]
        index, papers = build_index(session, now, lookback)
        sent = already_sent(session, [s.id for s in subscribers], papers)
        results = match_many(match_requests(subscribers, sent, now, lookback, papers), index)
        work = [Work(delivery_id, s.id, list(matches)) for (delivery_id, s), matches in zip(rows, results, strict=True)]
    for w in work:
        for m in w.matches:
            _ = m.reasons  # rendering reads them before the send is recorded
    return work


def backend_pid(ledger: Ledger) -> int | None:
    if not ledger.postgres:
        return None
    pid = int(ledger.conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one())
    ledger.conn.commit()
    return pid


def proc_cpu(pid: int) -> float:
    """CPU seconds PID has run, to the nanosecond (/proc/<pid>/schedstat; /proc/<pid>/stat counts
    10 ms clock ticks)."""
    return int((Path("/proc") / str(pid) / "schedstat").read_text().split()[0]) / 1e9


def run_ledger(settings: Settings, work: Sequence[Work], now: datetime, database: str) -> dict[str, float]:
    """The ledger's statements for every delivery, as a worker's task issues them: per batch a
    lease on its rows and a ledger under it, per group the take and the windows, per digest the
    send. PostgreSQL's CPU is counted for every backend of DATABASE (the lease's included)."""
    engine = get_engine(settings)
    postgres = engine.dialect.name == "postgresql"
    totals = dict.fromkeys(("worker", "sent", "backend", "backend sent", "shared"), 0.0)
    server_before = cpu_seconds({}, database) if postgres else None
    started = time.perf_counter()
    for first in range(0, len(work), settings.digest_batch_size):
        batch = work[first:first + settings.digest_batch_size]
        started_cpu = time.process_time()
        lease = Lease.take(engine, [w.delivery_id for w in batch], TOKEN, settings.delivery_lease_seconds)
        ledger = Ledger(engine, lease)
        try:
            pid = backend_pid(ledger)
            for start in range(0, len(batch), TAKE_GROUP):
                group = batch[start:start + TAKE_GROUP]
                taken = ledger.take([w.delivery_id for w in group], TOKEN)
                done = []
                for w in group:
                    if w.delivery_id not in taken:
                        continue
                    backend = proc_cpu(pid) if pid else 0.0
                    before = time.process_time()  # after the /proc read: ~30 µs not the ledger's
                    ledger.sent(w.delivery_id, w.subscriber_id, w.matches, f"<{w.delivery_id}@bench>", now)
                    totals["sent"] += time.process_time() - before
                    totals["backend sent"] += (proc_cpu(pid) - backend) if pid else 0.0
                    done.append(w.subscriber_id)
                ledger.advance_windows(done, now)
        finally:
            ledger.close()
        totals["worker"] += time.process_time() - started_cpu
    totals["wall"] = time.perf_counter() - started
    if server_before is not None:
        server = cpu_seconds({}, database)
        totals["backend"] = server["postgres"] - server_before["postgres"]
        totals["shared"] = server["postgres (shared)"] - server_before["postgres (shared)"]
    return totals


def check(settings: Settings, work: Sequence[Work]) -> tuple[int, int]:
    with session_scope(settings) as session:
        sent = session.scalar(select(func.count()).select_from(Delivery).where(Delivery.status == "sent")) or 0
        papers = sum(len(ids or ()) for ids in session.scalars(select(Delivery.paper_ids)))
    want = sum(len(w.matches) for w in work)
    if sent != len(work) or papers != want:
        raise SystemExit(f"recorded {sent} sends and {papers} papers, expected {len(work)} and {want}")
    return sent, papers


def bench(kind: str, n: int, seed: int, tmp: Path) -> None:
    now = datetime.now(UTC)
    name = f"papermail_bench_ledger_{os.getpid()}"
    url = create_pg_database(name) if kind == "postgresql" else None
    try:
        settings = settings_for(tmp / kind, url)
        work = prepare(settings, n, seed, now)
        figures = run_ledger(settings, work, now, name)
        sent, papers = check(settings, work)
    finally:
        dispose_engines()
        if url:
            drop_pg_database(name)
    per = {k: 1000 * v / len(work) for k, v in figures.items()}
    line = (f"{kind}: {sent} sends, {papers / sent:.1f} papers each, {len(work) / figures['wall']:,.0f}/s; "
            f"CPU ms per digest: worker {per['worker']:.3f} (sent {per['sent']:.3f})")
    if kind == "postgresql":
        line += (f", PostgreSQL backend {per['backend']:.3f} (sent {per['backend sent']:.3f}), "
                 f"shared {per['shared']:.3f}")
    print(line, flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=2000)
    parser.add_argument("--db", default="postgresql,sqlite")
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="papermail-bench-ledger-") as tmp:
        for kind in args.db.split(","):
            bench(kind, args.deliveries, args.seed, Path(tmp))


if __name__ == "__main__":
    main()
