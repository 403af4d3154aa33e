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

from collections.abc import Mapping

from service.matching.records import Reasons

EVIDENCE_TERMS = 3  # taxonomy terms named per topic


def _quoted(items: list[str] | tuple[str, ...]) -> str:
    return ", ".join(f"'{item}'" for item in items)


def reason_lines(reasons: Reasons, topic_names: Mapping[str, str] | None = None) -> list[str]:
    """One line per piece of evidence, in the order of the score's weight: what the reader said
    (keywords, authors), then what papermail inferred (topics), then the learned profile."""
    names = topic_names or {}
    lines: list[str] = []
    fields: dict[str, list[str]] = {}
    for hit in reasons.terms:
        fields.setdefault(hit.term, []).append(hit.field)
    lines += [f"'{term}' in the {' and '.join(dict.fromkeys(where))}" for term, where in fields.items()]
    if reasons.authors:
        lines.append("by " + ", ".join(dict.fromkeys(reasons.authors)))
    evidence = {e.slug: e for e in reasons.evidence}
    for slug in reasons.topics:
        name = names.get(slug, slug)
        found = evidence.get(slug)
        if found is not None and found.terms:
            lines.append(f"{name}: {_quoted(found.terms[:EVIDENCE_TERMS])}")
        elif found is not None and found.category:
            lines.append(f"{name}: arXiv {found.category}")
        else:
            lines.append(f"topic {name}")
    if reasons.like is not None:
        which = "which you liked" if reasons.like.kind == "liked" else "one of your seed papers"
        lines.append(f"like '{reasons.like.title}', {which}")
    if reasons.trending and not lines:
        lines.append("trending on Hugging Face")
    elif reasons.trending:
        lines.append("trending")
    return lines
