"""Similar papers: the cosine similarity of papers' TF-IDF vectors (service.matching.vectors),
over a corpus of the most recent papers.

The corpus is built once (the web keeps it for a few minutes: fitting the idf over thousands
of papers takes a while, weighing one paper against it a millisecond). The paper asked about
need not be in it: it is weighed with the corpus's idf like a reader's liked paper is.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.matching.vectors import PaperVectors, counts_of
from service.storage.models import Paper

CORPUS_SIZE = 3000
SIMILAR_COUNT = 6
# Below this two papers share little more than common words of the field.
MIN_SIMILARITY = 0.03


@dataclass(frozen=True)
class Corpus:
    ids: np.ndarray  # paper ids, in the order of the vectors' rows
    vectors: PaperVectors
    _counts: dict[int, Mapping[str, int]] = field(default_factory=dict, repr=False)

    def counts(self, paper_id: int) -> Mapping[str, int] | None:
        return self._counts.get(paper_id)


def load_corpus(session: Session, size: int = CORPUS_SIZE) -> Corpus:
    """The SIZE most recently ingested papers (highest ids), vectorised."""
    rows = session.execute(
        select(Paper.id, Paper.title, Paper.abstract, Paper.term_counts).order_by(Paper.id.desc()).limit(size)
    ).all()
    counts: dict[int, Mapping[str, int]] = {pid: counts_of(stored, title, abstract or "") for pid, title, abstract, stored in rows}
    return Corpus(np.array(list(counts), dtype=np.int64), PaperVectors(list(counts.values())), counts)


def similar_ids(corpus: Corpus, paper_id: int, counts: Mapping[str, int], limit: int = SIMILAR_COUNT,
                floor: float = MIN_SIMILARITY) -> list[tuple[int, float]]:
    """(paper id, cosine) of the corpus papers closest to the paper with COUNTS, best first,
    the paper itself left out."""
    if corpus.vectors.size == 0 or not counts:
        return []
    scores = corpus.vectors.similarity(corpus.vectors.weigh([counts]))[0]
    order = np.argsort(-scores, kind="stable")
    picked: list[tuple[int, float]] = []
    for index in order:
        if len(picked) == limit or scores[index] < floor:
            break
        other = int(corpus.ids[index])
        if other != paper_id:
            picked.append((other, float(scores[index])))
    return picked


def similar_to(session: Session, corpus: Corpus, paper: Paper, limit: int = SIMILAR_COUNT) -> list[Paper]:
    """The papers most like PAPER, best first."""
    counts = corpus.counts(paper.id) or counts_of(paper.term_counts, paper.title, paper.abstract or "")
    ranked = similar_ids(corpus, paper.id, counts, limit)
    if not ranked:
        return []
    found = {p.id: p for p in session.scalars(select(Paper).where(Paper.id.in_([pid for pid, _ in ranked])))}
    return [found[pid] for pid, _ in ranked if pid in found]
