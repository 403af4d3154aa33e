"""Benchmark rendering: ``python bench/render.py [--n 2000] [--baseline N] [--seed S]``.

Renders N personalised digests (10 papers each, own recipient, links, matched terms and
highlights) on the compile-once path: MJML compiled once into a Jinja template, Jinja filling it
per recipient. In the same run it renders a sample with MJML compiled per recipient (a fresh
renderer each time: the naive baseline) and prints digests/s for both and the ratio. Papers are
the recorded Hugging Face daily papers when ../shared is present, else generated text.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from service.rendering import (
    DigestContext,
    DigestLinks,
    DigestPaper,
    EmailRenderer,
    Sender,
    render_digest,
)

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


def make_digest(i: int, base: list[dict], rng: random.Random) -> DigestContext:
    papers = []
    for p in rng.sample(base, 10):
        terms = rng.sample(p["keywords"], min(2, len(p["keywords"])))
        topics = rng.sample(TOPICS, 2)
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
    args = parser.parse_args()
    rng = random.Random(args.seed)
    base = load_papers(rng)
    contexts = [make_digest(i, base, rng) for i in range(args.n)]
    sample = contexts[: max(20, args.baseline or args.n // 10)]

    renderer = EmailRenderer()  # the first render pays the one compile, inside the timing
    started = time.perf_counter()
    sizes = [len(render_digest(ctx, renderer).html.encode()) for ctx in contexts]
    fast = time.perf_counter() - started

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
    print(f"per recipient: {len(sample):>6} digests in {slow:6.2f}s  {slow_rate:9.0f} digests/s")
    print(f"ratio: {fast_rate / slow_rate:.1f}x (target >= 5x)")


if __name__ == "__main__":
    main()
