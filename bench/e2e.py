"""Benchmark digests end to end: ``python bench/e2e.py [--subscribers 20000] [--workers 2]
[--concurrency 1] [--batch 200] [--bare 5000] [--render 2000] [--sink lean|aiosmtpd]
[--profile DIR [--profile-cpu]] [--no-dkim]``.

On real services, as production runs them: a fresh PostgreSQL database
(``papermail_bench_e2e_<pid>`` on 127.0.0.1:5432, user postgres, dropped at the end), Redis db 3
on 127.0.0.1:6379 as broker, result backend and send-rate bucket (flushed before and after),
``--workers`` ``papermail worker`` processes, and an SMTP sink in its own process that only
counts what it accepts (bench/_smtp_sink_process.py: ``lean``, an asyncio server that costs
little per message, as an MTA written in C would, or ``aiosmtpd``, the tests' server, which
costs more CPU per message than the client and so sets the pace of both loops). One day of papers (300, generated as in
bench/ingest.py, through ``ingest_document``) and N active subscribers (1–3 topics, 0–4 keywords,
due now) are loaded first. Then, in one run:

  render   real digests of the first subscribers (their matches), compile-once renderer vs a
           fresh renderer (MJML compiled) per recipient; and render + compose (MIME, headers);
  bare     the composed bytes of those digests pushed by a plain smtplib loop to the same sink,
           over one connection and over one connection per worker process in parallel;
  e2e      the planner (claim + enqueue, as beat runs it) until every batch result is in and
           the sink holds every sent message: digests/s, the ratio to the bare rate, and the
           deliveries table by status.

Every message is DKIM-signed, as production signs (RSA-2048, a key made for the run, through
service/mail/signing.py); ``--no-dkim`` leaves signing out. The signing cost per message is
measured on its own (bench/dkim_signing.py's timing, on the sample digests' unsigned bytes) and
printed beside the render figures; the bare loop pushes the same signed bytes.

Targets from issue 5 are printed beside the figures, never asserted. CPU seconds per digest
are read from /proc for each party (workers, sink, PostgreSQL: the backends serving the bench's
database and, apart, the server's shared processes; Redis; the rest of the machine):
on a shared host the rate moves with other load, the CPU cost per digest much less.
``--profile DIR`` records each worker pool process with py-spy during the e2e phase (wall clock,
idle included; ``--profile-cpu`` for on-CPU samples) and prints where the time went; py-spy
itself costs CPU, so profiled rates are lower. Run one at a time: Redis db 3 is flushed.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import secrets
import signal
import smtplib
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import redis
from sqlalchemy import func, insert, select

from bench.dkim_signing import TARGET_MS as TARGET_SIGN_MS
from bench.dkim_signing import signing_seconds
from bench.ingest import TERMS, hf_page, make_papers, pages
from config.settings import Settings
from service.digests.compose import digest_context
from service.digests.run import plan
from service.digests.window import already_sent, build_index, match_requests
from service.ingest.poll import ingest_document
from service.mail import Composer, OutgoingMail, Unsubscribe
from service.mail.dkim_keys import generate_key, private_key_pem
from service.matching.match import match_many
from service.rendering import (
    DigestContext,
    EmailRenderer,
    RenderedEmail,
    Sender,
    render_digest,
)
from service.storage.db import session_scope
from service.storage.migrate import upgrade
from service.storage.models import Delivery, Subscriber, Topic
from service.subscribers.preferences import Preferences
from tests.support.processes import papermail_process
from tests.support.services import REDIS_HOST_PORT, create_pg_database, drop_pg_database
from workers.celery_app import create_app

REDIS_DB = 3  # the tests take 4-15 (tests/conftest.py REDIS_TEST_DBS)
PAPERS_PER_DAY = 300
LONG_AGO = datetime(2026, 1, 1, tzinfo=UTC)
EXTRA_KEYWORDS = ("transformer", "benchmark", "LLM", "quantization", "agents", "robot", "diffusion", "RLHF")
TARGET_E2E, TARGET_BARE_SHARE, TARGET_RENDER = 1000.0, 0.5, 5.0
TARGET_CPU_MS, TARGET_HTML_KB = 2.5, 20.0  # issue 17: CPU per digest across every process; 10-paper HTML


class Sink:
    """The counting SMTP sink process (see bench/_smtp_sink_process.py for its protocol)."""

    def __init__(self, kind: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(REPO / "bench" / "_smtp_sink_process.py"), kind],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
            start_new_session=True,  # Ctrl-C reaches the bench only; the bench closes the sink
        )
        self.port = int(self._read().split()[1])

    def _read(self) -> str:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"SMTP sink exited with {self.proc.wait()}")
        return line

    def ask(self, command: str) -> tuple[int, int, int]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        messages, size, sessions = map(int, self._read().split())
        return messages, size, sessions

    def close(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()  # the sink exits on EOF
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


# -- data --------------------------------------------------------------------------------------
def ingest_day(settings: Settings, seen_at: datetime, seed: int) -> int:
    papers = make_papers(PAPERS_PER_DAY, random.Random(seed), first_id=seed * 1000)
    # bench/ingest.py dates its papers on a fixed day; the workers match against today's window.
    for paper in papers:
        paper["submittedOnDailyAt"] = seen_at.strftime("%Y-%m-%dT00:00:00.000Z")
        paper["publishedAt"] = (seen_at - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    return sum(ingest_document(settings, doc, source_name="hf-daily", now=seen_at).new
               for doc in pages(papers, hf_page, seed))


def subscriber_rows(start: int, count: int, topics: list[str], rng: random.Random) -> list[dict[str, object]]:
    keywords = [*TERMS, *EXTRA_KEYWORDS]
    rows = []
    for i in range(start, start + count):
        prefs = Preferences(
            topics=tuple(rng.sample(topics, rng.randint(1, 3))),
            keywords=tuple(rng.sample(keywords, rng.randint(0, 4))),
            send_hour=0, timezone="UTC", frequency="daily",
        )
        rows.append({
            "email": f"reader{i:07d}@example{i % 97}.org", "status": "active", "timezone": prefs.timezone,
            "send_hour": prefs.send_hour, "frequency": prefs.frequency, "weekly_day": 0,
            "preferences": prefs.model_dump(mode="json"), "token_version": 1, "created_at": LONG_AGO,
            "updated_at": LONG_AGO, "confirmed_at": LONG_AGO, "soft_bounces": 0,
        })
    return rows


def insert_subscribers(settings: Settings, n: int, seed: int) -> None:
    rng = random.Random(seed)
    with session_scope(settings) as session:
        topics = sorted(session.scalars(select(Topic.slug)))
        for start in range(0, n, 5000):
            session.execute(insert(Subscriber), subscriber_rows(start, min(5000, n - start), topics, rng))


def sample_contexts(settings: Settings, n: int, now: datetime) -> list[DigestContext]:
    """The digests the first N subscribers get now (the worker's own matching and context code)."""
    lookback = timedelta(days=settings.lookback_days)
    sender = Sender.from_settings(settings)
    with session_scope(settings) as session:
        subscribers = list(session.scalars(select(Subscriber).order_by(Subscriber.id).limit(n)))
        index, papers = build_index(session, now, lookback)
        sent = already_sent(session, [s.id for s in subscribers], papers)
        results = match_many(match_requests(subscribers, sent, now, lookback), index)
        names = {slug: name for slug, name in session.execute(select(Topic.slug, Topic.name))}
        return [digest_context(settings, s, matches, papers, names, now.date(), sender, delivery_id=s.id)
                for s, matches in zip(subscribers, results, strict=True) if matches]


# -- phases ------------------------------------------------------------------------------------
@dataclass
class RenderFigures:
    fast: float
    naive: float
    composed: float
    html_kb: float
    messages: list[OutgoingMail]
    sign_ms: float | None  # DKIM signing alone, per message; None without DKIM


def compose(composer: Composer, ctx: DigestContext, rendered: RenderedEmail) -> OutgoingMail:
    return composer.compose(to_address=ctx.recipient, subject=rendered.subject, text=rendered.text,
                            html=rendered.html, message_key=ctx.recipient,
                            unsubscribe=Unsubscribe(ctx.links.unsubscribe_url, ctx.links.unsubscribe_token))


def bench_render(settings: Settings, contexts: list[DigestContext], naive_n: int) -> RenderFigures:
    renderer = EmailRenderer()  # its one MJML compile falls inside the timing
    started = time.perf_counter()
    rendered = [render_digest(ctx, renderer) for ctx in contexts]
    fast = len(contexts) / (time.perf_counter() - started)
    started = time.perf_counter()
    for ctx in contexts[:naive_n]:
        render_digest(ctx, EmailRenderer())
    naive = naive_n / (time.perf_counter() - started)
    # the lean sink announces 8BITMIME, so the workers send text parts 8bit: the bare loop pushes the same bytes
    composer = Composer.from_settings(settings, takes_8bit=lambda: True)
    started = time.perf_counter()
    for ctx in contexts:
        compose(composer, ctx, render_digest(ctx, renderer))
    composed = len(contexts) / (time.perf_counter() - started)
    messages = [compose(composer, ctx, r) for ctx, r in zip(contexts[:50], rendered, strict=False)]
    html_kb = sum(len(r.html.encode()) for r in rendered) / len(rendered) / 1024
    sign_ms = None
    if composer.signer is not None:  # the same digests unsigned, signed on their own
        plain = Composer(composer.sender, takes_8bit=lambda: True)
        unsigned = [compose(plain, ctx, r).data for ctx, r in zip(contexts[:50], rendered, strict=False)]
        sign_ms = 1000 * signing_seconds(composer.signer, unsigned)
    return RenderFigures(fast, naive, composed, html_kb, messages, sign_ms)


def _push(port: int, messages: list[OutgoingMail], count: int, ready: object, out: object) -> None:
    conn = smtplib.SMTP("127.0.0.1", port)
    conn.ehlo()
    ready.wait()  # type: ignore[attr-defined]
    started = time.perf_counter()
    for i in range(count):
        mail = messages[i % len(messages)]
        conn.sendmail(mail.envelope_from, [mail.to], mail.data,
                      mail_options=[] if mail.data.isascii() else ["BODY=8BITMIME"])
    out.put((started, time.perf_counter()))  # type: ignore[attr-defined]
    conn.quit()


def bench_bare(sink: Sink, messages: list[OutgoingMail], total: int, parallel: int) -> float:
    """msgs/s of plain smtplib loops, one connection each, PARALLEL processes (forked)."""
    sink.ask("reset")
    ctx = multiprocessing.get_context("fork")
    ready, out = ctx.Barrier(parallel + 1), ctx.Queue()
    shares = [total // parallel + (1 if i < total % parallel else 0) for i in range(parallel)]
    children = [ctx.Process(target=_push, args=(sink.port, messages, share, ready, out)) for share in shares]
    try:
        for child in children:
            child.start()
        ready.wait(timeout=30)
        spans = [out.get(timeout=600) for _ in children]
    finally:
        for child in children:
            child.join(timeout=5)
            if child.is_alive():
                child.terminate()
    received = sink.ask(f"wait {total} 30")[0]
    if received != total:
        raise SystemExit(f"bare loop: the sink got {received} of {total} messages")
    return total / (max(end for _, end in spans) - min(start for start, _ in spans))


def processes() -> Iterator[tuple[int, int, str, float]]:
    """(pid, parent pid, command name, CPU seconds used) of every process, from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            head, rest = (entry / "stat").read_text().rsplit(")", 1)
        except OSError:
            continue  # ended while we looked
        fields = rest.split()
        yield int(entry.name), int(fields[1]), head.split("(", 1)[1], (int(fields[11]) + int(fields[12])) / tick


def kernel_seconds(pids: list[int]) -> float:
    """System CPU seconds of PIDS and their children: the socket and database I/O the kernel does
    on their behalf (loopback TCP included), which no Python profile shows."""
    tick, total = os.sysconf("SC_CLK_TCK"), 0
    for pid in {*pids, *(child for pid in pids for child in children_of(pid))}:
        try:
            total += int((Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[12])
        except (OSError, IndexError):
            continue
    return total / tick


def children_of(pid: int) -> list[int]:
    return [child for child, parent, _, _ in processes() if parent == pid]


def wait_for_workers(settings: Settings, workers: list[subprocess.Popen[bytes]], logs: list[Path],
                     concurrency: int) -> list[int]:
    """Ping until every worker's every pool process has answered; returns those pids."""
    app = create_app(settings)
    deadline, answered = time.monotonic() + 90, set()
    while time.monotonic() < deadline:
        for proc, log in zip(workers, logs, strict=True):
            if proc.poll() is not None:
                raise RuntimeError(f"worker exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        pings = [app.send_task("workers.tasks.ping", args=["bench"]) for _ in range(4 * len(workers) * concurrency)]
        answered |= {p.get(timeout=60)["pid"] for p in pings}
        pool = {pid for proc in workers for pid in children_of(proc.pid)}
        if len(pool) == len(workers) * concurrency and pool <= answered:
            return sorted(pool)
    raise TimeoutError("workers did not all answer a ping within 90 s")


@contextmanager
def profiling(pids: list[int], folder: Path | None, wall: bool) -> Iterator[list[Path]]:
    """py-spy record on PIDS while the block runs: wall clock (idle included) or CPU only."""
    if folder is None:
        yield []
        return
    folder.mkdir(parents=True, exist_ok=True)
    outputs = [folder / f"worker-{pid}.txt" for pid in pids]
    spies = [subprocess.Popen([str(Path(sys.executable).parent / "py-spy"), "record", "--pid", str(pid), "--rate", "200",
                               "--format", "raw", "-o", str(out), *(["--idle"] if wall else [])],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
             for pid, out in zip(pids, outputs, strict=True)]
    time.sleep(1.0)  # py-spy attaches asynchronously; the bench is long, a second of lead is cheap
    try:
        yield outputs
    finally:
        for spy in spies:
            spy.send_signal(signal.SIGINT)  # py-spy writes its file on SIGINT
            try:
                spy.wait(30)
            except subprocess.TimeoutExpired:
                spy.kill()


def print_profile(outputs: list[Path], kind: str, top: int = 18) -> None:
    """Inclusive share of samples per function (project and key library frames)."""
    inclusive: Counter[str] = Counter()
    total = 0
    for path in outputs:
        if not path.is_file():
            continue
        for line in path.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            samples = int(count)
            total += samples
            for frame in set(stack.split(";")):
                inclusive[frame] += samples
    interesting = [(f, n) for f, n in inclusive.most_common() if any(
        key in f for key in ("service/", "workers/", "smtplib", "psycopg", "redis", "jinja", "email/", "sqlalchemy/orm/session"))]
    print(f"\nworker {kind} profile ({total} samples, inclusive):")
    for frame, samples in interesting[:top]:
        print(f"  {100 * samples / max(total, 1):5.1f}%  {frame}")


def postgres_role(pid: int, database: str) -> str | None:
    """Whose a PostgreSQL process is, from its title: a backend serving DATABASE is ours, one
    serving another database (other tests on a shared host) is not; the server's own processes
    (WAL writer, checkpointer...) are shared by all."""
    try:
        title = (Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return None
    if "(" in title:  # a backend: "postgres: USER DATABASE HOST(PORT) STATE"
        return "postgres" if f" {database} " in title else None
    return "postgres (shared)"  # the postmaster, "postgres: walwriter", "postgres: checkpointer"...


def cpu_seconds(groups: dict[str, list[int]], database: str | None = None) -> Counter[str]:
    """CPU seconds used so far per group of processes (the pids and their children), plus the
    machine's PostgreSQL (backends of DATABASE, and the server's shared processes) and Redis."""
    owner = {pid: name for name, pids in groups.items() for pid in pids}
    used: Counter[str] = Counter()
    for pid, parent, command, seconds in processes():
        name = owner.get(pid) or owner.get(parent)
        if name is None and command == "redis-server":
            name = "redis"
        elif name is None and command == "postgres":
            name = postgres_role(pid, database) if database else "postgres"
        if name:
            used[name] += seconds
    # The rest of the machine: other people's work on a shared host makes the figures noisy.
    busy = sum(int(v) for i, v in enumerate(Path("/proc/stat").read_text().split()[1:9]) if i not in (3, 4))
    used["other processes"] = max(0.0, busy / os.sysconf("SC_CLK_TCK") - sum(used.values()))
    return used


def python_speed(loops: int = 3_000_000) -> float:
    """Millions of loop iterations a second of plain Python on one core: how fast this machine is
    today, so figures from different machines (or a loaded host) can be compared."""
    best = float("inf")
    for _ in range(3):
        started, total = time.perf_counter(), 0
        for i in range(loops):
            total += i
        best = min(best, time.perf_counter() - started)
    return loops / best / 1e6


def statuses(settings: Settings) -> dict[str, int]:
    with session_scope(settings) as session:
        return dict(session.execute(select(Delivery.status, func.count()).group_by(Delivery.status)).all())  # type: ignore[arg-type]


def bench_e2e(settings: Settings, sink: Sink, now: datetime) -> tuple[float, float, dict[str, int], Counter[str], tuple[int, int, int]]:
    sink.ask("reset")
    app = create_app(settings)
    results = []
    started = time.perf_counter()
    summary = plan(settings, now, lambda ids, token: results.append(
        app.send_task("workers.tasks.send_digest_batch", args=[ids, token])))
    planned = time.perf_counter() - started
    outcome: Counter[str] = Counter()
    for result in results:
        outcome.update(result.get(timeout=1800))
    deadline = time.monotonic() + 120
    while outcome["retried"] and time.monotonic() < deadline:  # retries come back after their backoff
        counts = statuses(settings)
        if not counts.get("claimed") and not counts.get("sending"):
            break
        time.sleep(0.2)  # polling the table for the stragglers only; no event to wait on
    counts = statuses(settings)
    sink_counts = sink.ask(f"wait {counts.get('sent', 0)} 60")
    elapsed = time.perf_counter() - started
    if summary.claimed == 0:
        raise SystemExit("the planner claimed nothing: no subscriber was due")
    return planned, elapsed, counts, outcome, sink_counts


# -- main --------------------------------------------------------------------------------------
def make_dkim_key(folder: Path) -> Path:
    """A fresh RSA-2048 key for this run, mode 0600 as an operator would keep it."""
    path = folder / "dkim.pem"
    path.write_bytes(private_key_pem(generate_key("rsa", 2048)))
    path.chmod(0o600)
    return path


def bench_settings(data_dir: Path, database_url: str, sink_port: int, batch: int, dkim_key: Path | None = None) -> Settings:
    dkim: dict[str, Any] = {"dkim_domain": "papermail.example", "dkim_selector": "bench", "dkim_private_key_path": dkim_key}
    return Settings(  # type: ignore[call-arg]
        _env_file=None, environment="test", secret_key=secrets.token_hex(32), data_dir=data_dir,
        database_url=database_url, broker_url=f"redis://{REDIS_HOST_PORT}/{REDIS_DB}",
        mail_backend="smtp", smtp_host="127.0.0.1", smtp_port=sink_port, smtp_security="none",
        send_rate_per_second=100_000, digest_batch_size=batch, delivery_retry_seconds=1,
        base_url="https://papermail.example", **(dkim if dkim_key is not None else {}),
    )


def flush_redis() -> None:
    client = redis.Redis.from_url(f"redis://{REDIS_HOST_PORT}/{REDIS_DB}")
    client.flushdb()
    client.close()


@contextmanager
def timed(label: str) -> Iterator[None]:
    started = time.perf_counter()
    yield
    print(f"  {label}: {time.perf_counter() - started:.1f}s", flush=True)


def interrupt(*_: object) -> None:
    raise KeyboardInterrupt


def run(args: argparse.Namespace, stack: ExitStack, tmp: Path) -> None:
    name = database_name = f"papermail_bench_e2e_{os.getpid()}"
    flush_redis()
    stack.callback(flush_redis)
    database_url = create_pg_database(name)
    stack.callback(drop_pg_database, name)
    sink = Sink(args.sink)
    stack.callback(sink.close)
    settings = bench_settings(tmp / "var", database_url, sink.port, args.batch,
                              None if args.no_dkim else make_dkim_key(tmp))  # fmt: skip
    now = datetime.now(UTC)

    print(f"setup ({args.subscribers} subscribers, {PAPERS_PER_DAY} papers, {args.workers} workers x "
          f"{args.concurrency}, batch {args.batch}, sink on port {sink.port}, DKIM {'off' if args.no_dkim else 'RSA-2048'}):")
    with timed("migrate + ingest one day of papers"):
        upgrade(settings)
        new = ingest_day(settings, now - timedelta(hours=1), args.seed)
    with timed(f"insert {args.subscribers} subscribers"):
        insert_subscribers(settings, args.subscribers, args.seed)
    with timed(f"start {args.workers} workers"):
        workers, logs = [], []
        for i in range(args.workers):
            logs.append(tmp / f"worker{i}.log")
            workers.append(stack.enter_context(
                papermail_process(["worker", "--concurrency", str(args.concurrency)], settings, tmp, logs[-1])))
        pool = wait_for_workers(settings, workers, logs, args.concurrency)
    with timed(f"match + build {args.render} digest contexts"):
        contexts = sample_contexts(settings, args.render, now)

    figures = bench_render(settings, contexts, args.naive)
    pool_size = args.workers * args.concurrency
    bare_one = bench_bare(sink, figures.messages, args.bare, 1)
    bare_par = bench_bare(sink, figures.messages, args.bare, pool_size)

    groups = {"workers": [w.pid for w in workers], "sink": [sink.proc.pid], "bench (planner)": [os.getpid()]}
    with profiling(pool, args.profile, not args.profile_cpu) as outputs:
        cpu_before, kernel_before = cpu_seconds(groups, database_name), kernel_seconds(groups["workers"])
        planned, elapsed, counts, outcome, (messages, size, sessions) = bench_e2e(settings, sink, now)
        cpu, kernel = cpu_seconds(groups, database_name), kernel_seconds(groups["workers"]) - kernel_before
        cpu.subtract(cpu_before)
    done = sum(counts.get(s, 0) for s in ("sent", "skipped", "failed"))
    rate = done / elapsed
    avg_kb = sum(len(m.data) for m in figures.messages) / len(figures.messages) / 1024

    print(f"\nmachine: {os.cpu_count()} cores, plain Python {python_speed():.1f}M loop iterations/s on one core")
    print(f"{new} papers ingested; {len(contexts)} of the first {args.render} subscribers have a digest "
          f"(HTML {figures.html_kb:.1f} KB, message {avg_kb:.1f} KB avg)")
    print(f"render, compile once:         {figures.fast:9,.0f} digests/s  ({len(contexts)} digests)")
    print(f"render, MJML per recipient:   {figures.naive:9,.0f} digests/s  ({args.naive} digests)")
    print(f"  ratio {figures.fast / figures.naive:.1f}x  (target >= {TARGET_RENDER:.0f}x)")
    print(f"render + compose (MIME):      {figures.composed:9,.0f} digests/s  (one core{', DKIM-signed' if figures.sign_ms else ''})")
    if figures.sign_ms is None:
        print("DKIM signing:                 off (--no-dkim)")
    else:
        print(f"DKIM signing, RSA-2048:       {figures.sign_ms:9.3f} ms/message of CPU  (target <= {TARGET_SIGN_MS} ms;"
              " bench/dkim_signing.py has the breakdown)")
    print(f"bare smtplib, 1 connection:   {bare_one:9,.0f} msgs/s  ({args.bare} pre-rendered messages)")
    print(f"bare smtplib, {pool_size} in parallel:  {bare_par:9,.0f} msgs/s")
    print(f"end to end:                   {rate:9,.0f} digests/s  ({done} in {elapsed:.1f}s; planner "
          f"claim + enqueue {planned:.1f}s)  (target >= {TARGET_E2E:,.0f})")
    print(f"  e2e / bare with {pool_size} in parallel: {100 * rate / bare_par:.0f}%   e2e / bare with 1: "
          f"{100 * rate / bare_one:.0f}%  (target >= {100 * TARGET_BARE_SHARE:.0f}%)")
    print(f"  deliveries: {', '.join(f'{k} {v}' for k, v in sorted(counts.items()))}; task results: "
          f"{', '.join(f'{k} {v}' for k, v in sorted(outcome.items()))}")
    print(f"  sink: {messages} messages, {size / 1e6:.1f} MB, {sessions} SMTP sessions")
    print(f"  CPU per digest (machine: {os.cpu_count()} cores, {sum(cpu.values()) / elapsed:.2f} busy on average): "
          + ", ".join(f"{name} {1000 * seconds / max(done, 1):.2f} ms" for name, seconds in cpu.most_common()))
    print(f"  of the workers' CPU, in the kernel (sockets, database I/O): {1000 * kernel / max(done, 1):.2f} ms per digest")
    ours = sum(seconds for name, seconds in cpu.items() if name != "other processes")
    print(f"  CPU per digest, papermail's processes (workers, PostgreSQL, Redis, sink, planner): "
          f"{1000 * ours / max(done, 1):.2f} ms  (target <= {TARGET_CPU_MS} ms); HTML {figures.html_kb:.1f} KB "
          f"(target <= {TARGET_HTML_KB:.0f} KB)")
    if counts.get("sent", 0) != messages:
        print(f"  WARNING: {counts.get('sent', 0)} deliveries marked sent but the sink holds {messages}")
    if outputs:
        print_profile(outputs, "CPU" if args.profile_cpu else "wall-time")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=20_000)
    parser.add_argument("--workers", type=int, default=2, help="papermail worker processes")
    parser.add_argument("--concurrency", type=int, default=1, help="pool processes per worker")
    parser.add_argument("--batch", type=int, default=200, help="DIGEST_BATCH_SIZE")
    parser.add_argument("--bare", type=int, default=5_000, help="messages for the bare smtplib loops")
    parser.add_argument("--render", type=int, default=2_000, help="digests for render-only")
    parser.add_argument("--naive", type=int, default=50, help="digests compiled per recipient")
    parser.add_argument("--profile", type=Path, help="py-spy the workers during e2e, raw stacks into this folder")
    parser.add_argument("--profile-cpu", action="store_true", help="with --profile: on-CPU samples only")
    parser.add_argument("--sink", choices=("lean", "lean-data", "aiosmtpd"), default="lean",
                        help="the SMTP server receiving (see bench/_smtp_sink_process.py)")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--no-dkim", action="store_true", help="send unsigned (production signs every message)")
    args = parser.parse_args(argv)
    # SIGTERM unwinds like Ctrl-C, through every cleanup below.
    signal.signal(signal.SIGTERM, interrupt)
    with tempfile.TemporaryDirectory(prefix="papermail-bench-e2e-") as tmp, ExitStack() as stack:
        try:
            run(args, stack, Path(tmp))
        except KeyboardInterrupt:
            print("\ninterrupted; cleaning up", file=sys.stderr)
            raise SystemExit(130) from None


if __name__ == "__main__":
    main()
