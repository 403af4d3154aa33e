"""The learned part of the score: a reader's 👍/👎 and seed papers move similar papers, from the
very next ranking; cold start is the rules alone; what was voted on is not offered again."""

from __future__ import annotations

import numpy as np

from service.matching import Liked, Match, MatchRequest, PaperIndex, Profile, ProfilePaper, match_many
from service.matching.explain import reason_lines
from service.matching.profiles import Profiles, profile_terms
from service.matching.score import PROFILE_GRID, profile_points
from service.matching.vectors import PaperVectors, count_terms
from tests.service.matching.factories import NOW, paper, request
from tests.service.matching.reference import reference_match

SUBJECTS = [
    ("Robot grasping", "A robot arm grasps objects with tactile sensors and a gripper policy."),
    ("Speech synthesis", "We synthesise speech waveforms with a neural vocoder and prosody control."),
    ("Image diffusion", "A diffusion model generates images from text prompts with classifier-free guidance."),
    ("Protein folding", "We predict protein structures from amino acid sequences with attention."),
    ("Traffic forecasting", "Graph networks forecast road traffic from sensor time series."),
    ("Chess engines", "Search and evaluation functions for chess positions and openings."),
    ("Weather models", "Global weather forecasting with learned atmospheric dynamics."),
    ("Music tagging", "We tag songs with genres and moods from audio spectrograms."),
    ("Legal documents", "Classifying court rulings and contracts with domain vocabulary."),
    ("Crop yields", "Satellite imagery estimates crop yields across farming regions."),
]
KV = "KV cache compression: we evict and quantize cached keys and values for long-context decoding."
WINDOW = [paper(i + 1, f"{t} {j}", f"{a} Variant {j}.", upvotes=i) for j in range(3) for i, (t, a) in enumerate(SUBJECTS)]
WINDOW = [paper(n + 1, p.title, p.abstract, upvotes=p.upvotes) for n, p in enumerate(WINDOW)]
KV_PAPER = paper(100, "Evicting the KV cache", KV + " Eviction keeps the cache small.", upvotes=0)
ROBOT_TWIN = paper(101, "Tactile robot grasping", "A robot gripper grasps objects with tactile sensors.", upvotes=50)
PAPERS = [*WINDOW, KV_PAPER, ROBOT_TWIN]
LIKED = ProfilePaper(500, "FlashDecoding for KV caches", "Quantize and evict the KV cache of long-context decoding.")
DISLIKED = ProfilePaper(501, "Tactile grasping survey", "Robot grasping with tactile sensors and grippers.")


def ranked(index: PaperIndex, req: MatchRequest) -> list[Match]:
    [got] = match_many([req], index)
    return got


def index_with(*profile_papers: ProfilePaper) -> PaperIndex:
    index = PaperIndex.build(PAPERS, now=NOW)
    index.add_profile_papers(profile_papers)
    return index


def test_cold_start_is_the_rules_alone() -> None:
    req = request(keywords=("robot", "cache"))
    index = index_with(LIKED)
    assert ranked(index, req) == reference_match(req, PAPERS, NOW)
    assert all(m.parts["profile"] == 0 for m in ranked(index, req))


def test_a_like_brings_a_similar_paper_into_the_very_next_ranking() -> None:
    index = index_with(LIKED)
    req = request(keywords=("robot",), max_papers=5)
    before = ranked(index, req)
    assert 100 not in [m.paper_id for m in before]  # no keyword, no topic: not a candidate
    after = ranked(index, MatchRequest(req.preferences, req.since, profile=Profile(liked=(500,))))
    [kv] = [m for m in after if m.paper_id == 100]
    assert kv.parts["profile"] >= 2.5 and kv.reasons.like == Liked(500, LIKED.title, "liked")
    assert "like 'FlashDecoding for KV caches', which you liked" in reason_lines(kv.reasons)


def test_a_dislike_pushes_similar_papers_down() -> None:
    index = index_with(DISLIKED)
    req = request(keywords=("robot", "diffusion"), max_papers=10)
    first = ranked(index, req)
    before = {m.paper_id: m.score for m in first}
    assert first[0].paper_id == 101  # keywords tie: its upvotes put it first
    after = ranked(index, MatchRequest(req.preferences, req.since, profile=Profile(disliked=(501,))))
    twin = next(m for m in after if m.paper_id == 101)
    assert twin.parts["profile"] < 0 and twin.score < before[101]
    # the robot papers, much like the disliked one, now come after the diffusion papers
    order = [m.paper_id for m in after]
    assert max(order.index(i) for i in (3, 13, 23)) < min(order.index(i) for i in (1, 11, 21, 101))


def test_voted_and_seed_papers_are_not_offered_again() -> None:
    index = index_with()
    req = request(keywords=("robot",), max_papers=20)
    ids = [m.paper_id for m in ranked(index, MatchRequest(req.preferences, req.since, profile=Profile(liked=(101,), disliked=(1,), seeds=(11,))))]
    assert ids and not {101, 1, 11} & set(ids)


def test_a_trending_reader_gets_the_trending_list_re_ranked_by_their_seeds() -> None:
    index = index_with(LIKED)
    req = request(max_papers=3)
    assert ranked(index, req)[0].paper_id == 101  # most upvotes
    got = ranked(index, MatchRequest(req.preferences, req.since, profile=Profile(seeds=(500,))))
    assert got[0].paper_id == 100 and got[0].reasons.trending
    assert "one of your seed papers" in reason_lines(got[0].reasons)[0]


def test_the_profile_part_is_the_standardised_rocchio_similarity() -> None:
    index = index_with(LIKED, DISLIKED)
    profile = Profile(liked=(500,), disliked=(501,))
    got = ranked(index, MatchRequest(request().preferences, request().since, profile=profile, limit=0))
    # naive: cosine by explicit dot products of the unit vectors, mean per side, then z over the window
    rows = index.vectors.weigh([count_terms(p.title, p.abstract) for p in (LIKED, DISLIKED)]).toarray()
    window = index.vectors.matrix.toarray()
    # minus half the similarity to the window's mean paper (rocchio.less_typical)
    rocchio = window @ rows[0] - 0.5 * (window @ rows[1]) - 0.5 * (window @ window.mean(axis=0))
    expected = profile_points(rocchio[None, :])[0]
    for m in got:
        assert abs(m.parts["profile"] - expected[index.column[m.paper_id]]) <= 1 / PROFILE_GRID
        assert sum(m.parts.values()) == m.score


def test_window_papers_weigh_the_same_as_any_other_paper() -> None:
    vectors = PaperVectors([count_terms(p.title, p.abstract) for p in PAPERS])
    again = vectors.weigh([count_terms(p.title, p.abstract) for p in PAPERS])
    assert np.allclose(again.toarray(), vectors.matrix.toarray(), atol=1e-6)
    cos = vectors.similarity(again)
    assert np.allclose(np.diag(cos), 1, atol=1e-5)


def test_what_papermail_learned_is_the_heaviest_terms_of_the_profile() -> None:
    vectors = PaperVectors([count_terms(p.title, p.abstract) for p in [*PAPERS, LIKED, DISLIKED]])
    papers = {p.id: p for p in (LIKED, DISLIKED)}
    terms = [t for t, _ in profile_terms(vectors, Profile(liked=(500,), disliked=(501,)), papers, limit=5)]
    assert "kv cache" in terms and not {"robot", "tactile"} & set(terms)
    assert profile_terms(vectors, Profile(disliked=(501,)), papers) == []


def test_profiles_attach_to_their_readers_requests() -> None:
    profiles = Profiles({7: Profile(liked=(500,))}, {500: LIKED})
    reqs = [request(), request()]
    attached = profiles.attach(reqs, [7, 8])
    assert attached[0].profile == Profile(liked=(500,)) and attached[1] is reqs[1]


def test_what_papermail_learned_from_seeds_is_what_they_share_not_one_seeds_own_words() -> None:
    # the matcher's cold-start rule (rocchio.profile_vectors): a term weighs by the share of the
    # seeds having it, so a word only one seed has counts a third (the plain mean gave it 0.6 of
    # the shared topic's weight)
    own = ("zebrafish " * 8, "glacier " * 8, "violin " * 8)
    seeds = {600 + i: ProfilePaper(600 + i, f"Speculative decoding {i}", f"Speculative decoding. {word}")
             for i, word in enumerate(own)}
    vectors = PaperVectors([count_terms(p.title, p.abstract) for p in [*PAPERS, *seeds.values()]])
    weights = dict(profile_terms(vectors, Profile(seeds=tuple(seeds)), seeds, limit=6))
    assert max(weights, key=weights.__getitem__) in {"speculative", "speculative decoding"}
    assert max(weights.get(w, 0.0) for w in ("zebrafish", "glacier", "violin")) < 0.25 * max(weights.values())
