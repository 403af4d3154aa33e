"""From matches and paper rows to the digest: what readers share is worked out once per paper and
reasons, and each reader still gets their own reasons, highlights and vote links."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from service.digests.compose import digest_context, digest_paper, paper_facts
from service.matching.records import Match, Reasons, TermHit, TopicReason
from service.rendering import Sender
from service.storage.models import Paper, Subscriber
from service.subscribers.tokens import read_vote_token
from tests.conftest import make_settings

TITLE = "KV cache eviction for long contexts"
ABSTRACT = "We shrink the KV cache of long-context decoding by evicting cached keys and values."
NAMES = {"efficient-inference": "Efficient inference", "llm": "LLMs"}
KV = Reasons(terms=(TermHit("KV cache", "title", ((0, 8),)), TermHit("KV cache", "abstract", ((14, 22),))))
TOPIC = Reasons(topics=("efficient-inference",),
                evidence=(TopicReason("efficient-inference", ("eviction",)),))  # fmt: skip


def a_paper(paper_id: int = 7) -> Paper:
    return Paper(id=paper_id, uid=f"hf:{paper_id}", arxiv_id=f"2611.{paper_id:05d}", title=TITLE, abstract=ABSTRACT,
                 authors=["Ada Lovelace", "Alan Turing"], hf_url=f"https://huggingface.co/papers/2611.{paper_id:05d}",
                 upvotes=12, organization="Example Lab", topics=[])  # fmt: skip


def test_equal_reasons_give_equal_highlights_and_lines_and_different_ones_their_own() -> None:
    paper = a_paper()
    first, again = (digest_paper(paper, Match(7, 1.0, KV), NAMES) for _ in range(2))
    by_topic = digest_paper(paper, Match(7, 1.0, TOPIC), NAMES)
    assert first == again and first.title_spans == ((0, 8),) and first.abstract_spans == ((14, 22),)
    assert first.matched_terms == ("KV cache",) and first.why == ("'KV cache' in the title and abstract",)
    assert by_topic.title_spans == ((9, 17),)  # "eviction", the topic's evidence
    assert by_topic.matched_topics == ("Efficient inference",) and by_topic.why == ("Efficient inference: 'eviction'",)


def test_another_topic_names_mapping_is_read_afresh() -> None:
    paper = a_paper()
    assert digest_paper(paper, Match(7, 1.0, TOPIC), NAMES).matched_topics == ("Efficient inference",)
    renamed = {"efficient-inference": "Fast inference"}
    again = digest_paper(paper, Match(7, 1.0, TOPIC), renamed)
    assert again.matched_topics == ("Fast inference",) and again.why == ("Fast inference: 'eviction'",)
    assert paper_facts(paper, renamed).title == TITLE


def test_each_reader_gets_their_own_signed_vote_links(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, base_url="https://papermail.test")
    papers = {7: a_paper(7), 8: a_paper(8)}
    sender = Sender("papermail", "1 Example Street")
    contexts = [
        digest_context(settings, Subscriber(id=sid, email=f"r{sid}@example.org", token_version=1),
                       [Match(7, 2.0, KV), Match(8, 1.0, TOPIC)], papers, NAMES, date(2026, 11, 27), sender, sid)
        for sid in (1, 2)
    ]  # fmt: skip
    for sid, ctx in zip((1, 2), contexts, strict=True):
        more = ctx.papers[0].more_url
        assert more is not None and more.startswith("https://papermail.test/vote/")
        vote = read_vote_token(settings, more.rsplit("/", 1)[1])
        assert (vote.subscriber_id, vote.paper_id, vote.value) == (sid, 7, 1)
    assert contexts[0].papers[0].title_spans == contexts[1].papers[0].title_spans
    title_url = contexts[0].papers[0].url
    assert title_url is not None and title_url.startswith("https://papermail.test/") and "2611.00007" in title_url
