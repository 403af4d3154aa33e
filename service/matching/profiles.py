"""Readers' learned profiles from the database: their 👍/👎 votes and seed papers, per batch.

``load_profiles(session, subscriber_ids)`` is one query for a whole batch (votes and seeds in one
``UNION ALL``, each row with the paper it names); seeds still waiting for their paper (``paper_id``
NULL) are resolved in the same query by arXiv id or exact title, so a seed given before its paper
was ingested counts from the first batch after. Papers whose stored term counts are missing or
of an older format get them computed and written back (once per paper).

``top_profile_terms`` is what the preferences page shows as "what papermail learned".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import numpy as np
import scipy.sparse as sp
from sqlalchemy import func, literal, select, union_all, update
from sqlalchemy.orm import Session

from service.matching.records import MatchRequest, Profile, ProfilePaper
from service.matching.rocchio import TYPICAL_WEIGHT, few_liked, presence, profile_vectors
from service.matching.score import DISLIKE_WEIGHT
from service.matching.vectors import PaperVectors, counts_of, is_current, term_counts
from service.storage.models import Paper, Seed, Vote

SUBSCRIBERS_PER_QUERY = 1000  # bound on the IN list (SQLite's variable limit)
SEED = 0  # the "value" column of a seed row (votes are +1 / -1)


@dataclass(frozen=True)
class Profiles:
    """The profiles of a batch's readers and every paper they name."""

    of: Mapping[int, Profile] = field(default_factory=dict)  # subscriber id → profile
    papers: Mapping[int, ProfilePaper] = field(default_factory=dict)

    def get(self, subscriber_id: int) -> Profile:
        return self.of.get(subscriber_id, Profile())

    def attach(self, requests: Sequence[MatchRequest], subscriber_ids: Sequence[int]) -> list[MatchRequest]:
        """The requests with each reader's profile (same order as ``subscriber_ids``)."""
        return [
            replace(r, profile=self.of[s]) if s in self.of else r for r, s in zip(requests, subscriber_ids, strict=True)
        ]


def _rows_query(subscriber_ids: Sequence[int]) -> Any:
    columns = (Paper.id, Paper.title, Paper.abstract, Paper.term_counts, Paper.categories)
    votes = (
        select(Vote.subscriber_id, Vote.value, *columns)
        .join(Paper, Paper.id == Vote.paper_id)
        .where(Vote.subscriber_id.in_(subscriber_ids))
    )
    seed = literal(SEED).label("value")
    named = (
        select(Seed.subscriber_id, seed, *columns)
        .join(Paper, Paper.id == Seed.paper_id)
        .where(Seed.subscriber_id.in_(subscriber_ids))
    )
    by_id = (
        select(Seed.subscriber_id, seed, *columns)
        .join(Paper, Paper.arxiv_id == Seed.ref)  # the unique index on papers.arxiv_id answers it
        .where(Seed.subscriber_id.in_(subscriber_ids), Seed.paper_id.is_(None), Seed.kind == "arxiv")
    )
    by_title = (
        select(Seed.subscriber_id, seed, *columns)
        .join(Paper, func.lower(Paper.title) == func.lower(Seed.ref))
        .where(Seed.subscriber_id.in_(subscriber_ids), Seed.paper_id.is_(None), Seed.kind == "title")
    )
    return union_all(votes, named, by_id, by_title)


def load_profiles(session: Session, subscriber_ids: Sequence[int]) -> Profiles:
    """Every vote and seed of these subscribers: one query per 1,000 of them (one per batch)."""
    liked: dict[int, list[int]] = {}
    disliked: dict[int, list[int]] = {}
    seeds: dict[int, list[int]] = {}
    papers: dict[int, ProfilePaper] = {}
    stale: list[dict[str, Any]] = []
    ids = list(dict.fromkeys(subscriber_ids))
    for start in range(0, len(ids), SUBSCRIBERS_PER_QUERY):
        for subscriber_id, value, paper_id, title, abstract, counts, categories in session.execute(
            _rows_query(ids[start : start + SUBSCRIBERS_PER_QUERY])
        ):
            into = liked if value > 0 else disliked if value < 0 else seeds
            into.setdefault(subscriber_id, []).append(paper_id)
            if paper_id not in papers:
                if not is_current(counts):
                    counts = term_counts(title, abstract or "", categories or ())
                    stale.append({"id": paper_id, "term_counts": counts})
                papers[paper_id] = ProfilePaper(paper_id, title, abstract or "", counts, tuple(categories or ()))
    if stale:  # rows from before term counts existed: computed once, then stored
        session.execute(update(Paper), stale)
    of = {
        s: Profile(tuple(liked.get(s, ())), tuple(disliked.get(s, ())), tuple(dict.fromkeys(seeds.get(s, ()))))
        for s in liked.keys() | disliked.keys() | seeds.keys()
    }
    return Profiles(of, papers)


def fill_term_counts(papers: Iterable[Paper]) -> int:
    """Give loaded paper rows without current term counts their counts (written on flush)."""
    filled = 0
    for paper in papers:
        if not is_current(paper.term_counts):
            paper.term_counts = term_counts(paper.title, paper.abstract or "", paper.categories or ())
            filled += 1
    return filled


def profile_terms(
    vectors: PaperVectors, profile: Profile, papers: Mapping[int, ProfilePaper], limit: int = 12
) -> list[tuple[str, float]]:
    """The terms that weigh most in the profile vector the matcher ranks by, largest first,
    positive weights only: ``rocchio.profile_vectors`` (a cold start's terms weighted by the share
    of its papers having them; past ``rocchio.FEW`` liked papers the plain Rocchio mean) minus
    ``rocchio.TYPICAL_WEIGHT`` × the mean of VECTORS' papers (``rocchio.less_typical``)."""
    positive = list(dict.fromkeys(i for i in profile.positive if i in papers))
    negative = [i for i in dict.fromkeys(profile.disliked) if i in papers and i not in positive]
    if not positive or not vectors.terms:
        return []
    ids = positive + negative
    rows = vectors.weigh([counts_of(p.term_counts, p.title, p.abstract, p.categories)
                          for p in (papers[i] for i in ids)])
    side = [1 / len(positive)] * len(positive) + [-DISLIKE_WEIGHT / max(len(negative), 1)] * len(negative)
    weights = sp.csr_matrix(np.array([side], dtype=np.float32))
    if few_liked(weights)[0]:
        profile_row = profile_vectors(weights, rows, presence(rows))
    else:
        profile_row = weights @ rows
    vector = np.asarray(profile_row.toarray(), dtype=np.float32).ravel()
    if vectors.matrix.shape[0]:
        vector -= np.float32(TYPICAL_WEIGHT) * np.asarray(vectors.matrix.mean(axis=0), dtype=np.float32).ravel()
    return vectors.top_terms(vector, limit)


def top_profile_terms(session: Session, subscriber_id: int, since: datetime, limit: int = 12) -> list[tuple[str, float]]:
    """What papermail learned about one reader: the heaviest terms of their profile.

    Term weights come from TF-IDF fitted on the papers first seen since ``since`` (the window
    digests are ranked in) together with the reader's own papers, so that a reader whose papers
    are all old still sees their terms. Empty for a reader with no liked or seed paper.
    """
    profiles = load_profiles(session, [subscriber_id])
    profile = profiles.get(subscriber_id)
    if not profile.positive:
        return []
    window = session.execute(
        select(Paper.id, Paper.title, Paper.abstract, Paper.term_counts, Paper.categories)
        .where(Paper.first_seen_at >= since)
    ).all()
    counts = [counts_of(c, t, a or "", k or ()) for i, t, a, c, k in window if i not in profiles.papers]
    counts += [counts_of(p.term_counts, p.title, p.abstract, p.categories) for p in profiles.papers.values()]
    return profile_terms(PaperVectors(counts), profile, profiles.papers, limit)
