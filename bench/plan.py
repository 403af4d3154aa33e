"""Benchmark planning at scale: ``python bench/plan.py [--subscribers 1000000] [--database sqlite|postgresql]
[--batch 200]``.

Loads N active subscribers, all due at one moment (daily, five timezones, send hours before it),
into a fresh database: a SQLite file in a temporary DATA_DIR (the embedded default) or a fresh
PostgreSQL database on 127.0.0.1:5432 (``papermail_bench_plan_<pid>``, dropped at the end).
Then a fresh process runs the planner as beat does (``service.digests.run.plan``: claim every
due delivery in chunks, stamp and hand over each batch as soon as its chunk is committed) and
prints the time, the claims and batches, and its peak RSS beside the 300 MB target. The batches
are counted, not put on a broker: the figure is the planner's own memory, which a broker's
client adds a constant to. Run it twice on the same data (``--twice``) to see a second tick
claim nothing. Targets are printed, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import secrets
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sqlalchemy import func, insert, select

from config.settings import Settings
from service.storage.db import dispose_engines, session_scope
from service.storage.migrate import upgrade
from service.storage.models import Delivery, Subscriber

TARGET_RSS_MB = 300
AT = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)  # a Tuesday: daily and weekdays subscribers alike are due
# (timezone, latest local send hour still due at AT): every subscriber below is due at AT.
ZONES = (("UTC", 11), ("Europe/Berlin", 12), ("Europe/London", 11), ("Asia/Kolkata", 17), ("America/New_York", 6))
LONG_AGO = datetime(2026, 1, 1, tzinfo=UTC)
INSERT_CHUNK = 20_000


def settings_for(data_dir: Path, database_url: str | None, batch: int) -> Settings:
    extra: dict[str, Any] = {"database_url": database_url} if database_url else {}
    return Settings(
        _env_file=None, environment="test", secret_key=secrets.token_hex(32), data_dir=data_dir,
        mail_backend="memory", digest_batch_size=batch, **extra,
    )


def subscriber_rows(start: int, count: int, rng: random.Random) -> list[dict[str, object]]:
    # The planner reads id, status, timezone, frequency, send hour, weekday and confirmation only.
    prefs = {"topics": ["llm"], "frequency": "daily"}
    rows = []
    for i in range(start, start + count):
        tz, latest = ZONES[i % len(ZONES)]
        rows.append({
            "email": f"reader{i:07d}@example{i % 97}.org", "status": "active", "timezone": tz,
            "send_hour": rng.randint(0, latest), "frequency": "daily", "weekly_day": 0, "preferences": prefs,
            "token_version": 1, "created_at": LONG_AGO, "updated_at": LONG_AGO, "confirmed_at": LONG_AGO,
            "soft_bounces": 0,
        })
    return rows


def load(settings: Settings, n: int, seed: int) -> None:
    rng = random.Random(seed)
    for start in range(0, n, INSERT_CHUNK):
        with session_scope(settings) as session:
            session.execute(insert(Subscriber), subscriber_rows(start, min(INSERT_CHUNK, n - start), rng))


def rss_mb() -> float:
    """This process's peak resident set so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(settings_json: str) -> None:
    """The planner alone, in a process of its own, so its peak RSS is its own."""
    from service.digests.run import plan

    settings = Settings.model_validate_json(settings_json)
    before = rss_mb()
    batches: list[int] = []
    started, cpu = time.perf_counter(), time.process_time()
    summary = plan(settings, AT, lambda ids, token: batches.append(len(ids)))
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    print(json.dumps({"claimed": summary.claimed, "batches": summary.batches, "largest": max(batches, default=0),
                      "seconds": elapsed, "cpu": cpu, "rss_before": before, "rss_peak": rss_mb()}))


def run_planner(settings: Settings) -> dict[str, float]:
    out = subprocess.run([sys.executable, __file__, "--child", settings.model_dump_json()],
                         check=True, capture_output=True, text=True)
    figures: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return figures


def report(label: str, n: int, figures: dict[str, float]) -> None:
    print(f"{label}: claimed {figures['claimed']:,.0f} in {figures['batches']:,.0f} batches (largest "
          f"{figures['largest']:.0f}) in {figures['seconds']:.1f}s ({figures['claimed'] / figures['seconds']:,.0f}"
          f" claims/s, CPU {figures['cpu']:.1f}s); RSS {figures['rss_before']:.0f} MB after imports, peak "
          f"{figures['rss_peak']:.0f} MB (target <= {TARGET_RSS_MB} MB for 1,000,000; {n:,} here)")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=1_000_000)
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--batch", type=int, default=200, help="DIGEST_BATCH_SIZE")
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--twice", action="store_true", help="plan a second time: it must claim nothing")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child)
        return
    from tests.support.services import create_pg_database, drop_pg_database

    with tempfile.TemporaryDirectory(prefix="papermail-bench-plan-") as tmp:
        name = f"papermail_bench_plan_{os.getpid()}"
        url = create_pg_database(name) if args.database == "postgresql" else None
        try:
            settings = settings_for(Path(tmp) / "var", url, args.batch)
            upgrade(settings)
            started = time.perf_counter()
            load(settings, args.subscribers, args.seed)
            print(f"loaded {args.subscribers:,} due subscribers into {args.database} in "
                  f"{time.perf_counter() - started:.1f}s", flush=True)
            report("plan", args.subscribers, run_planner(settings))
            if args.twice:
                report("plan again", args.subscribers, run_planner(settings))
            with session_scope(settings) as session:
                rows = session.scalar(select(func.count()).select_from(Delivery))
            print(f"deliveries claimed in the database: {rows:,}")
        finally:
            dispose_engines()
            if url is not None:
                drop_pg_database(name)


if __name__ == "__main__":
    main()
