"""The reasons of a match as a reader reads them: each line names its evidence.

    'KV cache' in the abstract
    'quantization' in the title and abstract
    by Tri Dao
    Efficient inference: 'quantization', 'INT8'
    like 'FlashAttention-3', which you liked
    trending on Hugging Face

Digests, the web view, the feed and ``papermail digest preview --format json`` all show these.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from service.matching.records import Reasons, TermHit, TopicReason

EVIDENCE_TERMS = 3  # taxonomy terms named per topic


def _quoted(items: list[str] | tuple[str, ...]) -> str:
    return ", ".join(f"'{item}'" for item in items)


def reason_lines(reasons: Reasons, topic_names: Mapping[str, str] | None = None) -> list[str]:
    """One line per piece of evidence, in the order of the score's weight: what the reader said
    (keywords, authors), then what papermail inferred (topics), then the learned profile."""
    return joined_lines(term_lines(reasons.terms), topic_lines(reasons.topics, reasons.evidence, topic_names or {}),
                        reasons)


def term_lines(terms: Sequence[TermHit]) -> list[str]:
    """The keywords' lines: "'KV cache' in the title and abstract"."""
    fields: dict[str, list[str]] = {}
    for hit in terms:
        fields.setdefault(hit.term, []).append(hit.field)
    return [f"'{term}' in the {' and '.join(dict.fromkeys(where))}" for term, where in fields.items()]


def topic_lines(topics: Sequence[str], evidence: Sequence[TopicReason], names: Mapping[str, str]) -> list[str]:
    """The topics' lines, naming the evidence: "Efficient inference: 'quantization', 'INT8'"."""
    lines: list[str] = []
    found_by = {e.slug: e for e in evidence}
    for slug in topics:
        name = names.get(slug, slug)
        found = found_by.get(slug)
        if found is not None and found.terms:
            lines.append(f"{name}: {_quoted(found.terms[:EVIDENCE_TERMS])}")
        elif found is not None and found.category:
            lines.append(f"{name}: arXiv {found.category}")
        else:
            lines.append(f"topic {name}")
    return lines


def joined_lines(terms: Sequence[str], topics: Sequence[str], reasons: Reasons) -> list[str]:
    """``reason_lines`` from its keyword and topic lines (a digest keeps those per paper: readers share them)."""
    lines = [*terms]
    if reasons.authors:
        lines.append("by " + ", ".join(dict.fromkeys(reasons.authors)))
    lines += topics
    if reasons.like is not None:
        which = "which you liked" if reasons.like.kind == "liked" else "one of your seed papers"
        lines.append(f"like '{reasons.like.title}', {which}")
    if reasons.trending and not lines:
        lines.append("trending on Hugging Face")
    elif reasons.trending:
        lines.append("trending")
    return lines
