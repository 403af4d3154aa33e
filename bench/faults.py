"""The project's own fault run: ``python bench/faults.py [--subscribers 2000] [--workers 2]
[--concurrency 2] [--deadline 180]``.

On real services, with papermail's default settings for leases, retries and the relay breaker:
a fresh PostgreSQL database (``papermail_bench_faults_<pid>`` on 127.0.0.1:5432, dropped at the
end), a Redis server this run starts itself on a free loopback port (``redis-server --save ""
--appendonly no``: no persistence, so a restart empties every queue), ``--workers`` ``papermail
worker`` processes, and an SMTP sink on a thread of this process (bench/_fault_sink.py) that
greylists ``grey-*`` recipients (451 once), refuses ``bounce-*`` ones (550 5.1.1) and can go
down. One day of papers and, per fault, a cohort of N subscribers due now (10 % grey, 2 %
bounce) whose digests the planner claims and enqueues, as beat would. A quarter into the
sending, the fault:

  kill -9 worker   SIGKILL of one worker's whole process tree mid-send; a supervisor restarts it
  redis restart    the broker's Redis killed and started again, empty (queued batches lost)
  sink down 30 s   every SMTP session cut, every new connection closed at once, for 30 s

Printed per fault: due, delivered (distinct recipients the sink accepted), duplicates (messages
beyond one per recipient), lost (due, not refused with 5xx, never delivered), the 550 addresses'
RCPTs (1 each: suppressed after the hard bounce), seconds from the fault to the last delivery,
and Python tracebacks in the worker logs meanwhile; for the outage, the connections the relay
saw while down. Targets: 0 duplicates, 0 lost, every digest within 3 minutes of its fault, one
RCPT per 550 address, no tracebacks, and while the relay is down at most one connection a second
per worker (the breaker's probe).
Bounded (each fault gives up --deadline seconds after it), loopback only, stops by itself.
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import redis  # noqa: E402
from sqlalchemy import func, insert, select, update  # noqa: E402

from bench._fault_sink import Accepted, FaultSink  # noqa: E402
from config.settings import Settings  # noqa: E402
from service.digests.run import plan  # noqa: E402
from service.ingest.poll import ingest_document  # noqa: E402
from service.mail.breaker import relay_status  # noqa: E402
from service.storage.db import dispose_engines, session_scope  # noqa: E402
from service.storage.migrate import upgrade  # noqa: E402
from service.storage.models import Delivery, Subscriber  # noqa: E402
from service.subscribers.preferences import Preferences  # noqa: E402
from service.subscribers.store import apply_preferences  # noqa: E402
from tests.service.ingest.documents import hf_item, hf_json  # noqa: E402
from tests.support.processes import settings_env  # noqa: E402
from tests.support.services import create_pg_database, drop_pg_database  # noqa: E402
from workers.celery_app import create_app  # noqa: E402

LONG_AGO = datetime(2026, 1, 1, tzinfo=UTC)
OUTAGE_SECONDS = 30.0
TARGET_SECONDS = 180.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(condition: Callable[[], bool], timeout: float, every: float = 0.2) -> bool:
    """Poll CONDITION until true or TIMEOUT (a bench watching services, not a test's sync)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(every)
    return condition()


class RedisServer:
    """A redis-server of this run's own: loopback, its own port, no persistence."""

    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        self.folder = folder
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        argv = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                "--dir", str(self.folder), "--loglevel", "warning"]
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        client = redis.Redis(port=self.port, socket_connect_timeout=0.5)

        def answers() -> bool:
            try:
                return bool(client.ping())
            except redis.RedisError:
                return False

        if not wait_until(answers, 20):
            raise RuntimeError("redis-server did not start")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def restart(self) -> None:
        self.kill()
        self.start()


class Worker:
    """One `papermail worker` process tree, its log in FOLDER."""

    def __init__(self, settings: Settings, folder: Path, name: str, concurrency: int) -> None:
        self.settings, self.folder, self.name, self.concurrency = settings, folder, name, concurrency
        self.log = folder / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        offset = self.log.stat().st_size if self.log.exists() else 0
        out = self.log.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "service.cli", "worker", "--concurrency", str(self.concurrency)],
            cwd=self.folder, env=settings_env(self.settings), stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        out.close()
        if not wait_until(lambda: b" ready." in self.log.read_bytes()[offset:], 90, every=0.5):
            raise RuntimeError(f"{self.name} did not start:\n{self.log.read_text()[-3000:]}")

    def kill(self) -> None:
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.kill()

    def tracebacks_since(self, offset: int) -> int:
        return self.log.read_bytes()[offset:].count(b"Traceback (most recent call last)")

    def size(self) -> int:
        return self.log.stat().st_size if self.log.exists() else 0


@dataclass
class Outcome:
    fault: str
    due: int
    delivered: int
    duplicates: int
    lost: int
    bounce_rcpts: int
    bounces: int
    last_after_fault: float
    tracebacks: int
    statuses: dict[str, int]
    note: str = ""
    # For the outage: the most connections the relay saw in one second while down.
    down_peak: int = 0

    def misses(self, workers: int) -> list[str]:
        """The targets this fault missed (none: met)."""
        missed = []
        if self.duplicates or self.lost:
            missed.append("duplicates/lost")
        if self.last_after_fault > TARGET_SECONDS:
            missed.append(f"later than {TARGET_SECONDS:.0f} s")
        if self.bounce_rcpts > self.bounces:  # a 550 address tried again: mail to a rejected address
            missed.append("550 retried")
        if self.tracebacks:
            missed.append("tracebacks")
        if self.down_peak > workers:  # the breaker lets one probe a second through per worker at most
            missed.append("relay hammered")
        return missed


def watch_breaker(settings: Settings, wanted: Callable[[str], bool], until: float) -> float | None:
    """When (monotonic) the relay breaker's state, as /healthz shows it, first satisfied WANTED."""
    if wait_until(lambda: wanted(str(relay_status(settings)["state"])), until - time.monotonic(), every=0.1):
        return time.monotonic()
    return None


def cohort_addresses(fault: int, size: int) -> list[str]:
    addresses = []
    for n in range(size):
        kind = "bounce" if n % 50 == 7 else "grey" if n % 10 == 3 else "reader"
        addresses.append(f"{kind}-f{fault}-{n}@example.org")
    return addresses


def add_cohorts(settings: Settings, cohorts: list[list[str]]) -> None:
    """Every cohort's subscribers, paused until their fault's turn (the planner skips them)."""
    template = Subscriber(email="x@example.org")
    apply_preferences(template, Preferences(send_hour=0))
    shared = {"timezone": template.timezone, "send_hour": template.send_hour, "frequency": template.frequency,
              "weekly_day": template.weekly_day, "preferences": template.preferences}
    with session_scope(settings) as session:
        for addresses in cohorts:
            session.execute(insert(Subscriber), [
                {"email": a, "status": "paused", "confirmed_at": LONG_AGO, "created_at": LONG_AGO,
                 "updated_at": LONG_AGO, **shared} for a in addresses])


def statuses(settings: Settings, addresses: list[str]) -> dict[str, int]:
    with session_scope(settings) as session:
        query = (select(Delivery.status, func.count()).join(Subscriber, Subscriber.id == Delivery.subscriber_id)
                 .where(Subscriber.email.in_(addresses)).group_by(Delivery.status))
        return {status: n for status, n in session.execute(query)}


def run_fault(number: int, name: str, addresses: list[str], settings: Settings, sink: FaultSink,
              workers: list[Worker], inject: Callable[[], str], deadline: float) -> Outcome:
    mine = set(addresses)
    bounces = {a for a in addresses if a.startswith("bounce-")}
    with session_scope(settings) as session:
        session.execute(update(Subscriber).where(Subscriber.email.in_(addresses)).values(status="active"))
    seen_before = len(sink.record.accepted)
    bounce_rcpts_before = sink.record.rcpt_to_bounces
    logs_at = [w.size() for w in workers]
    app = create_app(settings)
    summary = plan(settings, datetime.now(UTC), lambda ids, token: app.send_task(
        "workers.tasks.send_digest_batch", args=[ids, token]).forget())

    def accepted() -> list[Accepted]:
        return [a for a in sink.record.accepted[seen_before:] if a.rcpt in mine]

    wait_until(lambda: len(accepted()) >= summary.claimed // 4, deadline)
    fault_at = time.monotonic()
    note = inject()
    expected = mine - bounces

    def finished() -> bool:
        done = statuses(settings, addresses)
        open_rows = done.get("claimed", 0) + done.get("sending", 0)
        return open_rows == 0 and {a.rcpt for a in accepted()} >= expected

    wait_until(finished, fault_at + deadline - time.monotonic(), every=1.0)
    got = accepted()
    delivered = {a.rcpt for a in got}
    return Outcome(
        fault=f"{number}. {name}", due=summary.claimed, delivered=len(delivered & expected),
        duplicates=len(got) - len(delivered), lost=len(expected - delivered),
        bounce_rcpts=sink.record.rcpt_to_bounces - bounce_rcpts_before, bounces=len(bounces),
        last_after_fault=max((a.at for a in got), default=fault_at) - fault_at,
        tracebacks=sum(w.tracebacks_since(at) for w, at in zip(workers, logs_at, strict=True)),
        statuses=statuses(settings, addresses), note=note,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscribers", type=int, default=2000, help="due subscribers per fault")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=2, help="pool processes per worker")
    parser.add_argument("--deadline", type=float, default=TARGET_SECONDS + 60,
                        help="seconds after each fault before giving up on it")
    args = parser.parse_args()
    for signum in (signal.SIGTERM, signal.SIGHUP):  # stopped from outside: still clean up below
        signal.signal(signum, lambda number, _frame: sys.exit(128 + number))

    folder = Path(tempfile.mkdtemp(prefix="papermail-faults-"))
    database = f"papermail_bench_faults_{os.getpid()}"
    broker = RedisServer(folder)
    sink = FaultSink().start()
    workers: list[Worker] = []
    started = time.monotonic()
    try:
        broker.start()
        settings = Settings(
            _env_file=None, environment="test", secret_key=secrets.token_urlsafe(32), data_dir=folder / "var",
            database_url=create_pg_database(database), broker_url=broker.url, mail_backend="smtp",
            smtp_host="127.0.0.1", smtp_port=sink.port, smtp_timeout_seconds=10,
            mail_from="papermail <digest@papermail.localhost>", base_url="http://papermail.test",
        )
        upgrade(settings)
        today = datetime.now(UTC).date().isoformat()
        ingest_document(settings, hf_json(*[hf_item(f"2612.{n:05d}", f"Paper {n} on efficient language models", 50 - n,
                                                    day=today) for n in range(20)]), source_name="hf-daily")
        faults = ["kill -9 worker", "redis restart", f"sink down {OUTAGE_SECONDS:.0f} s"]
        cohorts = [cohort_addresses(n, args.subscribers) for n in range(len(faults))]
        add_cohorts(settings, cohorts)
        workers = [Worker(settings, folder, f"worker{n + 1}", args.concurrency) for n in range(args.workers)]
        for worker in workers:
            worker.start()
        print(f"# {args.subscribers} due subscribers per fault, {args.workers} workers x {args.concurrency}, "
              f"lease {settings.delivery_lease_seconds} s, retry {settings.delivery_retry_seconds:.0f} s, "
              f"{settings.send_rate_per_second:.0f} msg/s; logs in {folder}", flush=True)

        def kill_worker() -> str:
            victim = workers[0]
            victim.kill()
            victim.start()  # as a supervisor would; the sweep, not the restart, recovers its rows
            return "worker1 killed, restarted"

        def restart_redis() -> str:
            broker.restart()
            return "Redis restarted empty"

        def outage() -> str:
            sink.down()
            down_at = time.monotonic()
            opened_at = watch_breaker(settings, lambda state: state != "closed", down_at + OUTAGE_SECONDS)
            time.sleep(max(down_at + OUTAGE_SECONDS - time.monotonic(), 0))  # the rest of the outage
            sink.up()
            up_at = time.monotonic()
            closed_at = watch_breaker(settings, lambda state: state == "closed", up_at + TARGET_SECONDS)
            seen = [t for t in sink.record.refused_connections if down_at <= t < up_at]
            while_open = [t for t in seen if opened_at is not None and t >= opened_at]
            # Seconds counted from the opening: the attempts before it (one or two per pool
            # process, cut mid-send) are how the breaker learns the relay is down.
            per_second = Counter(int(t - (opened_at or down_at)) for t in while_open)
            peaks.append(max(per_second.values(), default=0))
            opened = f"opened {opened_at - down_at:.1f} s" if opened_at is not None else "never opened"
            closed = f"closed {closed_at - up_at:.1f} s after it came back" if closed_at is not None else "never closed"
            return (f"{len(seen)} connections while down, {len(seen) - len(while_open)} before the breaker opened, "
                    f"at most {peaks[-1]} in a second while open (at second: count {dict(sorted(per_second.items()))}); "
                    f"breaker {opened} into the outage, {closed}")

        peaks: list[int] = []
        results = []
        for number, (name, inject) in enumerate(zip(faults, (kill_worker, restart_redis, outage), strict=True)):
            outcome = run_fault(number + 1, name, cohorts[number], settings, sink, workers, inject, args.deadline)
            outcome.down_peak = peaks[-1] if number == 2 and peaks else 0
            results.append(outcome)
            print(f"{outcome.fault}: due {outcome.due}, delivered {outcome.delivered}, duplicates "
                  f"{outcome.duplicates}, lost {outcome.lost}, 550 RCPTs {outcome.bounce_rcpts} for "
                  f"{outcome.bounces} bounce addresses, last delivery {outcome.last_after_fault:.1f} s after the "
                  f"fault, {outcome.tracebacks} tracebacks; {outcome.note}; rows {outcome.statuses}", flush=True)
        print()
        print(f"{'fault':<20} {'due':>5} {'delivered':>9} {'dupes':>5} {'lost':>4} {'last s':>6} {'tb':>3}  target")
        for o in results:
            missed = o.misses(args.workers)
            verdict = "NOT met: " + ", ".join(missed) if missed else "met"
            print(f"{o.fault:<20} {o.due:>5} {o.delivered:>9} {o.duplicates:>5} {o.lost:>4} "
                  f"{o.last_after_fault:>6.1f} {o.tracebacks:>3}  {verdict}")
        print(f"# total {time.monotonic() - started:.0f} s")
        return 1 if any(o.misses(args.workers) for o in results) else 0
    finally:
        for worker in workers:
            worker.stop()
        broker.kill()
        sink.stop()
        dispose_engines()
        drop_pg_database(database)


if __name__ == "__main__":
    sys.exit(main())
