"""What a digest shows of a paper and a reader's reasons: worked out once per paper and reasons (or
per keyword part and topic part), equal to the same worked out whole, and read afresh for other names."""

from __future__ import annotations

from service.digests.shown_reasons import paper_entry, paper_facts, shown_for, shown_in_parts, shown_reasons
from service.matching.explain import reason_lines
from service.matching.records import Liked, Reasons, TermHit, TopicReason
from tests.service.digests.test_compose import KV, NAMES, TITLE, TOPIC, a_paper


def test_equal_reasons_give_equal_highlights_and_lines_and_different_ones_their_own() -> None:
    entry = paper_entry(a_paper(), NAMES)
    first = shown_for(entry, KV)
    assert shown_for(paper_entry(a_paper(), NAMES), KV) == first  # another Paper object: worked out again, equal
    assert shown_for(entry, Reasons(terms=KV.terms)) is first  # equal reasons: the kept one
    assert first.title_spans == ((0, 8),) and first.abstract_spans == ((14, 22),)
    assert first.terms == ("KV cache",) and first.why == ("'KV cache' in the title and abstract",)
    by_topic = shown_for(entry, TOPIC)
    assert by_topic.title_spans == ((9, 17),)  # "eviction", the topic's evidence
    assert by_topic.topics == ("Efficient inference",) and by_topic.why == ("Efficient inference: 'eviction'",)


def test_another_topic_names_mapping_is_read_afresh() -> None:
    paper = a_paper()
    assert shown_for(paper_entry(paper, NAMES), TOPIC).topics == ("Efficient inference",)
    renamed = {"efficient-inference": "Fast inference"}
    again = shown_for(paper_entry(paper, renamed), TOPIC)
    assert again.topics == ("Fast inference",) and again.why == ("Fast inference: 'eviction'",)
    assert paper_facts(paper, renamed).title == TITLE
    assert paper_entry(paper, dict(renamed)) is paper_entry(paper, renamed)  # an equal mapping: the same entry


def test_shown_reasons_from_parts_kept_per_paper_equal_them_worked_out_whole() -> None:
    paper = a_paper(9)
    entry, facts = paper_entry(paper, NAMES), paper_facts(paper, NAMES)
    hits = [(), KV.terms, KV.terms[:1], (TermHit("long contexts", "title", ((22, 35),)),),
            (*KV.terms, TermHit("evicting", "abstract", ((48, 56),)))]
    topics = [((), ()), (TOPIC.topics, TOPIC.evidence), (("efficient-inference", "llm"), TOPIC.evidence),
              (("llm",), (TopicReason("llm", (), "cs.CL"),))]
    others = [{}, {"authors": ("Ada Lovelace",)}, {"trending": True},
              {"like": Liked(3, "FlashAttention", "liked")}, {"like": Liked(4, "Paged KV", "seed"), "trending": True}]
    for _ in range(2):  # the second time from the parts kept
        for terms in hits:
            for slugs, evidence in topics:
                for other in others:
                    reasons = Reasons(terms=terms, topics=slugs, evidence=evidence, **other)  # type: ignore[arg-type]
                    whole = shown_reasons(facts, reasons, NAMES)
                    assert shown_in_parts(entry, reasons) == whole and shown_for(entry, reasons) == whole
                    assert list(whole.why) == reason_lines(reasons, NAMES)
