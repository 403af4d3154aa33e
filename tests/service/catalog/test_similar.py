"""Similar papers: cosine similarity of the papers' TF-IDF vectors over the recent papers."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from config.settings import Settings
from service.catalog.similar import Corpus, load_corpus, similar_ids, similar_to
from service.matching.vectors import PaperVectors, count_terms, term_counts
from service.storage import migrate
from service.storage.db import session_scope
from service.storage.models import Paper

PAPERS = {
    1: ("Sparse attention kernels for long context", "We write GPU kernels for sparse attention over long context."),
    2: ("Long context with sparse attention", "Sparse attention lets transformers read long context cheaply."),
    3: ("Robot grasping from video", "A robot learns grasping from human video demonstrations."),
    4: ("Grasping with tactile robots", "Tactile sensing helps a robot hand with grasping."),
}


def corpus() -> Corpus:
    counts = {pid: count_terms(title, abstract) for pid, (title, abstract) in PAPERS.items()}
    return Corpus(np.array(list(counts)), PaperVectors(list(counts.values())), dict(counts))


def test_the_closest_paper_comes_first_and_the_paper_itself_never() -> None:
    ranked = similar_ids(corpus(), 1, count_terms(*PAPERS[1]))
    assert [pid for pid, _ in ranked][:1] == [2] and 1 not in [pid for pid, _ in ranked]
    assert all(a >= b for (_, a), (_, b) in zip(ranked, ranked[1:], strict=False))
    assert [pid for pid, _ in similar_ids(corpus(), 3, count_terms(*PAPERS[3]))][:1] == [4]


def test_a_paper_outside_the_corpus_and_the_floor() -> None:
    outside = count_terms("Sparse attention on phones", "Sparse attention for long context on phones.")
    assert similar_ids(corpus(), 99, outside)[0][0] in (1, 2)
    assert similar_ids(corpus(), 99, count_terms("Protein folding", "Proteins fold.")) == []
    assert similar_ids(corpus(), 99, {}) == []
    empty = Corpus(np.array([], dtype=np.int64), PaperVectors([]))
    assert similar_ids(empty, 1, outside) == []


def test_from_the_database(settings: Settings) -> None:
    migrate.upgrade(settings)
    now = datetime.now(UTC)
    with session_scope(settings) as session:
        rows = [Paper(id=pid, uid=f"test:{pid}", title=t, abstract=a, first_seen_at=now,
                      term_counts=term_counts(t, a) if pid != 4 else None)  # 4: counted on the fly
                for pid, (t, a) in PAPERS.items()]
        session.add_all(rows)
    with session_scope(settings) as session:
        built = load_corpus(session, size=3)  # the three most recent: 4, 3, 2
        assert sorted(built.ids.tolist()) == [2, 3, 4]
        paper = session.get(Paper, 1)
        assert paper is not None
        assert [p.id for p in similar_to(session, built, paper)][:1] == [2]
        three = session.get(Paper, 3)
        assert three is not None and [p.id for p in similar_to(session, built, three)][:1] == [4]
