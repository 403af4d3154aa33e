"""Each matching and ranking rule of service/matching/score.py, pinned with a named cast.

Every case also runs the reference matcher and requires the same answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import pytest

from service.matching import IndexedPaper, Match, MatchRequest, PaperIndex, Reasons, TermHit, match_many
from service.matching import match as matching
from service.matching.explain import reason_lines
from service.matching.ranked import Ranked
from service.matching.records import TopicReason
from service.topics.taxonomy import load_taxonomy
from tests.service.matching.factories import DAY_AGO, NOW, paper, request
from tests.service.matching.reference import reference_match


def run(papers: list[IndexedPaper], *requests: MatchRequest) -> list[Ranked]:
    got = match_many(list(requests), PaperIndex.build(papers, now=NOW))
    assert got == [reference_match(r, papers, NOW) for r in requests]
    for matches in got:
        for m in matches:
            assert sum(m.parts.values()) == m.score  # the parts add up, exactly
    return got


def ids(matches: Sequence[Match]) -> list[int]:
    return [m.paper_id for m in matches]


PAPERS = [
    paper(
        1,
        "Sparse Mixture-of-Experts at Scale",
        "We route tokens to experts in a large language model.",
        authors=("José García", "Li Wei"),
        topics=("llm", "efficient-inference"),
        upvotes=40,
    ),
    paper(
        2,
        "Diffusion Transformers for Video Generation",
        "A diffusion model for long videos.",
        topics=("generative-media",),
        upvotes=120,
    ),
    paper(
        3,
        "Robot Manipulation from Pixels",
        "Reinforcement learning for dexterous robots.",
        topics=("robotics", "reinforcement-learning"),
        upvotes=3,
        sources=("arxiv",),
    ),
    paper(
        4,
        "A Benchmark for LLM Agents",
        "We evaluate tool use by language models.",
        topics=("agents", "evaluation"),
        upvotes=15,
    ),
    paper(5, "A Survey of Language Models", "We survey LLMs.", topics=("llm",), upvotes=60),
]


def test_alice_follows_a_topic() -> None:
    [got] = run(PAPERS, request(topics=("agents",)))
    assert got == [Match(4, got[0].score, Reasons(topics=("agents",)))]


def test_bob_gets_keywords_with_their_positions_in_the_original_text() -> None:
    [got] = run(PAPERS, request(keywords=("transformer", "diffusion model")))
    assert ids(got) == [2]
    title, abstract = PAPERS[1].title, PAPERS[1].abstract
    assert got[0].reasons.terms == (
        TermHit("transformer", "title", ((10, 22),)),
        TermHit("diffusion model", "abstract", ((2, 17),)),
    )
    assert title[10:22] == "Transformers" and abstract[2:17] == "diffusion model"


def test_a_keyword_in_the_abstract_beats_any_topic_only_paper() -> None:
    # the reader: topics LLMs + agents, keyword "quantization"
    papers = [
        paper(1, "Agents that plan with LLMs", "Popular and fresh.", topics=("llm", "agents"), upvotes=900, age_hours=2),
        paper(2, "A study of outliers", "We apply INT8 quantization to weights.", upvotes=0, age_hours=100),
    ]
    [got] = run(papers, request(topics=("llm", "agents"), keywords=("quantization",)))
    assert ids(got) == [2, 1]
    assert got[1].parts == {"keywords": 0, "authors": 0, "profile": 0, "topics": 2, "upvotes": 0.5, "recency": 0.25}
    assert got[0].score == 3.0


def test_carol_ranks_title_hits_above_abstract_hits() -> None:
    papers = [paper(1, "Notes", "On agents."), paper(2, "Agents", "Notes.")]
    [got] = run(papers, request(keywords=("agent",)))
    assert ids(got) == [2, 1]
    assert got[0].score - got[1].score == 2.0  # title 5 vs abstract 3


def test_carol_gets_more_for_more_of_her_keywords() -> None:
    papers = [
        paper(1, "x", "uses reinforcement learning"),
        paper(2, "x", "uses a robot"),
        paper(3, "x", "a robot uses reinforcement learning"),
    ]
    [got] = run(papers, request(keywords=("robot", "reinforcement learning")))
    assert ids(got) == [3, 1, 2]  # two keywords, then equal scores by id
    assert got[0].score - got[1].score == 3.0


def test_dave_excludes_a_paper_whatever_else_matched() -> None:
    [got] = run(PAPERS, request(topics=("llm",), keywords=("language model",), exclude=("survey",)))
    assert ids(got) == [1, 4]  # paper 5 is about llm and has the phrase, but is a survey


def test_exclusions_use_the_same_term_rule() -> None:
    papers = [paper(1, "Pre-training at scale", "LLMs."), paper(2, "Fine-tuning", "LLMs.")]
    [got] = run(papers, request(keywords=("llm",), exclude=("pretraining",)))
    assert ids(got) == [2]


def test_a_keyword_matches_like_the_topic_classifier_does() -> None:
    # the issue: "Pretraining large models…" was in llm via "pre-training", but the keyword missed it
    title = "Pretraining Large Models on Synthetic Data"
    taxonomy = load_taxonomy()
    from service.topics.taxonomy import classify_evidence

    [llm] = [e for e in classify_evidence(title, "", [], None, taxonomy) if e.slug == "llm"]
    assert "pretraining" in [t.lower().replace("-", "") for t in llm.terms]
    [got] = run([paper(1, title)], request(keywords=("pre-training",)))
    assert ids(got) == [1] and got[0].reasons.terms[0].spans == ((0, 11),)


def test_erin_follows_authors_by_normalised_name() -> None:
    [got] = run(PAPERS, request(authors=("jose  GARCIA",)))
    assert ids(got) == [1]
    assert got[0].reasons.authors == ("José García",)


def test_frank_with_no_filters_gets_the_top_trending_papers() -> None:
    [got] = run(PAPERS, request(max_papers=3, exclude=("diffusion",)))
    assert ids(got) == [5, 1, 4]  # by upvotes (paper 2 excluded), all first seen 30 h ago
    assert all(m.reasons == Reasons(trending=True) for m in got)


def test_boosts_are_never_relevance_on_their_own() -> None:
    papers = [paper(1, "Hot paper", "Everyone reads it.", upvotes=5000, age_hours=1), paper(2, "LLM", upvotes=0)]
    [got] = run(papers, request(keywords=("llm",)))
    assert ids(got) == [2]


def test_grace_with_filters_that_hit_nothing_gets_nothing_not_trending() -> None:
    assert run(PAPERS, request(keywords=("protein folding",))) == [[]]


def test_heidi_sets_an_upvote_threshold() -> None:
    [got] = run(PAPERS, request(topics=("llm", "agents"), min_upvotes=20))
    assert ids(got) == [5, 1]


def test_ivan_reads_only_some_sources() -> None:
    [got] = run(PAPERS, request(topics=("robotics", "llm"), sources=("arxiv",)))
    assert ids(got) == [3]


def test_judy_is_never_offered_a_paper_twice() -> None:
    [got] = run(PAPERS, request(topics=("llm",), already_sent=frozenset({5, 999})))
    assert ids(got) == [1]


def test_ken_sees_only_papers_first_seen_since_his_window_start() -> None:
    papers = [paper(1, "LLM", age_hours=23), paper(2, "LLM", age_hours=25), paper(3, "LLM", age_hours=24)]
    [got] = run(papers, request(since=DAY_AGO, keywords=("llm",)))
    assert ids(got) == [1, 3]  # the window start itself is inside


def test_leo_gets_at_most_max_papers_ties_broken_by_upvotes_then_id() -> None:
    # upvotes 1 and 2 give the same boost; ids break the remaining tie
    papers = [paper(i, "LLM", upvotes=u) for i, u in [(4, 1), (3, 2), (2, 2), (1, 1)]]
    [got] = run(papers, request(keywords=("llm",), max_papers=3))
    assert ids(got) == [2, 3, 1]
    assert len({m.score for m in got}) == 1


def test_mallory_scores_follow_the_documented_formula() -> None:
    papers = [
        paper(
            1,
            "Mixture of Experts",
            "mixture-of-experts LLM",
            topics=("llm", "efficient-inference", "agents"),
            authors=("Li Wei",),
            upvotes=120,
            age_hours=2,
        ),
    ]
    prefs = {"keywords": ("mixture of experts", "llm"), "topics": ("llm", "efficient-inference", "agents")}
    [got] = run(papers, request(**prefs, authors=("Li Wei",)))
    # phrase in title and abstract 5 + 3, "llm" in the abstract 3, author 5, three topics
    # counted as 2, upvotes ≥ 100: 0.5, first seen under 24 h ago: 0.25
    assert got[0].score == 8 + 3 + 5 + 2 + 0.5 + 0.25
    assert got[0].parts == {"keywords": 11, "authors": 5, "profile": 0, "topics": 2, "upvotes": 0.5, "recency": 0.25}


def test_recency_buckets() -> None:
    papers = [paper(1, "LLM", age_hours=10), paper(2, "LLM", age_hours=50), paper(3, "LLM", age_hours=100)]
    [got] = run(papers, request(keywords=("llm",)))
    assert [m.score for m in got] == [5 + 0.25, 5 + 0.125, 5 + 0]  # "LLM" in the title, then recency


def test_nina_with_fifty_matching_phrases_still_ranks_right() -> None:
    words = [f"w{i}" for i in range(51)]
    text = " ".join(words)
    papers = [paper(1, text, text, upvotes=5), paper(2, "w0 w1", "", upvotes=9), paper(3, "nothing", "")]
    phrases = tuple(f"{a} {b}" for a, b in zip(words, words[1:], strict=False))
    [got] = run(papers, request(keywords=phrases))
    assert ids(got) == [1, 2]
    assert got[0].score == 50 * 8 + 0.125  # first seen 30 h ago: within 72 h
    assert got[0].score > 127


def test_reasons_can_be_skipped_without_changing_the_papers() -> None:
    req = request(topics=("llm", "agents"), keywords=("language model",))
    index = PaperIndex.build(PAPERS, now=NOW)
    [full] = match_many([req], index)
    [bare] = match_many([req], index, with_reasons=False)
    assert [(m.paper_id, m.score) for m in bare] == [(m.paper_id, m.score) for m in full]
    assert all(m.reasons == Reasons() for m in bare) and full[0].reasons != Reasons()


def test_a_limit_of_zero_returns_every_candidate() -> None:
    index = PaperIndex.build(PAPERS, now=NOW)
    req = request(topics=("llm", "agents", "robotics", "generative-media"), max_papers=2)
    [everything] = match_many([MatchRequest(req.preferences, req.since, limit=0)], index)
    [two] = match_many([req], index)
    assert len(everything) == 5 and [m.paper_id for m in everything[:2]] == [m.paper_id for m in two]


def test_an_empty_window_or_index_gives_empty_lists() -> None:
    assert run([], request(topics=("llm",)), request()) == [[], []]
    assert run(PAPERS, request(since=NOW + timedelta(hours=1))) == [[]]


def test_one_index_serves_many_subscribers_in_order() -> None:
    reqs = [request(topics=("agents",)), request(keywords=("robot",)), request(authors=("Li Wei",))]
    assert [ids(r) for r in run(PAPERS, *reqs)] == [[4], [3], [1]]


def test_a_batch_split_into_chunks_and_windows_ranks_each_reader_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    # readers are ordered by window and scored a chunk at a time: with chunks of 2, every rule
    # that reads per-reader columns (features, thresholds, sources, exclusions, sent papers)
    # crosses chunk boundaries; each answer must still be that reader's own, in request order
    monkeypatch.setattr(matching, "CHUNK", 2)
    reqs = [
        request(topics=("llm", "agents"), min_upvotes=20),
        request(since=DAY_AGO, keywords=("agents",)),
        request(topics=("robotics", "llm"), sources=("arxiv",)),
        request(since=NOW + timedelta(hours=1), topics=("llm",)),
        request(topics=("llm",), already_sent=frozenset({1})),
        request(),
        request(since=DAY_AGO),
        request(topics=("llm", "generative-media"), exclude=("diffusion",), max_papers=1),
        request(authors=("Li Wei",), keywords=("agent",), min_upvotes=5),
    ]
    single = [match_many([r], PaperIndex.build(PAPERS, now=NOW)) for r in reqs]
    assert run(PAPERS, *reqs) == [got for [got] in single]


def test_index_refuses_naive_times_and_duplicate_ids() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        IndexedPaper(1, "t", "a", (), frozenset(), 0, datetime(2026, 6, 12), frozenset())
    with pytest.raises(ValueError, match="unique"):
        PaperIndex.build([paper(1), paper(1)], now=NOW)


def test_every_reason_names_its_evidence() -> None:
    papers = [
        paper(1, "Faster decoding", "We shrink the KV cache with INT8 quantization.", topics=("efficient-inference",),
              authors=("Tri Dao",)),
    ]
    taxonomy = load_taxonomy()
    index = PaperIndex.build(papers, now=NOW, taxonomy=taxonomy)
    [[got]] = match_many([request(keywords=("KV cache",), topics=("efficient-inference",), authors=("tri dao",))], index)
    assert got.reasons.evidence == (TopicReason("efficient-inference", ("KV cache", "INT8", "quantization")),)
    names = {t.slug: t.name for t in taxonomy.topics}
    assert reason_lines(got.reasons, names) == [
        "'KV cache' in the abstract",
        "by Tri Dao",
        "Efficient inference & quantization: 'KV cache', 'INT8', 'quantization'",
    ]
