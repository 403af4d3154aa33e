"""Term counts: words, pairs and a paper's arXiv categories, which count as terms of their own."""

from __future__ import annotations

from service.matching.vectors import (
    COUNTS_VERSION,
    PRIMARY_REPEAT,
    PaperVectors,
    count_terms,
    counts_of,
    term_counts,
    term_label,
)


def test_the_primary_category_counts_more_than_a_cross_list() -> None:
    counts = count_terms("Grasping with tactile skins", "We grasp objects.", ["cs.RO", "cs.LG", "cs.RO"])
    assert (counts["[cs.RO]"], counts["[cs.LG]"]) == (PRIMARY_REPEAT, 1)
    assert counts["grasping"] == 2 and counts["grasp"] == 1  # title words twice, as before


def test_no_word_of_a_text_can_be_a_category_term() -> None:
    counts = count_terms("Notes on cs.RO and [cs.RO]", "cs.RO cs.RO")
    assert not any(term.startswith("[") for term in counts)


def test_papers_of_one_category_are_closer_than_their_words_alone_make_them() -> None:
    robots = ("Learning to walk", "A policy learned in simulation.")
    other = ("Learning to rank", "A policy learned from clicks.")
    plain = PaperVectors([count_terms(*robots), count_terms(*other), count_terms("Unrelated", "Proteins fold.")])
    filed = PaperVectors([count_terms(*robots, ["cs.RO"]), count_terms(*other, ["cs.IR"]),
                          count_terms("Unrelated", "Proteins fold.", ["q-bio.BM"])])
    query_plain = plain.weigh([count_terms("Robots that walk", "Legged locomotion.")])
    query_filed = filed.weigh([count_terms("Robots that walk", "Legged locomotion.", ["cs.RO"])])
    gap_plain = plain.similarity(query_plain)[0]
    gap_filed = filed.similarity(query_filed)[0]
    assert gap_filed[0] - gap_filed[1] > gap_plain[0] - gap_plain[1]


def test_counts_of_an_older_format_are_computed_again_with_the_categories() -> None:
    old = {"v": COUNTS_VERSION - 1, "counts": {"walk": 1}}
    assert counts_of(old, "Walk", "", ["cs.RO"])["[cs.RO]"] == PRIMARY_REPEAT
    current = term_counts("Walk", "", ["cs.RO"])
    assert counts_of(current, "ignored", "") is current["counts"]


def test_a_category_term_reads_as_its_category() -> None:
    assert (term_label("[cs.RO]"), term_label("kv cache")) == ("arXiv cs.RO", "kv cache")
