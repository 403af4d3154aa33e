"""``Match`` from ``match_many``: read-only, compares and pickles like a plain record, and
works its reasons and parts out once, on first access; each reader's matches come as a
``Ranked`` sequence that makes them when first read and behaves like a list of them."""

from __future__ import annotations

import pickle

import pytest

from service.matching import Match, PaperIndex, Reasons, TermHit, match_many
from service.matching.ranked import Ranked
from tests.service.matching.factories import NOW, paper, request
from tests.service.matching.reference import reference_match

PAPERS = [
    paper(1, "Agents that plan", "Tool use by agents.", topics=("agents",), authors=("Li Wei",), upvotes=9),
    paper(2, "Planning", "No agents here.", topics=("agents", "llm"), upvotes=3),
    paper(3, "Robots", "Manipulation.", topics=("robotics",)),
]


REQUEST = request(topics=("agents",), keywords=("agent",), authors=("Li Wei",))


def lazy_matches() -> Ranked:
    [got] = match_many([REQUEST], PaperIndex.build(PAPERS, now=NOW))
    return got


def test_reasons_are_worked_out_once_and_then_kept() -> None:
    got = lazy_matches()
    first = got[0]
    assert first._reasons is None and first._parts is None  # nothing computed before it is asked for
    assert got == reference_match(REQUEST, PAPERS, NOW)
    reasons = first.reasons
    assert reasons is first.reasons
    assert reasons == Reasons(
        terms=(TermHit("agent", "title", ((0, 6),)), TermHit("agent", "abstract", ((12, 18),))),
        topics=("agents",),
        authors=("Li Wei",),
    )


def test_a_lazy_match_equals_hashes_and_pickles_like_an_eager_one() -> None:
    got = lazy_matches()
    assert got == reference_match(REQUEST, PAPERS, NOW)
    eager = [Match(m.paper_id, m.score, m.reasons) for m in got]
    assert got == eager and hash(got[0]) == hash(eager[0]) and len({*got, *eager}) == len(got)
    assert pickle.loads(pickle.dumps(got)) == eager
    assert pickle.loads(pickle.dumps(got[0])).parts == got[0].parts
    assert repr(got[1]) == f"Match(paper_id=2, score={got[1].score!r}, reasons={got[1].reasons!r})"
    assert got[0] != got[1] and got[0] != (1, got[0].score, got[0].reasons)


def test_a_match_is_read_only() -> None:
    match = Match(1, 2.0, Reasons())
    with pytest.raises(AttributeError):
        match.score = 3.0  # type: ignore[misc]
    with pytest.raises(AttributeError):
        match.reasons = Reasons(trending=True)  # type: ignore[misc]
    assert (match.paper_id, match.score, match.reasons) == (1, 2.0, Reasons())


def test_each_subscriber_gets_their_own_reasons_for_the_same_paper() -> None:
    index = PaperIndex.build(PAPERS, now=NOW)
    reqs = [request(keywords=("agent",)), request(topics=("agents",)), request(keywords=("planning", "agent"))]
    got = match_many(reqs, index)
    assert got == [reference_match(r, PAPERS, NOW) for r in reqs]
    firsts = [ms[0].reasons for ms in got]
    assert [len(r.terms) for r in firsts] == [2, 0, 2] and firsts[1].topics == ("agents",)
    # the TermHit objects themselves are the index's, shared by every subscriber
    assert firsts[0].terms[0] is firsts[2].terms[0]


def test_a_readers_matches_are_made_only_when_read() -> None:
    [got] = match_many([REQUEST], PaperIndex.build(PAPERS, now=NOW))
    assert isinstance(got, Ranked) and got._made is None
    assert len(got) == 2 and bool(got)
    assert got._made is None  # the length needs no Match objects
    assert got[0] is got[0] and [m.paper_id for m in got] == [1, 2] and got[-1].paper_id == 2 and got[:1] == [got[0]] and list(got) == [got[0], got[1]]


def test_ranked_matches_compare_and_pickle_like_a_list() -> None:
    index = PaperIndex.build(PAPERS, now=NOW)
    [got] = match_many([REQUEST], index)
    [again] = match_many([REQUEST], index)
    expected = reference_match(REQUEST, PAPERS, NOW)
    assert got == expected and expected == got and got == again and got != expected[:1]
    assert repr(got) == repr(expected)
    plain = pickle.loads(pickle.dumps(got))
    assert type(plain) is list and plain == expected and all(type(m) is Match for m in plain)
    [nothing] = match_many([request(keywords=("quantum",))], index)
    assert nothing == [] and len(nothing) == 0 and not nothing and pickle.loads(pickle.dumps(nothing)) == []
    with pytest.raises(TypeError):
        hash(got)


def test_matches_without_reasons_keep_the_same_papers_and_scores() -> None:
    index = PaperIndex.build(PAPERS, now=NOW)
    reqs = [REQUEST, request()]  # the second has no filters: trending
    full = match_many(reqs, index)
    bare = match_many(reqs, index, with_reasons=False)
    assert [[(m.paper_id, m.score) for m in r] for r in bare] == [[(m.paper_id, m.score) for m in r] for r in full]
    assert all(m.reasons == Reasons() for m in bare[0]) and all(m.reasons == Reasons(trending=True) for m in bare[1])
