"""The pure parts of bench/relevance.py: the simulated reader and the metrics (no corpus needed)."""

from __future__ import annotations

import math
import random
from pathlib import Path

import pytest

from bench.relevance import (
    READERS,
    Interest,
    Reader,
    Scores,
    corpus_or_exit,
    mean,
    ndcg_at_k,
    pick_seeds,
    precision_at_k,
    spread,
    votes_for,
)
from service.subscribers.store import parse_preferences
from service.topics.taxonomy import load_taxonomy

T, F = True, False


def test_precision_at_10_counts_relevant_slots_and_empty_slots_miss() -> None:
    assert precision_at_k([T, F, T, F, F, F, F, F, F, F]) == pytest.approx(0.2)
    assert precision_at_k([T, T]) == pytest.approx(0.2)  # a digest of 2 papers fills 2 of 10 slots
    assert precision_at_k([T] * 12) == pytest.approx(1.0)  # only the first 10 count
    assert precision_at_k([T, F, T], k=3) == pytest.approx(2 / 3)


def test_ndcg_at_10_against_the_best_digest_the_day_allowed() -> None:
    # one relevant paper that day, shown second: (1/log2 3) / 1
    assert ndcg_at_k([F, T], available=1) == pytest.approx(1 / math.log2(3))
    # two available, shown first and third: (1 + 1/log2 4) / (1 + 1/log2 3) = 1.5 / 1.6309
    assert ndcg_at_k([T, F, T], available=2) == pytest.approx(1.5 / (1 + 1 / math.log2(3)))
    # the best possible order scores 1 even when fewer than 10 papers were relevant
    assert ndcg_at_k([T, T, T, F], available=3) == pytest.approx(1.0)
    assert ndcg_at_k([F] * 10, available=4) == 0.0
    assert ndcg_at_k([F, F], available=0) is None  # nothing to find: no score, not a zero


def test_mean_skips_days_without_a_score() -> None:
    assert mean([0.5, None, 1.0]) == pytest.approx(0.75)
    assert math.isnan(mean([None]))


def test_interest_by_category_by_terms_and_by_both() -> None:
    robots = Interest(frozenset({"cs.RO"}))
    assert robots.holds("cs.RO", "Anything", "")
    assert not robots.holds("cs.CV", "A robot", "robots everywhere")
    agents = Interest(terms=("agent", "tool use"))
    assert agents.holds("cs.CL", "LLM Agents at work", "")  # plural, any case
    assert agents.holds(None, "", "they learn tool-use from demos")  # hyphen = space
    assert not agents.holds("cs.CL", "Reagents in chemistry", "")  # whole words only
    vision_3d = Interest(frozenset({"cs.CV"}), ("point cloud",))
    assert vision_3d.holds("cs.CV", "Point Clouds for driving", "")
    assert not vision_3d.holds("cs.RO", "Point clouds for grasping", "")  # both must hold
    with pytest.raises(ValueError):
        Interest()


def test_the_reader_votes_up_what_is_inside_and_down_a_few_outside() -> None:
    shown = ["a", "b", "c", "d", "e"]
    assert votes_for(shown, {"b", "d"}, downvotes=2) == [("b", 1), ("d", 1), ("a", -1), ("c", -1)]
    assert votes_for(shown, set(), downvotes=0) == []
    assert votes_for(shown, set(shown), downvotes=2) == [(a, 1) for a in shown]


def test_seed_papers_come_from_the_interest_and_are_reproducible() -> None:
    history = [f"p{i}" for i in range(20)]
    relevant = {"p3", "p5", "p8", "p13", "p17", "p19", "x"}
    first = pick_seeds(history, relevant, random.Random("7:r"), 5)
    assert first == pick_seeds(history, relevant, random.Random("7:r"), 5)
    assert len(first) == 5 and set(first) <= relevant - {"x"}
    assert pick_seeds(history, {"p1", "p2"}, random.Random(1), 5) == ["p1", "p2"]


def test_a_reader_types_settings_only_in_the_rules_modes() -> None:
    reader = Reader("r", Interest(terms=("diffusion",)), ("generative-media",), ("diffusion",))
    assert reader.settings("rules") == reader.settings("rules+learned") == {
        "topics": ["generative-media"], "keywords": ["diffusion"], "max_papers": 10,
    }
    assert reader.settings("seeds only") == reader.settings("trending") == {"max_papers": 10}


def test_every_simulated_reader_has_settings_the_app_accepts() -> None:
    slugs = set(load_taxonomy().slugs)
    assert 30 <= len(READERS) <= 60 and len({r.name for r in READERS}) == len(READERS)
    for reader in READERS:
        prefs = parse_preferences(reader.settings("rules"), slugs)
        assert prefs.topics or prefs.keywords, reader.name


def test_scores_average_over_readers_and_days_and_compare_modes() -> None:
    scores = Scores()
    scores.add("r1", "rules", 1, ["a", "b"], {"a"}, available=1)
    scores.add("r2", "rules", 1, ["c"], {"z"}, available=0)
    scores.add("r1", "rules", 2, ["d"], {"d"}, available=3)
    scores.add("r1", "other", 1, ["a", "b"], set(), available=0)
    assert scores.over("p", "rules", [1]) == pytest.approx(0.05)  # (0.1 + 0.0) / 2 readers
    assert scores.over("p", "rules", [1, 2]) == pytest.approx((0.1 + 0.0 + 0.1) / 3)
    assert scores.over("n", "rules", [1]) == pytest.approx(1.0)  # r2 had nothing to find that day
    assert not scores.same_digests("rules", "other")  # r1 differs on day 2, r2 never ran "other"
    same = Scores()
    same.add("r1", "x", 1, ["a"], set(), 0)
    same.add("r1", "y", 1, ["a"], set(), 0)
    assert same.same_digests("x", "y")


def test_a_missing_corpus_skips_locally_and_fails_in_ci(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    missing = tmp_path / "corpus.jsonl.gz"
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(SystemExit) as skipped:
        corpus_or_exit(missing)
    assert skipped.value.code == 0
    monkeypatch.setenv("CI", "true")
    with pytest.raises(SystemExit) as failed:
        corpus_or_exit(missing)
    assert failed.value.code == 2
    missing.write_bytes(b"")
    assert corpus_or_exit(missing) == missing


def test_a_short_run_keeps_readers_from_all_over_the_table() -> None:
    picked = spread(READERS, 12)
    assert len(picked) == 12 and len(set(picked)) == 12
    assert picked[0] == READERS[0] and picked[-1] in READERS[-3:]
    assert spread(READERS, 100) == READERS
