"""Benchmark matching: ``python bench/match.py [--subscribers N] [--papers N] [--seed S]``.

Synthetic but realistic load: subscribers with 1–5 topics, 0–10 keywords and phrases (from a
built-in vocabulary and, when ../shared is present, the fixture papers' ``ai_keywords``), some
exclusions, followed authors and thresholds; papers with real-length abstracts stitched from the
fixture abstracts (or generated when the fixtures are absent). Prints index build time;
subscribers/s of ``match_many`` (reasons left to first access), of ``match_many`` with every
match's reasons then read (the full result a digest shows), and of selection alone; peak
memory; the reference matcher's rate on a sample of the same subscribers (checking it agrees)
and the ratio. Each rate also shows CPU µs per subscriber, which a busy machine inflates less
than wall time. Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import resource
import sys
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from service.matching import IndexedPaper, Match, MatchRequest, PaperIndex, match_many
from service.matching.reference import reference_match
from service.subscribers.preferences import Preferences

T = TypeVar("T")
FIXTURE = Path(__file__).resolve().parents[1].parent / "shared/fixtures/feeds/hf_daily_papers_2026-06-12.json"
TOPICS = ["llm", "efficient-inference", "ml-systems", "agents", "reasoning", "multimodal", "computer-vision", "3d-vision", "generative-media", "speech-audio", "reinforcement-learning", "robotics", "safety-alignment", "hardware", "neurosymbolic", "theory", "retrieval-rag", "evaluation", "code-generation"]
VOCABULARY = [
    "LLM",
    "large language models",
    "language model",
    "transformer",
    "attention",
    "diffusion",
    "diffusion models",
    "mixture of experts",
    "quantization",
    "speculative decoding",
    "KV cache",
    "distillation",
    "pruning",
    "agent",
    "tool use",
    "planning",
    "chain of thought",
    "reasoning",
    "mathematical reasoning",
    "vision-language",
    "multimodal",
    "image generation",
    "video generation",
    "segmentation",
    "object detection",
    "NeRF",
    "Gaussian splatting",
    "point cloud",
    "speech",
    "text-to-speech",
    "audio",
    "reinforcement learning",
    "RLHF",
    "reward model",
    "policy",
    "robot",
    "manipulation",
    "alignment",
    "jailbreak",
    "safety",
    "red teaming",
    "GPU",
    "FPGA",
    "accelerator",
    "symbolic",
    "theorem proving",
    "generalization bounds",
    "retrieval",
    "retrieval-augmented generation",
    "RAG",
    "benchmark",
    "evaluation",
    "LLM-as-a-judge",
    "code generation",
    "program synthesis",
    "software engineering",
    "fine-tuning",
    "LoRA",
    "scaling laws",
    "pretraining",
    "tokenizer",
    "embedding",
    "contrastive learning",
    "3D",
    "$\\alpha$-divergence",
    "zero-shot",
    "few-shot",
    "in-context learning",
    "hallucination",
]
FILLER = ["we", "propose", "a", "novel", "method", "that", "improves", "results", "on", "several", "tasks", "while", "reducing", "cost", "our", "experiments", "show", "consistent", "gains", "over", "strong", "baselines", "and", "the", "analysis", "explains", "why"]
AUTHORS = ["Ada Lovelace", "Alan Turing", "Grace Hopper", "José García", "Zoë Müller", "Li Wei", "Ana Núñez"]


def load_fixture() -> list[dict]:
    if not FIXTURE.is_file():
        return []
    return [item["paper"] for item in json.loads(FIXTURE.read_text())]


def make_papers(n: int, fixture: list[dict], rng: random.Random, now: datetime) -> list[IndexedPaper]:
    sentences = [s.strip() + "." for p in fixture for s in p.get("summary", "").split(". ") if s.strip()]
    titles = [p["title"] for p in fixture]
    authors = sorted({a["name"] for p in fixture for a in p.get("authors", [])}) + AUTHORS
    papers = []
    for i in range(n):
        if sentences:
            abstract = " ".join(rng.sample(sentences, min(len(sentences), rng.randint(7, 11))))
            title = rng.choice(titles) + (f": {rng.choice(VOCABULARY)}" if rng.random() < 0.5 else "")
        else:
            words = [rng.choice(VOCABULARY) if rng.random() < 0.15 else rng.choice(FILLER) for _ in range(220)]
            abstract, title = " ".join(words) + ".", " ".join(rng.sample(VOCABULARY, 3)).title()
        papers.append(
            IndexedPaper(
                id=i + 1,
                title=title,
                abstract=abstract,
                authors=tuple(rng.sample(authors, rng.randint(1, min(8, len(authors))))),
                topics=frozenset(rng.sample(TOPICS, rng.randint(1, 3))),
                upvotes=int(rng.paretovariate(1.2)) - 1,
                first_seen_at=now - timedelta(hours=rng.uniform(0, 24 * 7)),
                sources=frozenset([rng.choice(["hf_daily", "arxiv", "rss"])]),
            )
        )
    return papers


def make_requests(
    n: int, fixture: list[dict], papers: list[IndexedPaper], rng: random.Random, now: datetime
) -> list[MatchRequest]:
    ai_keywords = sorted({k for p in fixture for k in p.get("ai_keywords", []) if len(k) <= 100})
    authors = sorted({a for p in papers for a in p.authors})
    context = {"topics": set(TOPICS)}
    windows = [now - timedelta(days=1), now - timedelta(days=7)]
    ids = [p.id for p in papers]
    requests = []
    for _ in range(n):
        pool = VOCABULARY + ai_keywords
        data: dict = {
            "topics": rng.sample(TOPICS, rng.randint(1, 5)),
            "keywords": rng.sample(pool, rng.randint(0, 10)),
            "max_papers": rng.choice([5, 10, 10, 10, 20]),
        }
        if rng.random() < 0.3:
            data["exclude"] = rng.sample(pool, rng.randint(1, 3))
        if rng.random() < 0.2:
            data["authors"] = rng.sample(authors, rng.randint(1, 3))
        if rng.random() < 0.2:
            data["min_upvotes"] = rng.choice([1, 5, 20])
        if rng.random() < 0.05:
            data = {"max_papers": 10}  # "just send me what is trending"
        sent = frozenset(rng.sample(ids, rng.randint(0, 20))) if rng.random() < 0.5 else frozenset()
        requests.append(MatchRequest(Preferences.model_validate(data, context=context), rng.choice(windows), sent))
    return requests


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=100_000)
    parser.add_argument("--papers", type=int, default=500)
    parser.add_argument("--sample", type=int, default=200, help="subscribers run through the reference matcher")
    parser.add_argument("--seed", type=int, default=4)
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    now = datetime(2026, 6, 12, 12, tzinfo=UTC)
    fixture = load_fixture()
    print(f"fixtures: {'HF daily 2026-06-12' if fixture else 'absent, synthetic text'}")
    papers = make_papers(args.papers, fixture, rng, now)
    requests = make_requests(args.subscribers, fixture, papers, rng, now)
    mean_abstract = sum(len(p.abstract) for p in papers) / max(len(papers), 1)
    print(f"{len(papers)} papers (mean abstract {mean_abstract:.0f} chars), {len(requests):,} subscribers")

    index, build, _ = timed(PaperIndex.build, papers, now=now)
    print(f"index build:          {build * 1000:8.1f} ms")
    n = len(requests)

    def line(label: str, wall: float, cpu: float, note: str) -> float:
        rate = n / wall
        print(
            f"{label:22s}{rate:10,.0f} subscribers/s  ({wall * 1e6 / n:5.1f} µs each, {cpu * 1e6 / n:5.1f} µs CPU; {note})"
        )
        return rate

    # Ranked ids and scores, reasons computed on first access (Match.reasons).
    results, wall, cpu = timed(match_many, requests, index)
    line("match (first pass):", wall, cpu, "includes the first look-up of every term")
    del results  # a worker drops one batch's results before the next
    results, wall, cpu = timed(match_many, requests, index)  # term entries now memoised
    lazy_rate = line("match (steady):", wall, cpu, "reasons not read yet")
    del results

    # The full result: every reason of every match read, as rendering every digest would.
    # Reading them right after matching pays for the garbage collector walking the million
    # fresh objects; the first figure pauses it (as match_many does), the second does not.
    results, wall, cpu = timed(read_all, requests, index, pause_gc=True)
    full_rate = line("match + all reasons:", wall, cpu, "gc paused while reading")
    matches = sum(map(len, results))
    del results
    results, wall, cpu = timed(read_all, requests, index, pause_gc=False)
    line("match + all reasons:", wall, cpu, "gc running while reading")
    print(f"matches returned:     {matches:,} ({matches / n:.1f} per subscriber)")
    bare, wall, cpu = timed(match_many, requests, index, with_reasons=False)
    same = [[(m.paper_id, m.score) for m in ms] for ms in bare] == [
        [(m.paper_id, m.score) for m in ms] for ms in results
    ]
    line("selection only:", wall, cpu, f"with_reasons=False; same papers: {same}")
    del bare

    sample = requests[: args.sample]
    expected, naive, _ = timed(lambda: [reference_match(r, papers, now) for r in sample])
    naive_rate = len(sample) / naive
    agree = expected == results[: len(sample)]
    print(f"reference matcher:    {naive_rate:10,.1f} subscribers/s  (sample of {len(sample)}, agrees: {agree})")
    print(
        f"speed-up:             {full_rate / naive_rate:10,.0f}× with all reasons read, {lazy_rate / naive_rate:,.0f}× reasons on access"
    )
    del results

    tracemalloc.start()
    read_all(requests, PaperIndex.build(papers, now=now), pause_gc=True)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"peak memory:          {peak / 2**20:8.1f} MiB traced (index + all results with reasons), process max RSS {rss:.0f} MiB"
    )
    return 0 if agree and same else 1


def timed(fn: Callable[..., T], *args: Any, **kwargs: Any) -> tuple[T, float, float]:
    """(result, wall seconds, CPU seconds of this process): the machine may be shared."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - wall, time.process_time() - cpu


def read_all(requests: list[MatchRequest], index: PaperIndex, *, pause_gc: bool) -> list[list[Match]]:
    """match_many, then every match's reasons, as a digest shows them."""
    results = match_many(requests, index)
    paused = pause_gc and gc.isenabled()
    if paused:
        gc.disable()
    try:
        for matches in results:
            for match in matches:
                match.reasons  # noqa: B018 - the access is the work measured
    finally:
        if paused:
            gc.enable()
    return results


if __name__ == "__main__":
    sys.exit(main())
