"""Benchmark rendering: ``python bench/render.py [--n 2000] [--baseline N] [--batch 200] [--seed S]``.

Renders N personalised digests the way a worker does now: readers (3–5 topics and 1–4 keywords
each, up to 10 papers: most digests of the 30-paper day are full) matched by ``match_many`` over the
recorded Hugging Face daily papers (topics by the taxonomy, as ingest stores them), a batch at a
time, with a worker's GC settings; then per reader ``digest_context`` (``ReaderPaper`` blocks
shared by readers with equal reasons, their own vote links and recipient) and ``render_digest`` on
the compile-once path: MJML compiled once into a Jinja template, rendered once per shape and
spliced per recipient (service/rendering/splice.py). Every digest is
checked byte for byte against the plain Jinja render of its reference papers (exit status 1 if one
differs). Printed: CPU per digest of building the contexts and of rendering them (first pass, then
warm and interleaved beside the plain Jinja render); and, in the same run, a sample rendered with
MJML compiled per recipient (a fresh renderer each time: the naive baseline), digests/s for both
and the ratio against its target. It then builds each digest's message bytes (``Composer``,
unsigned: signing is bench/dkim_signing.py's) and prints the HTML and message sizes, the body's
transfer encodings and the build time per message. Papers are generated text when ../shared is
absent. (bench/render_batches.py runs the same path over bench/e2e.py's 300 ingested papers in a
database, batch by batch.)
"""

from __future__ import annotations

import argparse
import binascii
import json
import random
import re
import secrets
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from config.settings import Settings
from service.digests.compose import digest_context
from service.digests.deliver import batch_gc_threshold, freeze_between_batches
from service.mail import Composer, SenderIdentity, Unsubscribe
from service.mail.wire import body_part
from service.matching import IndexedPaper, MatchRequest, PaperIndex, match_many
from service.rendering import DigestContext, DigestLinks, DigestPaper, EmailRenderer, RenderedEmail, Sender, render_digest
from service.rendering.digest import render_digest_plain
from service.storage.models import Paper, Subscriber, Topic
from service.subscribers.preferences import Preferences
from service.topics.taxonomy import Taxonomy, classify, load_taxonomy

FIXTURE = Path(__file__).resolve().parents[1].parent / "shared/fixtures/feeds/hf_daily_papers_2026-06-12.json"
NOW = datetime(2026, 6, 12, 12, tzinfo=UTC)
TARGET_RATIO = 5.0  # compile once vs MJML per recipient
PAPERS_PER_DIGEST = 10
# Why some papers are news again (window.marks_for): a few papers carry one
MARKS = ("code released", "now trending")
EXTRA_KEYWORDS = ["transformer", "benchmark", "LLM", "quantization", "agents", "robot", "diffusion", "reasoning"]
WORDS = [
    "model",
    "training",
    "data",
    "language",
    "agents",
    "reasoning",
    "quantization",
    "benchmark",
    "inference",
    "attention",
    "diffusion",
    "retrieval",
    "tokens",
    "scaling",
    "evaluation",
    "policy",
    "reward",
    "vision",
    "robot",
]


def load_papers(rng: random.Random) -> list[dict]:
    """Title, abstract, authors, organisation, upvotes and keywords of each base paper."""
    if FIXTURE.is_file():
        items = [entry["paper"] for entry in json.loads(FIXTURE.read_text())]
        return [
            {
                "id": p["id"],
                "title": p["title"],
                "abstract": p.get("summary", ""),
                "authors": [a["name"] for a in p.get("authors", [])],
                "organization": (p.get("organization") or {}).get("fullname"),
                "upvotes": p.get("upvotes"),
                "keywords": p.get("ai_keywords") or ["model"],
                "ai_summary": p.get("ai_summary"),
            }
            for p in items
        ]
    return [
        {
            "id": f"2511.{i:05d}",
            "title": " ".join(rng.choices(WORDS, k=10)).capitalize(),
            "abstract": " ".join(rng.choices(WORDS, k=220)),
            "authors": [f"Author {j}" for j in range(8)],
            "organization": "Example Lab",
            "upvotes": rng.randint(0, 200),
            "keywords": rng.sample(WORDS, 4),
            "ai_summary": None,
        }
        for i in range(30)
    ]


def window(base: list[dict], taxonomy: Taxonomy) -> tuple[dict[int, Paper], list[IndexedPaper]]:
    """The papers as a worker's batch holds them (ORM rows, their topics as ingest classifies them)
    and as the matcher indexes them."""
    topics = {t.slug: Topic(slug=t.slug, name=t.name) for t in taxonomy.topics}
    rows: dict[int, Paper] = {}
    indexed: list[IndexedPaper] = []
    for n, p in enumerate(base):
        paper_id = 1000 + n
        slugs = classify(p["title"], p["abstract"], (), None, taxonomy)
        rows[paper_id] = Paper(
            id=paper_id, uid=f"hf:{p['id']}", arxiv_id=p["id"], title=p["title"], abstract=p["abstract"],
            authors=p["authors"], organization=p["organization"], upvotes=p["upvotes"] or 0,
            hf_url=f"https://huggingface.co/papers/{p['id']}", pdf_url=f"https://arxiv.org/pdf/{p['id']}",
            github_repo="https://github.com/example/code" if n % 3 == 0 else None, ai_summary=p["ai_summary"],
            topics=[topics[slug] for slug in slugs],
        )  # fmt: skip
        indexed.append(IndexedPaper(
            id=paper_id, title=p["title"], abstract=p["abstract"], authors=tuple(p["authors"]),
            topics=frozenset(slugs), upvotes=p["upvotes"] or 0, first_seen_at=NOW - timedelta(hours=n % 12),
            sources=frozenset({"hf_daily"}),
        ))  # fmt: skip
    return rows, indexed


def readers(n: int, base: list[dict], taxonomy: Taxonomy, rng: random.Random) -> list[tuple[Subscriber, MatchRequest]]:
    """N readers of topics and keywords, as bench/e2e.py's but of more topics (3–5, not 1–3) and a keyword
    at least, so that a day of 30 papers fills most of their digests."""
    slugs = [t.slug for t in taxonomy.topics]
    keywords = sorted({k for p in base for k in p["keywords"]} | set(EXTRA_KEYWORDS))
    made = []
    for i in range(n):
        prefs = Preferences(topics=tuple(rng.sample(slugs, rng.randint(3, 5))),
                            keywords=tuple(rng.sample(keywords, rng.randint(1, 4))), max_papers=PAPERS_PER_DIGEST)
        subscriber = Subscriber(id=i + 1, email=f"reader{i:07d}@example{i % 97}.org", token_version=1)
        made.append((subscriber, MatchRequest(prefs, NOW - timedelta(days=1))))
    return made


@dataclass
class Run:
    """One pass of the worker's path over every reader, a batch at a time, and its CPU seconds."""

    contexts: list[DigestContext] = field(default_factory=list)
    rendered: list[RenderedEmail] = field(default_factory=list)
    explain_s: float = 0.0  # matching's lazy reasons, read by digest_context
    context_s: float = 0.0
    render_s: float = 0.0  # CPU
    render_wall: float = 0.0


def worker_pass(settings: Settings, people: list[tuple[Subscriber, MatchRequest]], base: list[dict], batch: int,
                renderer: EmailRenderer) -> tuple[Run, int]:
    """As deliver_batch runs a batch, with its GC settings (thresholds raised, the heap frozen between
    batches): the batch's readers matched, then each reader's digest_context and render_digest (the
    sends left out). Readers with no match get no digest. Also returns the number of papers."""
    taxonomy = load_taxonomy()
    rows, indexed = window(base, taxonomy)
    index = PaperIndex.build(indexed, now=NOW, taxonomy=taxonomy)
    names = {t.slug: t.name for t in taxonomy.topics}
    sender = Sender.from_settings(settings)
    marks = {paper_id: (MARKS[n % len(MARKS)],) for n, paper_id in enumerate(sorted(rows)[::10])}
    run = Run()
    freeze_between_batches()
    for start in range(0, len(people), batch):
        group = people[start:start + batch]
        with batch_gc_threshold():
            ranked = match_many([r for _, r in group], index)
            cpu = time.process_time()
            work = [(subscriber, list(matches)) for (subscriber, _), matches in zip(group, ranked, strict=True) if matches]
            for _, matches in work:  # the lazy part of matching, which digest_context would trigger
                for match in matches:
                    _ = match.reasons
            explained = time.process_time()
            contexts = [digest_context(settings, subscriber, matches, rows, names, NOW.date(), sender, subscriber.id,
                                       {m.paper_id: marks[m.paper_id] for m in matches if m.paper_id in marks})
                        for subscriber, matches in work]
            built, wall = time.process_time(), time.perf_counter()
            run.rendered += [render_digest(ctx, renderer) for ctx in contexts]
            run.render_wall += time.perf_counter() - wall
            run.explain_s += explained - cpu
            run.context_s += built - explained
            run.render_s += time.process_time() - built
            run.contexts += contexts
    return run, len(rows)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=2000, help="readers (digests) on the compile-once path")
    parser.add_argument(
        "--baseline", type=int, default=0, help="digests compiled per recipient (default n/10, ≥ 20)"
    )
    parser.add_argument("--batch", type=int, default=200, help="readers per batch, as a worker's")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    base = load_papers(rng)
    settings = bench_settings()
    renderer = EmailRenderer()  # the first render pays the one compile, inside the timing
    run, papers = worker_pass(settings, readers(args.n, base, load_taxonomy(), rng), base, args.batch, renderer)
    contexts, n = run.contexts, len(run.contexts)
    sizes = [len(r.html.encode()) for r in run.rendered]
    plain_renderer = EmailRenderer()
    differ = [ctx.recipient for ctx, r in zip(contexts, run.rendered, strict=True)
              if render_digest_plain(ctx, plain_renderer) != r]
    sample = contexts[: max(20, args.baseline or n // 10)]

    started = time.perf_counter()
    for ctx in sample:
        render_digest(ctx, EmailRenderer())  # naive: MJML compiled (and Jinja parsed) per recipient
    slow = time.perf_counter() - started

    fast_rate, slow_rate = n / run.render_wall, len(sample) / slow
    per_digest = sum(len(ctx.papers) for ctx in contexts) / n
    print(f"papers: {'recorded HF daily papers' if FIXTURE.is_file() else 'generated'} ({papers}); "
          f"{n} digests of {per_digest:.1f} papers on average (at most {PAPERS_PER_DIGEST}), batches of {args.batch}")
    print(f"CPU per digest, as a worker's batch (its GC settings): explaining the matches {1e6 * run.explain_s / n:.0f} us "
          f"(matching's), digest_context {1e6 * run.context_s / n:.0f} us, render {1e6 * run.render_s / n:.0f} us")
    print(
        f"compile once:  {n:>6} digests in {run.render_wall:6.2f}s  {fast_rate:9.0f} digests/s"
        f"  (MJML compiles: {renderer.compiler.compiles}; HTML {sum(sizes) / len(sizes) / 1024:.1f} KB avg)"
    )
    spliced_us, plain_us = spliced_vs_plain(contexts[:500], renderer)
    print(f"render CPU per digest, warm, interleaved best of 5: spliced {spliced_us:.0f} us, plain Jinja {plain_us:.0f} us")
    print(f"spliced == plain Jinja, byte for byte: {n - len(differ)}/{n} digests")
    print(f"per recipient: {len(sample):>6} digests in {slow:6.2f}s  {slow_rate:9.0f} digests/s")
    ratio = fast_rate / slow_rate
    print(f"ratio: {ratio:.1f}x (target >= {TARGET_RATIO:.0f}x: {'met' if ratio >= TARGET_RATIO else 'NOT met'})")
    bench_messages(settings, contexts, renderer)
    if differ:
        print(f"spliced render differs from the plain one for {len(differ)} digests, first {differ[0]}")
        return 1
    return 0


def bench_settings() -> Settings:
    with tempfile.TemporaryDirectory() as tmp:  # nothing is written: the settings want a data dir
        return Settings(
            _env_file=None, environment="test", secret_key=secrets.token_hex(32), data_dir=Path(tmp),
            mail_from="papermail <digest@papermail.example>", base_url="https://papermail.example",
            postal_address="papermail, 1 Example Street, 00000 Example City",
        )  # fmt: skip


def spliced_vs_plain(contexts: list[DigestContext], renderer: EmailRenderer) -> tuple[float, float]:
    """CPU µs per digest of render_digest (spliced) and render_digest_plain (Jinja per reader)."""
    plain_renderer = EmailRenderer()
    best = [1e9, 1e9]
    for _ in range(5):
        for n, (render, r) in enumerate(((render_digest, renderer), (render_digest_plain, plain_renderer))):
            cpu = time.process_time()
            for ctx in contexts:
                render(ctx, r)
            best[n] = min(best[n], 1e6 * (time.process_time() - cpu) / len(contexts))
    return best[0], best[1]


# -- synthetic digests of DigestPapers: what bench/compose.py and bench/dkim_signing.py build their
# messages from (message building and signing; the worker's render path is the one above) ------------
SENDER = Sender(name="papermail", postal_address="papermail, 1 Example Street, 00000 Example City")
TOPICS = ["LLMs", "Efficient inference", "Agents", "Reasoning", "Multimodal", "Evaluation", "Safety"]


def spans(text: str, terms: list[str]) -> tuple[tuple[int, int], ...]:
    return tuple(m.span() for t in terms for m in re.finditer(re.escape(t), text, flags=re.IGNORECASE))


def make_digest(i: int, base: list[dict], rng: random.Random, shared: bool = False) -> DigestContext:
    papers = []
    for p in rng.sample(base, 10):
        # SHARED: every reader of a paper gets the same highlights (readers of topics, whose
        # evidence is the paper's own); else each picks two of its keywords (the worst case).
        terms = p["keywords"][:2] if shared else rng.sample(p["keywords"], min(2, len(p["keywords"])))
        topics = [TOPICS[len(p["title"]) % len(TOPICS)], TOPICS[len(p["abstract"]) % len(TOPICS)]]  # the paper's own
        papers.append(
            DigestPaper(
                title=p["title"],
                url=f"https://huggingface.co/papers/{p['id']}",
                authors=p["authors"],
                organization=p["organization"],
                upvotes=p["upvotes"],
                topics=topics,
                abstract=p["abstract"],
                title_spans=spans(p["title"], terms),
                abstract_spans=spans(p["abstract"], terms),
                pdf_url=f"https://arxiv.org/pdf/{p['id']}",
                code_url="https://github.com/example/code",
                matched_terms=terms,
                matched_topics=topics[:1],
            )
        )
    token = f"{i:08x}{rng.getrandbits(64):016x}"
    return DigestContext(
        recipient=f"reader{i}@example.org",
        date=date(2026, 6, 12),
        papers=papers,
        sender=SENDER,
        links=DigestLinks(
            preferences_url=f"https://papermail.example/preferences/{token}",
            unsubscribe_url=f"https://papermail.example/unsubscribe/{token}",
            unsubscribe_token=token,
            view_in_browser_url=f"https://papermail.example/digest/{token}",
        ),
    )


def with_votes(ctx: DigestContext) -> DigestContext:
    token = ctx.links.unsubscribe_token
    papers = [
        replace(p, more_url=f"https://papermail.example/vote/{token}.{i}.up.0123456789abcdef",
                less_url=f"https://papermail.example/vote/{token}.{i}.down.0123456789abcdef")
        for i, p in enumerate(ctx.papers)
    ]  # fmt: skip
    return replace(ctx, papers=papers)


def encodings(data: bytes) -> str:
    """The parts' Content-Transfer-Encodings in order, e.g. "7bit+quoted-printable"."""
    found = re.findall(rb"Content-Transfer-Encoding: ([\w-]+)", data)
    return "+".join(value.decode() for value in found)


def qp_whole(text: str) -> bytes:
    return binascii.b2a_qp(text.replace("\n", "\r\n").encode(), quotetabs=False, istext=True)


def bench_messages(settings: Settings, contexts: list[DigestContext], renderer: EmailRenderer) -> None:
    """Render + compose (headers, MIME, transfer encoding) per digest, unsigned."""
    composer = Composer(SenderIdentity.from_settings(settings))
    sizes: list[int] = []
    kinds: Counter[str] = Counter()
    compose_s = 0.0
    started = time.perf_counter()
    for i, ctx in enumerate(contexts):
        rendered = render_digest(ctx, renderer)
        before = time.perf_counter()
        data = composer.compose(
            to_address=ctx.recipient, subject=rendered.subject, text=rendered.text, html=rendered.html,
            message_key=ctx.recipient, delivery_id=i,
            unsubscribe=Unsubscribe(ctx.links.unsubscribe_url, ctx.links.unsubscribe_token),
        ).data  # fmt: skip
        compose_s += time.perf_counter() - before
        sizes.append(len(data))
        kinds[encodings(data)] += 1
    total = time.perf_counter() - started
    n = len(contexts)
    # The bodies alone, same HTML and text: how they go out now vs both parts through b2a_qp whole
    # (the session-start encoding).
    sample = [render_digest(ctx, renderer) for ctx in contexts[:200]]

    def per_message(encode: Callable[[RenderedEmail], bytes]) -> float:
        started = time.perf_counter()
        for r in sample:
            encode(r)
        return 1e6 * (time.perf_counter() - started) / len(sample)

    # Interleaved, best of 7: on a shared machine one pass alone says little.
    rounds = [
        (per_message(lambda r: body_part("plain", r.text, "=_pm.x") + body_part("html", r.html, "=_pm.x")),
         per_message(lambda r: qp_whole(r.text) + qp_whole(r.html)))
        for _ in range(7)
    ]  # fmt: skip
    now_us, qp_us = min(now for now, _ in rounds), min(qp for _, qp in rounds)
    html_part = sum(len(body_part("html", r.html, "=_pm.x")) for r in sample) / len(sample)
    print(
        f"messages: {sum(sizes) / n / 1024:.1f} KB avg (max {max(sizes) / 1024:.1f}); "
        f"bodies: {', '.join(f'{k} x{v}' for k, v in kinds.most_common())}"
    )
    print(
        f"build per message: {1e6 * total / n:.0f} us (render + compose), "
        f"compose alone {1e6 * compose_s / n:.0f} us"
    )
    print(
        f"body encoding per message: {now_us:.0f} us as sent vs {qp_us:.0f} us b2a_qp on both parts; "
        f"HTML part on the wire {html_part / 1024:.1f} KB"
    )


if __name__ == "__main__":
    raise SystemExit(main())
