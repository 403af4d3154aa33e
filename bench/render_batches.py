"""Benchmark the worker's digest path in process: ``python bench/render_batches.py [--subscribers 1000]
[--batch 200] [--rounds 3] [--gc threshold] [--profile]``.

The data of bench/e2e.py (one day of 300 generated papers through ``ingest_document``, subscribers
with 1–3 topics and 0–4 keywords) in a throwaway SQLite database; matched once. Then, batch by
batch as a worker meets them (the batch's own ``Paper`` rows, readers of a batch sharing papers),
``digest_context`` (vote links on) and ``render_digest`` are timed apart, in CPU time per digest,
and the spliced render is compared with the plain Jinja one byte for byte. ``--rounds`` repeats
the whole pass (caches warm after the first) and prints each (``--plain``: the passes render the
plain Jinja way); then one batch both ways, warm and interleaved; ``--profile`` prints a cProfile
of the cold pass's later batches (new readers; SORT=cumulative ROWS=60 in the environment to sort
and cut it otherwise). The first pass's later batches are the worker's steady state: new readers of
papers already seen. The matches' reasons are worked out before the timed passes (matching's
work, timed apart). workers.tasks is imported: a worker's heap holds Celery,
and a bigger heap makes the default GC's collections during rendering dearer.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import os
import pstats
import random
import secrets
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import select

from bench.e2e import ingest_day, insert_subscribers
from config.settings import Settings
from service.digests.compose import digest_context
from service.digests.window import already_sent, build_index, match_requests
from service.matching.match import match_many
from service.matching.records import Match
from service.rendering import DigestContext, EmailRenderer, RenderedEmail, Sender, render_digest
from service.rendering.digest import render_digest_plain
from service.storage.db import session_scope
from service.storage.migrate import upgrade
from service.storage.models import Paper, Subscriber, Topic
from service.digests.deliver import BATCH_GC_THRESHOLD
import workers.tasks  # noqa: F401  (a worker's heap: Celery and the app loaded, as render figures should see)

Work = list[tuple[Subscriber, Sequence[Match]]]


def load(settings: Settings, subscribers: int, now: datetime) -> tuple[Work, dict[str, str]]:
    upgrade(settings)
    ingest_day(settings, now, seed=1)
    insert_subscribers(settings, subscribers, seed=1)
    lookback = timedelta(days=settings.lookback_days)
    with session_scope(settings) as session:
        readers = list(session.scalars(select(Subscriber).order_by(Subscriber.id)))
        index, papers = build_index(session, now, lookback)
        sent = already_sent(session, [s.id for s in readers], papers)
        results = match_many(match_requests(readers, sent, now, lookback), index)
        names = {slug: name for slug, name in session.execute(select(Topic.slug, Topic.name))}
        session.expunge_all()
        work = [(s, m) for s, m in zip(readers, results, strict=True) if m]
    # Matches explain themselves on first access (service.matching.records.Match): matching's
    # work, which the worker's digest_context happens to trigger. Done here, timed apart.
    cpu = time.process_time()
    for _, matches in work:
        for match in matches:
            _ = match.reasons
    print(f"explaining the matches (matching's, before the timed passes): "
          f"{1e6 * (time.process_time() - cpu) / len(work):.0f} us CPU per digest")
    return work, names


def batch_papers(settings: Settings, now: datetime) -> dict[int, Paper]:
    """A batch's own rows, as deliver.py loads them (fresh objects: per-object caches start cold)."""
    with session_scope(settings) as session:
        _, papers = build_index(session, now, timedelta(days=settings.lookback_days))
        for paper in papers.values():
            _ = paper.topics  # loaded before the session closes, as the worker's batch holds them
        session.expunge_all()
        return papers


Render = Callable[[DigestContext, EmailRenderer], RenderedEmail]


def one_pass(settings: Settings, work: Work, names: dict[str, str], now: datetime, batch: int,
             renderer: EmailRenderer, check: bool, render: Render = render_digest, gc_mode: str = "default",
             per_batch: list[tuple[float, float, int]] | None = None, profiler: cProfile.Profile | None = None
             ) -> tuple[float, float, int]:
    """(context CPU s, render CPU s, digests) over WORK in batches of BATCH; PER_BATCH, when
    given, gets each batch's (context s, render s, digests)."""
    sender = Sender.from_settings(settings)
    ctx_s = render_s = 0.0
    for start in range(0, len(work), batch):
        if gc_mode == "task":  # a freeze as each batch starts (measured, not kept)
            gc.collect()
            gc.freeze()
        papers = batch_papers(settings, now)
        if gc_mode == "freeze":  # as the worker does once a batch's rows are loaded
            gc.collect()
            gc.freeze()
        group = work[start:start + batch]
        if profiler is not None and start > 0:  # the first batch compiles: profiled are the new readers
            profiler.enable()
        cpu = time.process_time()
        contexts: list[DigestContext] = [digest_context(settings, s, m, papers, names, now.date(), sender, s.id)
                                         for s, m in group]
        mid = time.process_time()
        rendered = [render(ctx, renderer) for ctx in contexts]
        end = time.process_time()
        if profiler is not None:
            profiler.disable()
        ctx_s, render_s = ctx_s + mid - cpu, render_s + end - mid
        if per_batch is not None:
            per_batch.append((mid - cpu, end - mid, len(group)))
        if check:
            plain = EmailRenderer()
            for ctx, fast in zip(contexts, rendered, strict=True):
                if render_digest_plain(ctx, plain) != fast:
                    raise SystemExit(f"spliced render differs from the plain one for {ctx.recipient}")
    return ctx_s, render_s, len(work)


def interleaved(settings: Settings, work: Work, names: dict[str, str], now: datetime, renderer: EmailRenderer
                ) -> dict[str, float]:
    """Both ways on one batch's contexts, warm, interleaved, best of 5 (the machine is shared)."""
    sample = _contexts(settings, work, names, now)
    plain_renderer = EmailRenderer()
    best = {"spliced": 1e9, "plain": 1e9}
    ways: list[tuple[str, Render, EmailRenderer]] = [("spliced", render_digest, renderer),
                                                     ("plain", render_digest_plain, plain_renderer)]
    for _ in range(5):
        for label, render, r in ways:
            cpu = time.process_time()
            for ctx in sample:
                render(ctx, r)
            best[label] = min(best[label], (time.process_time() - cpu) / len(sample))
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--plain", action="store_true", help="the passes render the plain Jinja way")
    parser.add_argument("--gc", choices=["default", "task", "freeze", "threshold", "off"], default="default",
                        help="task: gc.collect() and gc.freeze() as each batch starts; "
                        "freeze: the same once its rows are loaded; threshold: deliver_batch's BATCH_GC_THRESHOLD; "
                        "off: no cyclic GC")
    args = parser.parse_args()
    now = datetime.now(UTC).replace(microsecond=0)
    random.seed(1)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            _env_file=None, environment="test", secret_key=secrets.token_hex(32), data_dir=Path(tmp),
            base_url="https://papermail.example", mail_from="papermail <digest@papermail.example>",
        )
        work, names = load(settings, args.subscribers, now)
        sizes = [len(m) for _, m in work]
        print(f"{len(work)} digests, {sum(sizes) / len(sizes):.1f} papers each, batches of {args.batch}")
        renderer = EmailRenderer()
        render: Render = render_digest_plain if args.plain else render_digest
        print(f"passes render {'plain (render_digest_plain)' if args.plain else 'spliced (render_digest)'}")
        if args.gc == "off":
            gc.disable()
        if args.gc == "threshold":
            gc.set_threshold(*BATCH_GC_THRESHOLD)
        # The cold pass's first batch compiles and meets every shape; its later batches are the
        # worker's steady state (new readers, papers already seen); later passes, the same readers.
        profiler = cProfile.Profile() if args.profile else None
        for n in range(args.rounds):
            batches: list[tuple[float, float, int]] = []
            ctx_s, render_s, count = one_pass(settings, work, names, now, args.batch, renderer, n == 0, render,
                                              args.gc, batches, profiler if n == 0 else None)
            print(f"pass {n + 1}{' (cold)' if n == 0 else ''}: digest_context {1e6 * ctx_s / count:5.0f} us, "
                  f"render {1e6 * render_s / count:5.0f} us, together {1e6 * (ctx_s + render_s) / count:5.0f} us"
                  " CPU per digest")
            if n == 0 and len(batches) > 1:
                first, rest = batches[0], batches[1:]
                c, r, k = (sum(b[i] for b in rest) for i in range(3))
                print(f"  first batch: {1e6 * first[0] / first[2]:5.0f} + {1e6 * first[1] / first[2]:5.0f} us; "
                      f"later batches (new readers): context {1e6 * c / k:5.0f} us, render {1e6 * r / k:5.0f} us, "
                      f"together {1e6 * (c + r) / k:5.0f} us")
        best = interleaved(settings, work[: args.batch], names, now, renderer)
        print(f"one batch again, interleaved: spliced {1e6 * best['spliced']:.0f} us, "
              f"plain {1e6 * best['plain']:.0f} us CPU per digest")
        html = [render_digest(ctx, renderer).html for ctx in _contexts(settings, work[:200], names, now)]
        ten = [len(h.encode()) for h, (_, m) in zip(html, work, strict=False) if len(m) == 10]
        if ten:
            print(f"HTML of a 10-paper digest: {sum(ten) / len(ten) / 1024:.1f} KB avg (max {max(ten) / 1024:.1f})")
        if profiler is not None:
            pstats.Stats(profiler).sort_stats(os.environ.get("SORT", "tottime")).print_stats(int(os.environ.get("ROWS", "30")))


def _contexts(settings: Settings, work: Work, names: dict[str, str], now: datetime) -> list[DigestContext]:
    papers = batch_papers(settings, now)
    sender = Sender.from_settings(settings)
    return [digest_context(settings, s, m, papers, names, now.date(), sender, s.id) for s, m in work]


if __name__ == "__main__":
    main()
