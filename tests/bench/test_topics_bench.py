"""The metric code of bench/topics.py on a tiny hand-made example (no fixtures needed)."""

from __future__ import annotations

import pytest

from bench.topics import Error, TopicScore, errors, evidence_of, format_report, score, worst_first
from service.papers import PaperIn
from service.topics.taxonomy import Taxonomy, Topic

GOLD = {"p1": frozenset({"a", "b"}), "p2": frozenset({"a"}), "p3": frozenset()}
PREDICTED = {"p1": frozenset({"a"}), "p2": frozenset({"a", "b"}), "p3": frozenset({"b"})}


def test_per_topic_counts_and_scores() -> None:
    report = score(GOLD, PREDICTED, ["a", "b", "c"])
    a, b, c = report.topics
    assert (a.tp, a.fp, a.fn) == (2, 0, 0) and (a.precision, a.recall, a.f1) == (1.0, 1.0, 1.0)
    assert (b.tp, b.fp, b.fn) == (0, 2, 1) and (b.precision, b.recall, b.f1) == (0.0, 0.0, 0.0)
    assert (c.support, c.predicted) == (0, 0)


def test_micro_pools_the_counts_and_macro_averages_topics_that_have_papers() -> None:
    report = score(GOLD, PREDICTED, ["a", "b", "c"])
    assert (report.micro.tp, report.micro.fp, report.micro.fn) == (2, 2, 1)
    assert report.micro.precision == pytest.approx(0.5)
    assert report.micro.recall == pytest.approx(2 / 3)
    assert report.micro.f1 == pytest.approx(2 * 0.5 * (2 / 3) / (0.5 + 2 / 3))  # 0.571
    # "c" has neither a labelled paper nor a prediction: it does not drag the macro down
    assert (report.macro_precision, report.macro_recall, report.macro_f1) == (0.5, 0.5, 0.5)


def test_a_topic_never_predicted_scores_zero_not_an_error() -> None:
    only_missed = TopicScore("x", tp=0, fp=0, fn=3)
    assert (only_missed.precision, only_missed.recall, only_missed.f1) == (0.0, 0.0, 0.0)


def test_errors_are_listed_with_the_topics_with_most_first() -> None:
    found = errors(GOLD, PREDICTED)
    assert found == [Error("p1", "b", "fn"), Error("p2", "b", "fp"), Error("p3", "b", "fp")]
    report = score(GOLD, PREDICTED, ["a", "b"])
    assert [e.paper_id for e in worst_first(found, report, "fp")] == ["p2", "p3"]
    assert [e.paper_id for e in worst_first(found, report, "fn")] == ["p1"]


def test_the_table_has_a_row_per_topic_and_the_averages() -> None:
    lines = format_report(score(GOLD, PREDICTED, ["a", "b"]), {"a": 0.25, "b": 0.5}).splitlines()
    assert lines[0].split() == ["topic", "support", "pred", "tp", "fp", "fn", "prec", "recall", "F1", "corpus%"]
    assert lines[1].split() == ["a", "2", "2", "2", "0", "0", "1.00", "1.00", "1.00", "25.0"]
    assert lines[-2].split()[0] == "micro" and lines[-1].split() == ["macro", "0.50", "0.50", "0.50"]


def test_evidence_names_the_terms_the_classifier_saw() -> None:
    taxonomy = Taxonomy((Topic(slug="q", name="Quantization", keywords=("quantization", "INT8")),))
    inside = PaperIn(uid="x:1", title="Quantization for all", abstract="INT8 kernels.")
    assert "title: 'quantization'" in evidence_of(inside, "q", taxonomy)
    once = PaperIn(uid="x:2", title="Faster models", abstract="We use INT8.")
    assert evidence_of(once, "q", taxonomy).startswith("too little: abstract: 'INT8'")
    nothing = PaperIn(uid="x:3", title="Robots", abstract="Grasping.")
    assert evidence_of(nothing, "q", taxonomy) == "no term or category of the topic"
