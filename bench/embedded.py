"""Benchmark the embedded default end to end: ``python bench/embedded.py [--subscribers 3000]
[--bare 3000] [--render 300] [--processes 0,1] [--no-dkim]``.

What a small install runs: SQLite under a fresh DATA_DIR, no Redis, no worker, the real CLI
``papermail digest run`` in a child process (plan and send in the foreground), mail to the same
lean SMTP sink bench/e2e.py uses (bench/_smtp_sink_process.py), every message DKIM-signed
(RSA-2048, a key made for the run). One day of papers and N due subscribers are loaded once
(bench/e2e.py's data) and the database copied for each ``--processes`` value, so every run
plans and sends the same digests: 0 is the default (one process per core), 1 the single process
of before. In the same run, the bare smtplib loop pushes the same signed bytes (real digests,
rendered and composed as a worker does) to the same sink over one connection, and the ratio
is printed against the issue's target of 0.5. CPU per digest is read for the CLI's process
tree (rusage of the waited child, pool included) and the sink (/proc). Targets are printed,
never asserted.

The run's time includes what the user waits for before the first digest: the process start and
imports, the migrations check, and the pool's children. After each run the same copy is asked
again, with nothing left to send, to show that fixed part on its own: a bare start (`python -c
"import service.cli"`), `papermail db upgrade` (start + migrations), and `digest run` again
(start + migrations + a plan that finds nothing).
"""

from __future__ import annotations

import argparse
import os
import resource
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.e2e import (
    TARGET_BARE_SHARE,
    Sink,
    bench_bare,
    bench_render,
    ingest_day,
    insert_subscribers,
    make_dkim_key,
    processes,
    python_speed,
    sample_contexts,
    statuses,
)
from config.settings import Settings
from service.storage.db import dispose_engines
from service.storage.migrate import upgrade
from tests.support.processes import settings_env


def embedded_settings(data_dir: Path, sink_port: int, batch: int, dkim_key: Path | None) -> Settings:
    dkim: dict[str, Any] = {"dkim_domain": "papermail.example", "dkim_selector": "bench", "dkim_private_key_path": dkim_key}
    return Settings(
        _env_file=None, environment="test", secret_key=secrets.token_hex(32), data_dir=data_dir,
        mail_backend="smtp", smtp_host="127.0.0.1", smtp_port=sink_port, smtp_security="none",
        send_rate_per_second=100_000, digest_batch_size=batch, base_url="https://papermail.example",
        **(dkim if dkim_key is not None else {}),
    )


def cpu_of(pid: int) -> float:
    return next((seconds for p, _, _, seconds in processes() if p == pid), 0.0)


def timed(argv: list[str], settings: Settings, log: Path) -> tuple[float, float, str]:
    """ARGV as a child: (wall seconds, CPU seconds of its whole tree, its last line)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    with log.open("wb") as out:
        proc = subprocess.run([sys.executable, *argv], cwd=REPO, env=settings_env(settings), stdout=out,
                              stderr=subprocess.STDOUT, check=False)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    lines = log.read_text().strip().splitlines()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} exited with {proc.returncode}:\n" + "\n".join(lines[-20:]))
    return elapsed, cpu, lines[-1] if lines else ""


def digest_run(settings: Settings, at: datetime, procs: int, log: Path) -> tuple[float, float, str]:
    """`papermail digest run` as a child: (wall seconds, CPU seconds of its whole tree, its last line)."""
    return timed(["-m", "service.cli", "digest", "run", "--at", at.isoformat(), "--processes", str(procs)],
                 settings, log)


def fixed_costs(settings: Settings, at: datetime, procs: int, log: Path) -> dict[str, tuple[float, float]]:
    """(wall, CPU) seconds of what every `digest run` pays whatever it sends, part by part, on a
    database with nothing left due (the run just sent everything): each command below does what
    the one before it did and one thing more, and the parts are the differences."""
    start = timed(["-c", "import service.cli"], settings, log)[:2]
    upgrade = timed(["-m", "service.cli", "db", "upgrade"], settings, log)[:2]
    empty = digest_run(settings, at, procs, log)[:2]
    return {
        "process start + imports": start,
        "migrations check": (upgrade[0] - start[0], upgrade[1] - start[1]),
        "plan finding nothing": (empty[0] - upgrade[0], empty[1] - upgrade[1]),
        "in all": empty,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=3_000)
    parser.add_argument("--bare", type=int, default=3_000, help="messages for the bare smtplib loop")
    parser.add_argument("--render", type=int, default=300, help="digests rendered for the bare loop's bytes")
    parser.add_argument("--naive", type=int, default=20, help="digests compiled per recipient")
    parser.add_argument("--batch", type=int, default=200, help="DIGEST_BATCH_SIZE")
    parser.add_argument("--processes", default="0,1", help="comma-separated --processes values to run (0: per core)")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--sink", choices=("lean", "lean-data"), default="lean",
                        help="lean announces CHUNKING as Postfix does; lean-data takes DATA only")
    parser.add_argument("--no-dkim", action="store_true", help="send unsigned (production signs every message)")
    args = parser.parse_args(argv)
    modes = [int(p) for p in args.processes.split(",")]

    with tempfile.TemporaryDirectory(prefix="papermail-bench-embedded-") as tmp_name:
        tmp = Path(tmp_name)
        sink = Sink(args.sink)
        try:
            key = None if args.no_dkim else make_dkim_key(tmp)
            base = embedded_settings(tmp / "var", sink.port, args.batch, key)
            now = datetime.now(UTC)
            print(f"setup ({args.subscribers} subscribers, SQLite, DKIM {'off' if args.no_dkim else 'RSA-2048'}, "
                  f"batch {args.batch}, sink on port {sink.port}):", flush=True)
            upgrade(base)
            ingest_day(base, now - timedelta(hours=1), args.seed)
            insert_subscribers(base, args.subscribers, args.seed)
            contexts = sample_contexts(base, args.render, now)
            figures = bench_render(base, contexts, args.naive)
            dispose_engines()  # the database is copied below: no connection of ours stays open on it
            copies = {}
            for procs in modes:
                folder = tmp / f"var-{procs}"
                shutil.copytree(base.data_dir, folder)
                copies[procs] = base.model_copy(update={"data_dir": folder})

            results = []
            bare_rates = []
            for procs in modes:
                bare_rates.append(bench_bare(sink, figures.messages, args.bare, 1))  # beside each run: same load
                sink.ask("reset")
                sink_cpu = cpu_of(sink.proc.pid)
                elapsed, cpu, line = digest_run(copies[procs], now, procs, tmp / f"run-{procs}.log")
                count = sink.ask(f"wait {args.subscribers} 30")[0]
                sink_cpu = cpu_of(sink.proc.pid) - sink_cpu
                counts = statuses(copies[procs])
                dispose_engines()
                fixed = fixed_costs(copies[procs], now, procs, tmp / f"fixed-{procs}.log")
                results.append((procs, elapsed, cpu, sink_cpu, count, counts, line, fixed))
        finally:
            sink.close()

    bare = sum(bare_rates) / len(bare_rates)
    avg_kb = sum(len(m.data) for m in figures.messages) / len(figures.messages) / 1024
    print(f"\nmachine: {os.cpu_count()} cores, plain Python {python_speed():.1f}M loop iterations/s on one core")
    print(f"digest HTML {figures.html_kb:.1f} KB, message {avg_kb:.1f} KB avg; render compile-once "
          f"{figures.fast:,.0f}/s vs MJML per recipient {figures.naive:,.0f}/s ({figures.fast / figures.naive:.1f}x)")
    if figures.sign_ms is not None:
        print(f"DKIM signing, RSA-2048: {figures.sign_ms:.3f} ms/message of CPU")
    print(f"bare smtplib, 1 connection: {bare:,.0f} msgs/s  (mean of {', '.join(f'{r:,.0f}' for r in bare_rates)}; "
          f"{args.bare} signed messages each)")
    for procs, elapsed, cpu, sink_cpu, count, counts, line, fixed in results:
        done = sum(counts.get(s, 0) for s in ("sent", "skipped", "failed"))
        rate = done / elapsed
        label = f"{procs} (one per core)" if procs == 0 else str(procs)
        print(f"`papermail digest run --processes {label}`: {rate:,.0f} digests/s ({done} in {elapsed:.1f}s, "
              f"process start and migrations included)")
        print(f"  ratio to bare: {rate / bare:.2f}  (target >= {TARGET_BARE_SHARE})")
        print(f"  CPU per digest: digest run {1000 * cpu / max(done, 1):.2f} ms, sink {1000 * sink_cpu / max(done, 1):.2f} ms"
              f"; deliveries {', '.join(f'{k} {v}' for k, v in sorted(counts.items()))}; sink got {count}")
        print(f"  it printed: {line}")
        start_wall, start_cpu = fixed["in all"]
        print("  of that, the fixed part (measured again with nothing due; wall / CPU): "
              + ", ".join(f"{name} {wall:.2f}s / {cpu_s:.2f}s" for name, (wall, cpu_s) in fixed.items()))
        print(f"  without the fixed part: {done / max(elapsed - start_wall, 1e-9):,.0f} digests/s, "
              f"{1000 * (cpu - start_cpu) / max(done, 1):.2f} ms CPU per digest")


if __name__ == "__main__":
    main()
