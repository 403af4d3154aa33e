"""Benchmark rendering: ``python bench/render.py [--n 2000] [--baseline N] [--seed S] [--votes] [--shared]``.

Renders N personalised digests (10 papers each, own recipient, links, matched terms and
highlights) on the compile-once path: MJML compiled once into a Jinja template, rendered once per
shape and spliced per recipient (service/rendering/splice.py), and prints its CPU per digest beside
the plain Jinja render's (Jinja filling the template per recipient), warm and interleaved. In the same run it renders a sample with MJML compiled per recipient (a fresh
renderer each time: the naive baseline) and prints digests/s for both and the ratio. It then builds
each digest's message bytes (``Composer``, unsigned: signing is bench/dkim_signing.py's) and prints
the HTML and message sizes, the body's transfer encodings and the build time per message. Papers are
the recorded Hugging Face daily papers when ../shared is present, else generated text.
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
from dataclasses import replace
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from config.settings import Settings
from service.mail import Composer, SenderIdentity, Unsubscribe
from service.mail.wire import body_part
from service.rendering import (
    DigestContext,
    DigestLinks,
    DigestPaper,
    EmailRenderer,
    RenderedEmail,
    Sender,
    render_digest,
)
from service.rendering.digest import render_digest_plain

FIXTURE = Path(__file__).resolve().parents[1].parent / "shared/fixtures/feeds/hf_daily_papers_2026-06-12.json"
SENDER = Sender(name="papermail", postal_address="papermail, 1 Example Street, 00000 Example City")
TOPICS = ["LLMs", "Efficient inference", "Agents", "Reasoning", "Multimodal", "Evaluation", "Safety"]
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
        }
        for i in range(30)
    ]


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


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=2000, help="digests on the compile-once path")
    parser.add_argument(
        "--baseline", type=int, default=0, help="digests compiled per recipient (default n/10, ≥ 20)"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--votes", action="store_true", help="give every paper its 👍/👎 links, as deliver.py does")
    parser.add_argument("--shared", action="store_true",
                        help="every reader of a paper gets the same highlights (default: two random keywords each)")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    base = load_papers(rng)
    contexts = [make_digest(i, base, rng, args.shared) for i in range(args.n)]
    if args.votes:
        contexts = [with_votes(ctx) for ctx in contexts]
    sample = contexts[: max(20, args.baseline or args.n // 10)]

    renderer = EmailRenderer()  # the first render pays the one compile, inside the timing
    started, cpu = time.perf_counter(), time.process_time()
    sizes = [len(render_digest(ctx, renderer).html.encode()) for ctx in contexts]
    fast, fast_cpu = time.perf_counter() - started, time.process_time() - cpu

    started = time.perf_counter()
    for ctx in sample:
        render_digest(ctx, EmailRenderer())  # naive: MJML compiled (and Jinja parsed) per recipient
    slow = time.perf_counter() - started

    fast_rate, slow_rate = len(contexts) / fast, len(sample) / slow
    print(f"papers: {'recorded HF daily papers' if FIXTURE.is_file() else 'generated'}; 10 per digest")
    print(
        f"compile once:  {len(contexts):>6} digests in {fast:6.2f}s  {fast_rate:9.0f} digests/s"
        f"  (MJML compiles: {renderer.compiler.compiles}; HTML {sum(sizes) / len(sizes) / 1024:.1f} KB avg)"
    )
    print(f"render CPU per digest: {1e6 * fast_cpu / len(contexts):.0f} us (compile once, first pass: shapes cold)")
    spliced_us, plain_us = spliced_vs_plain(contexts[:500], renderer)
    print(f"render CPU per digest, warm, interleaved best of 5: spliced {spliced_us:.0f} us, plain Jinja {plain_us:.0f} us")
    print(f"per recipient: {len(sample):>6} digests in {slow:6.2f}s  {slow_rate:9.0f} digests/s")
    print(f"ratio: {fast_rate / slow_rate:.1f}x (target >= 5x)")
    bench_messages(contexts, renderer)


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


def bench_messages(contexts: list[DigestContext], renderer: EmailRenderer) -> None:
    """Render + compose (headers, MIME, transfer encoding) per digest, unsigned."""
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            _env_file=None, environment="test", secret_key=secrets.token_hex(32), data_dir=Path(tmp),
            mail_from="papermail <digest@papermail.example>", base_url="https://papermail.example",
        )  # fmt: skip
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
    main()
