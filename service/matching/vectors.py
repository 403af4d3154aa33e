"""Paper vectors: term counts computed once per paper (at ingest), TF-IDF weights per window.

**Counts** (:func:`term_counts`, stored in ``papers.term_counts``): the paper's words and word
pairs, from the same tokens as term matching (:mod:`service.matching.terms`), case-folded and
singular ("models" counts as "model"), English stop words dropped (scikit-learn's list), single
characters and bare numbers dropped. A pair is two neighbouring kept words not separated by
punctuation ("kv cache", "mixture expert": like scikit-learn, stop words go before pairing).
Title words count twice: the title is what the paper says it is about. The paper's arXiv
categories count as terms of their own (``[cs.RO]``: 8 times for the primary category, once for
a cross-list): the subject its authors filed it under is evidence no word list carries, and a
reader who liked four robotics papers is told apart from one who liked four papers that mention
robots. bench/relevance.py, learned from 5 seeds, precision@10 over 20 days: 0.307 without
categories, 0.331 with the primary counted twice, 0.365 with it counted 8 times.

**Weights** (:class:`PaperVectors`): TF-IDF as arxiv-sanity-lite computes it: sublinear tf
(1 + ln count), smooth idf, each paper's vector scaled to length 1, so the dot product of two
papers is their cosine similarity. The idf is fitted on the papers of the window being ranked,
because telling those papers apart is the job; any other paper (a reader's liked or seed paper
from months ago) is weighted with the same idf, a term the window never uses counting as
``df = 0``. Such terms add nothing to its similarity with window papers, only to its length.
"""

from __future__ import annotations

import functools
import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp

from service.matching.rocchio import typical
from service.matching.terms import singular, tokenize

COUNTS_VERSION = 2  # bump when term_counts changes: stored counts of another version are redone
PRIMARY_REPEAT = 8  # as much as a word in the title 4 times (tf is sublinear): see the docstring


@functools.cache
def stop_words() -> frozenset[str]:
    """scikit-learn's English stop words. Imported on first use: scikit-learn costs 1.2 s to
    import, and every `papermail` command imports this module whether it vectorises or not."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return frozenset(ENGLISH_STOP_WORDS)
TITLE_REPEAT = 2


def _words(text: str) -> list[str | None]:
    """Kept words of ``text`` in order, None where punctuation breaks the run of pairs."""
    toks = tokenize(text)
    stop = stop_words()
    out: list[str | None] = []
    for word, (start, end), gap in zip(toks.words, toks.spans, toks.gaps, strict=True):
        if len(word) > 1 and not word.isdigit() and word not in stop:
            out.append(singular(word, text[start:end]))
        if gap:  # ".", ",", "'"...: no pair across it
            out.append(None)
    return out


def category_term(category: str) -> str:
    """The term an arXiv category counts as: bracketed, so no word of a text can be it."""
    return f"[{category}]"


def term_label(term: str) -> str:
    """A term as a reader reads it: a category term names its category ("arXiv cs.RO")."""
    return f"arXiv {term[1:-1]}" if term.startswith("[") and term.endswith("]") else term


def count_terms(title: str, abstract: str, categories: Sequence[str] = ()) -> dict[str, int]:
    """Words, word pairs and categories of a paper with their counts (see the module docstring);
    ``categories`` primary first, as stored."""
    counts: Counter[str] = Counter()
    for rank, category in enumerate(dict.fromkeys(categories)):
        counts[category_term(category)] = PRIMARY_REPEAT if rank == 0 else 1
    for text, repeat in ((title, TITLE_REPEAT), (abstract, 1)):
        words = _words(text)
        found = [w for w in words if w is not None]
        found += [f"{a} {b}" for a, b in zip(words, words[1:], strict=False) if a is not None and b is not None]
        for _ in range(repeat):
            counts.update(found)
    return dict(counts)


def term_counts(title: str, abstract: str, categories: Sequence[str] = ()) -> dict[str, Any]:
    """What ``papers.term_counts`` stores: the counts with the version of their format."""
    return {"v": COUNTS_VERSION, "counts": count_terms(title, abstract, categories)}


def counts_of(stored: Mapping[str, Any] | None, title: str, abstract: str,
              categories: Sequence[str] = ()) -> dict[str, int]:
    """The stored counts when they are of the current format, else computed now."""
    counts = stored.get("counts") if stored and stored.get("v") == COUNTS_VERSION else None
    if isinstance(counts, dict):
        return counts
    return count_terms(title, abstract, categories)


def is_current(stored: Mapping[str, Any] | None) -> bool:
    return bool(stored) and stored is not None and stored.get("v") == COUNTS_VERSION


class PaperVectors:
    """TF-IDF vectors of one window's papers, and the means to weight any other paper alike."""

    def __init__(self, window_counts: Sequence[Mapping[str, int]]) -> None:
        from sklearn.feature_extraction import DictVectorizer  # on first use: see stop_words
        from sklearn.feature_extraction.text import TfidfTransformer
        from sklearn.preprocessing import normalize

        self.size = len(window_counts)
        self._dict = DictVectorizer(dtype=np.float64)
        self._tfidf = TfidfTransformer(norm=None, sublinear_tf=True, smooth_idf=True)
        if self.size:
            raw = self._tfidf.fit_transform(self._dict.fit_transform(window_counts))
            self.matrix: sp.csr_matrix = sp.csr_matrix(normalize(raw), dtype=np.float32)
            self.terms: list[str] = list(self._dict.get_feature_names_out())
            self.idf: np.ndarray = self._tfidf.idf_
        else:
            self.matrix = sp.csr_matrix((0, 0), dtype=np.float32)
            self.terms = []
            self.idf = np.zeros(0)
        self._vocabulary: dict[str, int] = self._dict.vocabulary_ if self.size else {}
        # smooth idf of a term no window paper has: ln((1 + n) / (1 + 0)) + 1
        self.unseen_idf = math.log(1 + self.size) + 1

    @functools.cached_property
    def typical(self) -> np.ndarray:
        """``rocchio.typical`` of the window: made once, read by every chunk of every batch."""
        return typical(self.matrix)

    def weigh(self, counts: Sequence[Mapping[str, int]]) -> sp.csr_matrix:
        """Unit-length TF-IDF rows (window vocabulary) for papers that may be outside the window.

        One plain loop over the counts (the papers' own terms): the window's terms go into the
        row, the others only into its length.
        """
        vocabulary = self._vocabulary
        indptr, indices, tfs = [0], [], []
        unseen = np.zeros(len(counts))
        for r, row in enumerate(counts):
            outside = 0.0
            for term, count in row.items():
                column = vocabulary.get(term)
                if column is None:
                    outside += (1 + math.log(count)) ** 2
                else:
                    indices.append(column)
                    tfs.append(count)
            unseen[r] = outside
            indptr.append(len(indices))
        columns = np.array(indices, dtype=np.int64)
        data = (1 + np.log(np.array(tfs, dtype=np.float64))) * self.idf[columns]
        rows = sp.csr_matrix((data, columns, np.array(indptr)), shape=(len(counts), len(self.terms)))
        norms = np.sqrt(np.asarray(rows.multiply(rows).sum(axis=1)).ravel() + unseen * self.unseen_idf**2)
        norms[norms == 0] = 1.0
        return sp.csr_matrix(sp.diags(1 / norms) @ rows, dtype=np.float32)

    def similarity(self, rows: sp.csr_matrix) -> np.ndarray:
        """Cosine of each row with each window paper: a dense (rows × window) float32 array."""
        if not self.size or rows.shape[0] == 0:
            return np.zeros((rows.shape[0], self.size), dtype=np.float32)
        return np.asarray((rows @ self.matrix.T).toarray(), dtype=np.float32)

    def top_terms(self, weights: np.ndarray, limit: int) -> list[tuple[str, float]]:
        """The ``limit`` terms with the largest positive weight in a vocabulary-long vector."""
        order = np.argsort(-weights, kind="stable")[:limit]
        return [(self.terms[i], float(weights[i])) for i in order if weights[i] > 0]
