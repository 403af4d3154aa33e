"""Benchmark the worker's digest path in process: ``python bench/render_batches.py [--subscribers 1000]
[--batch 200] [--rounds 3] [--profile]``.

The data of bench/e2e.py (one day of 300 generated papers through ``ingest_document``, subscribers
with 1–3 topics and 0–4 keywords) in a throwaway SQLite database; matched once. Then, batch by
batch as a worker meets them (the batch's own ``Paper`` rows, readers of a batch sharing papers),
``digest_context`` (vote links on) and ``render_digest`` are timed apart, in CPU time per digest,
and the spliced render is compared with the plain Jinja one byte for byte. ``--rounds`` repeats
the whole pass (caches warm after the first) and prints each (``--plain``: the passes render the
plain Jinja way); then one batch both ways, warm and interleaved; ``--profile`` prints a cProfile
of one more pass.
"""

from __future__ import annotations

import argparse
import cProfile
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
        return [(s, m) for s, m in zip(readers, results, strict=True) if m], names


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
             renderer: EmailRenderer, check: bool, render: Render = render_digest) -> tuple[float, float, int]:
    """(context CPU s, render CPU s, digests) over WORK in batches of BATCH."""
    sender = Sender.from_settings(settings)
    ctx_s = render_s = 0.0
    for start in range(0, len(work), batch):
        papers = batch_papers(settings, now)
        group = work[start:start + batch]
        cpu = time.process_time()
        contexts: list[DigestContext] = [digest_context(settings, s, m, papers, names, now.date(), sender, s.id)
                                         for s, m in group]
        mid = time.process_time()
        rendered = [render(ctx, renderer) for ctx in contexts]
        end = time.process_time()
        ctx_s, render_s = ctx_s + mid - cpu, render_s + end - mid
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
        for n in range(args.rounds):
            ctx_s, render_s, count = one_pass(settings, work, names, now, args.batch, renderer, n == 0, render)
            print(f"pass {n + 1}{' (cold)' if n == 0 else ''}: digest_context {1e6 * ctx_s / count:5.0f} us, "
                  f"render {1e6 * render_s / count:5.0f} us, together {1e6 * (ctx_s + render_s) / count:5.0f} us"
                  " CPU per digest")
        best = interleaved(settings, work[: args.batch], names, now, renderer)
        print(f"one batch again, interleaved: spliced {1e6 * best['spliced']:.0f} us, "
              f"plain {1e6 * best['plain']:.0f} us CPU per digest")
        html = [render_digest(ctx, renderer).html for ctx in _contexts(settings, work[:200], names, now)]
        ten = [len(h.encode()) for h, (_, m) in zip(html, work, strict=False) if len(m) == 10]
        if ten:
            print(f"HTML of a 10-paper digest: {sum(ten) / len(ten) / 1024:.1f} KB avg (max {max(ten) / 1024:.1f})")
        if args.profile:
            profiler = cProfile.Profile()
            profiler.enable()
            one_pass(settings, work, names, now, args.batch, renderer, False, render)
            profiler.disable()
            pstats.Stats(profiler).sort_stats("tottime").print_stats(25)


def _contexts(settings: Settings, work: Work, names: dict[str, str], now: datetime) -> list[DigestContext]:
    papers = batch_papers(settings, now)
    sender = Sender.from_settings(settings)
    return [digest_context(settings, s, m, papers, names, now.date(), sender, s.id) for s, m in work]


if __name__ == "__main__":
    main()
