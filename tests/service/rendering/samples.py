"""A hand-made cast of papers for rendering tests: realistic lengths, hostile titles on demand."""

from __future__ import annotations

import re
from datetime import date

from service.rendering import DigestContext, DigestLinks, DigestPaper, Sender

SENDER = Sender(name="papermail", postal_address="papermail, 1 Example Street, 00000 Example City")
DAY = date(2025, 11, 27)

ABSTRACT = (
    "Large language models achieve strong results across many benchmarks, but serving them remains "
    "expensive because every generated token reads the full set of weights and a growing key-value "
    "cache from memory. We study post-training quantization for models between 7B and 70B parameters "
    "and show that the main obstacle is a small number of outlier channels in the activations. We "
    "propose a rotation-based method that spreads outliers across channels before rounding, together "
    "with a calibration procedure that needs only 128 sequences. With 4-bit weights and 8-bit "
    "activations our method keeps perplexity within 0.1 of the 16-bit baseline on WikiText-2 and "
    "loses less than one point of accuracy on zero-shot reasoning tasks, while speculative decoding "
    "on top of the quantized model brings end-to-end speedups of 2.7x on a single GPU. We further "
    "show that agents built on the quantized models complete 96% of the tool-use episodes their "
    "full-precision counterparts complete, and release code, calibration sets and kernels."
)
TITLES = [
    "Rotate, Then Round: Outlier-Free Post-Training Quantization for Large Language Models",
    "AgentBench-Live: Evaluating Tool-Using Agents on Tasks That Change Under Them",
    "Sparse Mixture-of-Experts Without Load Balancing Losses",
    "Diffusion Transformers Learn Physics From Video, If You Let Them",
    "A Survey of Speculative Decoding: Drafts, Verifiers and the Memory Wall",
]
AUTHORS = ["Ada Lovelace", "Alan Turing", "Grace Hopper", "Edsger Dijkstra", "Barbara Liskov"]


def spans_of(text: str, *terms: str) -> tuple[tuple[int, int], ...]:
    return tuple(m.span() for term in terms for m in re.finditer(re.escape(term), text, flags=re.IGNORECASE))


def paper(
    i: int = 0,
    title: str | None = None,
    abstract: str = ABSTRACT,
    terms: tuple[str, ...] = ("quantization", "agents"),
) -> DigestPaper:
    title = title if title is not None else TITLES[i % len(TITLES)]
    return DigestPaper(
        title=title,
        url=f"https://huggingface.co/papers/2511.{10000 + i:05d}",
        authors=AUTHORS[: 1 + i % len(AUTHORS)],
        organization="Example AI Lab" if i % 2 == 0 else None,
        upvotes=(97 - 3 * i) if i % 3 != 2 else None,
        topics=("Efficient inference", "LLMs") if i % 2 == 0 else ("Agents",),
        abstract=abstract,
        title_spans=spans_of(title, *terms),
        abstract_spans=spans_of(abstract, *terms),
        pdf_url=f"https://arxiv.org/pdf/2511.{10000 + i:05d}",
        code_url="https://github.com/example/rotate-round" if i % 2 == 0 else None,
        project_url="https://example.org/project" if i % 4 == 0 else None,
        matched_terms=[t for t in terms if spans_of(title + " " + abstract, t)],
        matched_topics=("Efficient inference",) if i % 2 == 0 else (),
    )


def digest(
    n: int = 25, recipient: str = "alice@example.org", papers: list[DigestPaper] | None = None
) -> DigestContext:
    return DigestContext(
        recipient=recipient,
        date=DAY,
        papers=papers if papers is not None else [paper(i) for i in range(n)],
        links=DigestLinks(
            preferences_url="https://papermail.test/preferences/TOKEN",
            unsubscribe_url="https://papermail.test/unsubscribe/TOKEN",
            unsubscribe_token="TOKEN",
            view_in_browser_url="https://papermail.test/digest/TOKEN",
        ),
        sender=SENDER,
    )
